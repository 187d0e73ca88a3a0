"""Periodic jobs of the lender side."""

from __future__ import annotations

from celery import shared_task

from stations.tasks import queue_in_every_station


@shared_task
def roster_reminders_station() -> int:
    from . import services

    return services.roster_reminders_send()


@shared_task
def roster_reminders_all_stations() -> int:
    """Beat entry: each station decides whether its reminder time has come."""
    return queue_in_every_station(roster_reminders_station)


@shared_task
def retention_station() -> None:
    from . import retention

    retention.retention_apply()


@shared_task
def retention_all_stations() -> int:
    """Nightly beat entry: each station clears what is past its retention period."""
    return queue_in_every_station(retention_station)
