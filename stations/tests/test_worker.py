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


def test_the_heartbeat_job_records_the_worker_without_entering_a_station(
    celery_worker, debra, pingla
):
    # Each station's heartbeat comes from the tasks that run there (escorts/tests/test_due_times):
    # a state of 500 stations would pay 500 tasks a minute for this one.
    started = timezone.now()
    heartbeat_all_stations.delay()

    def recorded() -> set[str]:
        return set(
            WorkerHeartbeat.objects.filter(seen_at__gte=started).values_list(
                "schema_name", flat=True
            )
        )

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "public" not in recorded():
        time.sleep(0.2)
    assert recorded() == {"public"}
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
