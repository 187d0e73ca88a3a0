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
