"""Periodic jobs of the stations app."""

from __future__ import annotations

from celery import Task, shared_task
from django_tenants.utils import tenant_context

from . import due, services, stats
from .selectors import station_list_live


def queue_in_every_station(task: Task, *args: object) -> int:
    """Queue `task` once inside each live station's schema; return how many were queued."""
    count = 0
    for station in station_list_live():
        with tenant_context(station):
            task.delay(*args)
        count += 1
    return count


def queue_in_due_stations(task: Task, *, job: str) -> int:
    """Queue `task` once inside each live station with something due for `job` (one read of
    a public table; see `stations.due`); return how many were queued."""
    count = 0
    for station in due.stations_due(job=job):
        with tenant_context(station):
            task.delay()
        count += 1
    return count


@shared_task(name="stations.heartbeat_all_stations")
def heartbeat_all_stations() -> None:
    """Beat entry: prove a worker runs. It enters no station: each station's heartbeat is
    written by the tasks that run there (`escort_portal.celery.PortalTask`), which a state of
    500 stations would otherwise pay with 500 tasks a minute."""
    services.heartbeat_record()


@shared_task(name="stations.dashboard_recount")
def dashboard_recount() -> int:
    """Beat entry, every minute: recount the station days changed since the last run."""
    return stats.recount_waiting()
