"""The worker path, through a real Celery worker process on Redis and the test database."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from escort_portal.celery import app
from stations.models import WorkerHeartbeat
from stations.tasks import heartbeat_all_stations

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker():
    """A Celery worker on the test queue, reading and writing the test database."""
    app.connection_for_write().default_channel.client.delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "escort_portal.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "escort_portal",
            "worker",
            "--pool=solo",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=WARNING",
        ],
        env=env,
        cwd=settings.BASE_DIR,
    )
    yield process
    process.terminate()
    process.wait(timeout=30)


def test_the_heartbeat_job_runs_in_public_and_in_every_station_schema(worker, debra, pingla):
    started = timezone.now()
    heartbeat_all_stations.delay()
    expected = {"public", "debra", "pingla", "tamluk"}
    deadline = time.monotonic() + 60
    seen: set[str] = set()
    while time.monotonic() < deadline and not expected <= seen:
        seen = set(
            WorkerHeartbeat.objects.filter(seen_at__gte=started).values_list(
                "schema_name", flat=True
            )
        )
        time.sleep(0.2)
    assert expected <= seen
    assert "station_template" not in seen
    assert worker.poll() is None
