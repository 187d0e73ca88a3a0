"""Jobs of the escorts app: thin wrappers around services."""

from __future__ import annotations

import datetime

from celery import shared_task
from django.db import OperationalError

from stations.tasks import queue_in_due_stations

from . import services


@shared_task(name="escorts.station_tick", bind=True, acks_late=True, max_retries=3)
def station_tick(self, at: str | None = None) -> None:
    """In one station: build today's draft once cut-off has passed; escalate amber and red
    runs. `at` (ISO 8601) runs it as of that moment, as a replay or a test with a frozen clock
    does; beat sends none."""
    try:
        services.station_tick(now=datetime.datetime.fromisoformat(at) if at else None)
    except OperationalError as exc:
        raise self.retry(exc=exc, countdown=min(300, 15 * 2**self.request.retries)) from exc


@shared_task(name="escorts.tick_all_stations")
def tick_all_stations() -> int:
    """Beat entry, every minute: queue the tick in the stations with something due."""
    return queue_in_due_stations(station_tick, job=services.TICK_JOB)


@shared_task(name="escorts.duty_sheet_build", bind=True, acks_late=True, max_retries=3)
def duty_sheet_build(self, sheet_pk: int) -> None:
    """Plan and store a version claimed by a rebuild; harmless when run twice."""
    try:
        services.duty_sheet_build_run(sheet_pk=sheet_pk)
    except OperationalError as exc:
        raise self.retry(exc=exc, countdown=min(300, 15 * 2**self.request.retries)) from exc
