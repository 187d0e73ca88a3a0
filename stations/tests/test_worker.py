"""The worker path, through a real Celery worker process on Redis and the test database."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from stations.models import WorkerHeartbeat
from stations.tasks import heartbeat_all_stations

pytestmark = pytest.mark.django_db


def test_the_heartbeat_job_runs_in_public_and_in_every_station_schema(celery_worker, debra, pingla):
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
    assert celery_worker.poll() is None
