"""Periodic jobs of the lender side."""

from __future__ import annotations

import logging

from celery import shared_task

from stations.db import connection
from stations.tasks import queue_in_every_station

logger = logging.getLogger(__name__)


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
    """Safe to retry or to run twice: a second run finds nothing left to clear."""
    from . import retention

    report = retention.retention_apply()
    logger.info("Retention in %s: %s", connection.schema_name, report)


@shared_task
def retention_all_stations() -> int:
    """Nightly beat entry: each station clears what is past its retention period."""
    return queue_in_every_station(retention_station)
