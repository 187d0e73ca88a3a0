"""Delivery jobs. Thin: ids in, one service call, retry only transient errors."""

from __future__ import annotations

from celery import Task, shared_task
from django.utils import timezone

from stations.models import Subdivision
from stations.tasks import queue_in_due_stations

from . import services
from .backends import TransientDeliveryError


@shared_task(name="notifications.message_deliver", bind=True, acks_late=True, max_retries=20)
def message_deliver(self: Task, message_pk: int) -> None:
    """Send one message of the task's station. A duplicate or late copy finds it claimed and
    does nothing; the service decides when a message has had enough attempts."""
    try:
        services.message_deliver(message_pk=message_pk)
    except TransientDeliveryError as exc:
        raise self.retry(exc=exc, countdown=exc.retry_after) from exc


@shared_task(name="notifications.message_sweep_station", acks_late=True)
def message_sweep_station() -> int:
    return services.message_sweep()


@shared_task(name="notifications.message_sweep_all_stations")
def message_sweep_all_stations() -> int:
    """Beat entry: sweep the outbox of each station with a message waiting past its time."""
    return queue_in_due_stations(message_sweep_station, job=services.SWEEP_JOB)


@shared_task(name="notifications.sdpo_summaries_send")
def sdpo_summaries_send() -> int:
    """Evening beat entry: each subdivision's SDPO gets the day's figures."""
    today = timezone.localdate()
    return sum(
        services.sdpo_summary_send(subdivision=subdivision, date=today)
        for subdivision in Subdivision.objects.all()
    )
