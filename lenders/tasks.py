"""Periodic jobs of the lender side."""

from __future__ import annotations

import logging

from celery import shared_task

from stations.db import connection
from stations.tasks import queue_in_due_stations, queue_in_every_station

from . import retention, services

logger = logging.getLogger(__name__)


@shared_task(name="lenders.roster_reminders_station")
def roster_reminders_station() -> int:
    return services.roster_reminders_run()


@shared_task(name="lenders.roster_reminders_all_stations")
def roster_reminders_all_stations() -> int:
    """Beat entry, every minute: queue the reminders in the stations whose window has come."""
    return queue_in_due_stations(roster_reminders_station, job=services.REMINDERS_JOB)


@shared_task(name="lenders.retention_station")
def retention_station() -> None:
    """Safe to retry or to run twice: a second run finds nothing left to clear."""
    report = retention.retention_apply()
    logger.info("Retention in %s: %s", connection.schema_name, report)


@shared_task(name="lenders.retention_all_stations")
def retention_all_stations() -> int:
    """Nightly beat entry: each station clears what is past its retention period; the
    portal forgets old one-time form tokens and kept API answers."""
    from stations.replay import replays_forget

    replays_forget()
    return queue_in_every_station(retention_station)
