"""The worker path, through a real Celery worker process on Redis and the test database."""

from __future__ import annotations

import datetime
import time

import pytest
from django.utils import timezone

from escorts.tests.conftest import in_other_connection
from stations.models import StationDay, StationDayRecount, WorkerHeartbeat
from stations.tasks import dashboard_recount, heartbeat_all_stations

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


def test_the_dashboard_recount_job_counts_a_marked_day_in_the_worker(celery_worker, debra):
    # A day long past that no other test writes, committed so the worker sees it.
    day = datetime.date(2020, 3, 2)

    def mark() -> None:
        StationDay.objects.update_or_create(station=debra, date=day, defaults={"entries": 99})
        StationDayRecount.objects.get_or_create(station=debra, date=day)

    def clean() -> None:
        StationDayRecount.objects.filter(station=debra, date=day).delete()
        StationDay.objects.filter(station=debra, date=day).delete()

    in_other_connection(debra, mark)
    try:
        dashboard_recount.delay()
        deadline = time.monotonic() + 60
        # The mark goes before the count is written: wait for the count.
        while (
            time.monotonic() < deadline
            and StationDay.objects.get(station=debra, date=day).entries != 0
        ):
            time.sleep(0.2)
        assert StationDay.objects.get(station=debra, date=day).entries == 0
        assert not StationDayRecount.objects.filter(date=day).exists()
    finally:
        in_other_connection(debra, clean)
