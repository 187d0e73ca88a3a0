"""The conversations' jobs. Thin: plain values in, one call, retry only what may work later.

The webhooks answer 200 at once and queue one job per message and per status report here
(`webhook_queue`); a job that arrives twice finds its message claimed and does nothing.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Sequence

from celery import Task, current_app, shared_task
from django.conf import settings
from django.utils.dateparse import parse_datetime

from notifications.backends import TransientDeliveryError

from . import conversation, services
from .models import InboundMessage
from .payloads import Incoming, StatusReport

logger = logging.getLogger(__name__)

# A broker that does not answer should cost the webhook a fraction of a second: the provider
# is told to try again (503) and delivers the same messages later.
_PUBLISH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}


def _retry_delay(retries: int) -> float:
    base = settings.NOTIFICATIONS_RETRY_BASE_SECONDS
    return float(min(settings.NOTIFICATIONS_RETRY_MAX_SECONDS, base * 2**retries))


@shared_task(name="chat.inbound_handle", bind=True, acks_late=True, max_retries=8)
def inbound_handle(self: Task, message: dict, received_at: str) -> None:
    """Answer one received message. Its reply, if the provider did not take it at once, is
    sent again by `reply_send`."""
    incoming = Incoming.from_data(message)
    received = parse_datetime(received_at) or datetime.datetime.now(tz=datetime.UTC)
    try:
        if conversation.inbound_process(message=incoming, received_at=received) is None:
            # Answered already; if its worker died before the reply went, send it now.
            services.reply_send_waiting(channel=incoming.channel, provider_id=incoming.provider_id)
    except TransientDeliveryError:
        inbound = InboundMessage.objects.filter(
            channel=incoming.channel, provider_id=incoming.provider_id
        ).first()
        if inbound is not None:
            reply_send.apply_async((inbound.pk,), countdown=_retry_delay(0))


@shared_task(name="chat.reply_send", bind=True, acks_late=True, max_retries=6)
def reply_send(self: Task, inbound_pk: int) -> None:
    try:
        services.reply_send(inbound_pk=inbound_pk)
    except TransientDeliveryError as exc:
        raise self.retry(exc=exc, countdown=_retry_delay(self.request.retries + 1)) from exc


@shared_task(name="chat.status_apply", acks_late=True)
def status_apply(report: dict) -> bool:
    return services.status_apply(report=StatusReport.from_data(report))


@shared_task(name="chat.inbound_purge")
def inbound_purge() -> int:
    """Nightly beat entry: received messages past CHAT_KEEP_DAYS go."""
    return services.inbound_purge()


def webhook_queue(
    messages: Sequence[Incoming], statuses: Sequence[StatusReport], *, received_at: str
) -> bool:
    """Queue a job per message and status report; False when the broker did not take them
    all (the webhook then answers 503 and the provider delivers them again: the ones already
    queued are recognised as duplicates)."""
    try:
        with current_app.connection_for_write() as broker:
            for message in messages:
                inbound_handle.apply_async(  # type: ignore[call-arg]
                    (message.as_data(), received_at),
                    connection=broker,
                    retry=True,
                    retry_policy=_PUBLISH_RETRY,
                )
            for report in statuses:
                status_apply.apply_async(  # type: ignore[call-arg]
                    (report.as_data(),),
                    connection=broker,
                    retry=True,
                    retry_policy=_PUBLISH_RETRY,
                )
    except Exception as exc:  # noqa: BLE001 - any broker failure: the provider sends again
        logger.warning("Broker unavailable (%s): webhook answered 503 for a redelivery", exc)
        return False
    return True
