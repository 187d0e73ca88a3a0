"""Every change to the outbox: queueing, delivering, sweeping, retrying, reading, preferences.

The guarantees, and where each comes from:

- a message is written in the transaction of its event (`message_queue` runs in the caller's
  transaction) and only queued for delivery once that commits;
- repeating an event adds nothing: (event, recipient, channel) is unique;
- a message is sent at most once by the portal: `message_deliver` claims the row with one
  conditional UPDATE from PENDING to SENDING, and only the caller whose UPDATE matched sends;
- a broker or worker outage delays messages but loses none: the sweeper queues pending rows
  again and returns rows stuck in SENDING (a worker that died mid-send) to PENDING.

The one window left is a worker dying after the gateway accepted a message and before the row
says SENT; the sweeper then sends it again after `NOTIFICATIONS_SENDING_TIMEOUT_SECONDS`. The SMS
request carries a reference a gateway can deduplicate on.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Collection, Iterable
from typing import cast

from django.conf import settings
from django.db import transaction
from django.db.models import F, Min, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_noop
from django_tenants.utils import get_public_schema_name, tenant_context

from stations import due
from stations.db import connection
from stations.models import Station, StationDay, Subdivision, SubdivisionRole, User

from . import catalogue
from .backends import PermanentDeliveryError, TransientDeliveryError, backend_for
from .dispatch import deliveries_queue
from .models import Channel, ChannelPreference, Message
from .selectors import channels_available, channels_for

logger = logging.getLogger(__name__)

# Stored in `last_error` untranslated and shown through {% translate %}.
ERROR_NO_ADDRESS = gettext_noop("The recipient has no address for this channel any more.")
ERROR_CHANNEL_OFF = gettext_noop("This channel is not set up on the portal any more.")
ERROR_INTERRUPTED = gettext_noop("Sending was interrupted; the message was queued again.")
ERROR_UNEXPECTED = gettext_noop("Unexpected error while sending; see the worker's log.")


# --- Queueing ---


@transaction.atomic
def message_queue(
    *,
    event: str,
    kind: str,
    recipients: Iterable[User],
    context: dict,
    urgent: bool = False,
    channels: Collection[str] | None = None,
) -> list[Message]:
    """Write one message per recipient and channel for `event` and queue their delivery.

    Call it inside the transaction that makes the event, connected to the station's schema:
    the messages commit or roll back with the event, and delivery starts only after commit.
    `event` names the event uniquely ("branch-approved:42"); calling again with the same event
    adds nothing for recipients and channels that already have it. `context` holds the kind's
    variables as JSON values (see `catalogue.KINDS`) and an optional portal `path`; no money.
    `urgent` (SOS) uses every channel the recipient can receive, whatever their preferences.
    `channels`, when given, keeps only those (a ladder's rung "the leader by SMS or WhatsApp").

    Returns the messages this call added.
    """
    if connection.schema_name == get_public_schema_name():
        raise ValueError("message_queue needs a station's schema.")
    if not event or len(event) > cast(int, Message._meta.get_field("event").max_length):
        raise ValueError("An event key of 1 to 200 characters is needed.")
    catalogue.context_check(kind, context)

    people = {user.pk: user for user in recipients if user.is_active}
    if not people:
        return []
    preferences = {
        preference.user_id: preference
        for preference in ChannelPreference.objects.filter(user_id__in=people)
    }
    available = channels_available()
    already = set(
        Message.objects.filter(event=event, recipient_id__in=people).values_list(
            "recipient_id", "channel"
        )
    )
    now = timezone.now()
    rows = []
    for user in people.values():
        for channel in channels_for(
            user=user, preference=preferences.get(user.pk), available=available, urgent=urgent
        ):
            if (user.pk, channel) in already or (channels is not None and channel not in channels):
                continue
            in_app = channel == Channel.IN_APP
            rows.append(
                Message(
                    recipient=user,
                    channel=channel,
                    kind=kind,
                    language=user.language or settings.LANGUAGE_CODE,
                    context=context,
                    event=event,
                    urgent=urgent,
                    # The inbox row is its own delivery.
                    status=Message.Status.SENT if in_app else Message.Status.PENDING,
                    sent_at=now if in_app else None,
                    next_attempt_at=None if in_app else now,
                )
            )
    # A concurrent transaction repeating the same event waits on the unique index and skips.
    Message.objects.bulk_create(rows, ignore_conflicts=True)
    added = [
        message
        for message in Message.objects.filter(event=event, recipient_id__in=people).order_by("pk")
        if (message.recipient_id, message.channel) not in already
    ]
    to_send = [message.pk for message in added if message.status == Message.Status.PENDING]
    if to_send:
        _queue_on_commit(to_send)
    return added


# --- Delivery ---


def retry_delay(attempts: int) -> float:
    """Seconds before attempt `attempts + 1`: exponential, capped."""
    base = settings.NOTIFICATIONS_RETRY_BASE_SECONDS
    return float(min(settings.NOTIFICATIONS_RETRY_MAX_SECONDS, base * 2 ** max(0, attempts - 1)))


def message_claim(*, message_pk: int) -> bool:
    """Take the message for sending. True for exactly one caller per pending spell.

    One UPDATE with the status in its WHERE clause: PostgreSQL lets only one of two concurrent
    updates match, so two workers (or a task and its duplicate) never both send.
    """
    now = timezone.now()
    claimed = bool(
        Message.objects.filter(pk=message_pk, status=Message.Status.PENDING).update(
            status=Message.Status.SENDING,
            attempts=F("attempts") + 1,
            claimed_at=now,
            updated_at=now,
        )
    )
    if claimed:
        # Should this worker die while sending, the sweep is due when the claim times out.
        due.due_by(SWEEP_JOB, at=now + _sending_timeout())
    return claimed


def _finish(message: Message, **fields: object) -> None:
    fields["updated_at"] = timezone.now()
    Message.objects.filter(pk=message.pk).update(**fields)
    for name, value in fields.items():
        setattr(message, name, value)


def message_deliver(*, message_pk: int) -> Message | None:
    """Send one message over its channel, once. Returns it, or None if another caller has it.

    Not atomic on purpose: the claim commits before the gateway is called, so a second worker
    sees SENDING at once, and a slow gateway holds no database lock.

    Raises `TransientDeliveryError` (with `retry_after`) when the attempt failed and another is
    scheduled; the row is PENDING again with `next_attempt_at` set. After
    `NOTIFICATIONS_MAX_ATTEMPTS`, or on a permanent error, the row is FAILED with the error.
    """
    if not message_claim(message_pk=message_pk):
        return None
    message = Message.objects.select_related("recipient").get(pk=message_pk)
    try:
        provider_id = _send(message)
    except PermanentDeliveryError as exc:
        logger.warning("Message %s failed for good: %s", message.pk, exc)
        _finish(message, status=Message.Status.FAILED, last_error=str(exc))
        return message
    except TransientDeliveryError as exc:
        if message.attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS:
            logger.warning("Message %s failed after %d attempts", message.pk, message.attempts)
            _finish(message, status=Message.Status.FAILED, last_error=str(exc))
            return message
        delay = retry_delay(message.attempts)
        next_attempt_at = timezone.now() + datetime.timedelta(seconds=delay)
        _finish(
            message,
            status=Message.Status.PENDING,
            next_attempt_at=next_attempt_at,
            last_error=str(exc),
        )
        # Celery's retry sends it again; the sweep, should that retry be lost.
        due.due_by(SWEEP_JOB, at=next_attempt_at + _sweep_grace())
        raise TransientDeliveryError(str(exc), retry_after=delay) from exc
    _finish(
        message,
        status=Message.Status.SENT,
        sent_at=timezone.now(),
        provider_id=provider_id[:200],
        last_error="",
    )
    return message


def _send(message: Message) -> str:
    if message.channel not in settings.NOTIFICATIONS_BACKENDS:
        raise PermanentDeliveryError(ERROR_CHANNEL_OFF)
    backend = backend_for(message.channel)
    if not backend.is_available():
        raise PermanentDeliveryError(ERROR_CHANNEL_OFF)
    address = backend.address(message.recipient)
    if not address or not message.recipient.is_active:
        raise PermanentDeliveryError(ERROR_NO_ADDRESS)
    rendered = catalogue.render(message.kind, message.language, message.context)
    try:
        return backend.send(message=message, rendered=rendered, address=address)
    except (PermanentDeliveryError, TransientDeliveryError):
        raise
    except Exception as exc:
        # A bug in a backend must not leave the row in SENDING; retry, then fail visibly.
        logger.exception("Backend error on message %s", message.pk)
        raise TransientDeliveryError(ERROR_UNEXPECTED) from exc


# The outbox sweep's job in `stations.due`: the minute beat entry enters only the stations whose
# outbox has a row waiting past its time (a lost task, a retry, a dead worker's claim).
SWEEP_JOB = "notifications.message_sweep"


def _sweep_grace() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.NOTIFICATIONS_SWEEP_GRACE_SECONDS)


def _sending_timeout() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.NOTIFICATIONS_SENDING_TIMEOUT_SECONDS)


def message_sweep(*, now: datetime.datetime | None = None) -> int:
    """Queue every message of this station that is due and not being sent; return how many.

    Rows in SENDING for longer than `NOTIFICATIONS_SENDING_TIMEOUT_SECONDS` belong to a worker
    that died; they go back to PENDING first. Rows are due once `next_attempt_at` is
    `NOTIFICATIONS_SWEEP_GRACE_SECONDS` old, which leaves fresh ones to their on-commit task.
    Queueing a row twice is harmless: only one task can claim it.
    """
    now = now or timezone.now()
    timeout = _sending_timeout()
    stuck = Message.objects.filter(
        status=Message.Status.SENDING, claimed_at__lt=now - timeout
    ).update(
        status=Message.Status.PENDING,
        # Long overdue (the timeout exceeds the grace), so this very sweep queues them.
        next_attempt_at=F("claimed_at"),
        last_error=ERROR_INTERRUPTED,
        updated_at=now,
    )
    if stuck:
        logger.warning("%d messages stuck in sending were queued again", stuck)
    grace = _sweep_grace()
    queued = list(
        Message.objects.filter(status=Message.Status.PENDING, next_attempt_at__lte=now - grace)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[: settings.NOTIFICATIONS_SWEEP_BATCH]
    )
    deliveries_queue(queued, schema_name=connection.schema_name)
    full = len(queued) == settings.NOTIFICATIONS_SWEEP_BATCH
    due.due_set(job=SWEEP_JOB, at=_sweep_next(now, full=full), started=now)
    return len(queued)


def _sweep_next(now: datetime.datetime, *, full: bool) -> datetime.datetime:
    """When this station's outbox next needs the sweep: its first pending row's time after
    the grace, or its oldest claim's timeout; at once after a full batch."""
    if full:
        return now
    times = Message.objects.aggregate(
        pending=Min("next_attempt_at", filter=Q(status=Message.Status.PENDING)),
        claimed=Min("claimed_at", filter=Q(status=Message.Status.SENDING)),
    )
    later = [now + datetime.timedelta(days=365)]
    if times["pending"] is not None:
        later.append(times["pending"] + _sweep_grace())
    if times["claimed"] is not None:
        later.append(times["claimed"] + _sending_timeout())
    return max(now, min(later))


# What a provider may report about a message after accepting it.
DELIVERED, READ, FAILED = "delivered", "read", "failed"


def message_status_update(
    *, message_pk: int, provider_id: str, status: str, at: datetime.datetime, error: str = ""
) -> bool:
    """Record the provider's later word on a message it accepted (a WhatsApp status
    callback): on the phone, read, or failed after all. Returns whether anything changed.

    Only the row the provider gave that reference to is touched, and each fact only moves
    forward: callbacks arrive out of order and more than once, so a "delivered" after "read"
    or a repeat changes nothing. A failure counts only for a row still marked sent; a row an
    officer already queued again keeps its new attempt.
    """
    rows = Message.objects.filter(pk=message_pk, provider_id=provider_id).exclude(provider_id="")
    if status == DELIVERED:
        changed = rows.filter(delivered_at__isnull=True).update(delivered_at=at, updated_at=at)
    elif status == READ:
        changed = rows.filter(seen_at__isnull=True).update(
            seen_at=at, delivered_at=Coalesce("delivered_at", Value(at)), updated_at=at
        )
    elif status == FAILED:
        changed = rows.filter(status=Message.Status.SENT).update(
            status=Message.Status.FAILED, last_error=error[:2000], updated_at=at
        )
        if changed:
            logger.warning("Message %s failed after it was sent: %s", message_pk, error)
    else:
        changed = 0
    return bool(changed)


@transaction.atomic
def message_retry(*, message: Message, by: User) -> Message:
    """An officer sends a failed (or waiting) message again, with a full set of attempts."""
    if message.channel == Channel.IN_APP or message.status not in (
        Message.Status.FAILED,
        Message.Status.PENDING,
    ):
        return message
    now = timezone.now()
    updated = Message.objects.filter(
        pk=message.pk, status__in=[Message.Status.FAILED, Message.Status.PENDING]
    ).update(status=Message.Status.PENDING, attempts=0, next_attempt_at=now, updated_at=now)
    if updated:
        logger.info("Message %s queued again by user %s", message.pk, by.pk)
        _queue_on_commit([message.pk])
    message.refresh_from_db()
    return message


@transaction.atomic
def message_retry_failed(*, by: User) -> int:
    """Send every failed message of this station again; return how many."""
    now = timezone.now()
    pks = list(
        Message.objects.select_for_update(skip_locked=True)
        .filter(status=Message.Status.FAILED)
        .exclude(channel=Channel.IN_APP)
        .values_list("pk", flat=True)
    )
    Message.objects.filter(pk__in=pks, status=Message.Status.FAILED).update(
        status=Message.Status.PENDING, attempts=0, next_attempt_at=now, updated_at=now
    )
    if pks:
        logger.info("%d failed messages queued again by user %s", len(pks), by.pk)
        _queue_on_commit(pks)
    return len(pks)


def _queue_on_commit(pks: list[int]) -> None:
    schema_name = connection.schema_name
    # First: should the broker be down, the task below is lost and the sweep sends them.
    due.due_by(SWEEP_JOB, at=timezone.now() + _sweep_grace())
    transaction.on_commit(lambda: deliveries_queue(pks, schema_name=schema_name), robust=True)


# --- The inbox ---


def message_mark_read(*, user: User, message: Message) -> Message:
    if message.recipient_id == user.pk and message.read_at is None:
        message.read_at = timezone.now()
        Message.objects.filter(pk=message.pk, read_at__isnull=True).update(read_at=message.read_at)
    return message


def message_mark_all_read(*, user: User) -> int:
    return Message.objects.filter(
        recipient=user, channel=Channel.IN_APP, read_at__isnull=True
    ).update(read_at=timezone.now())


# --- Preferences ---


@transaction.atomic
def preference_set(*, user: User, email: bool, sms: bool, whatsapp: bool) -> ChannelPreference:
    preference, _ = ChannelPreference.objects.update_or_create(
        user=user, defaults={"email": email, "sms": sms, "whatsapp": whatsapp}
    )
    return preference


def message_purge(*, before: datetime.datetime, dry_run: bool = False) -> int:
    """Delete the station's messages made before `before` (retention). They are copies of what
    was said; no figure is counted from them. Returns how many."""
    old = Message.objects.filter(created_at__lt=before)
    if dry_run:
        return old.count()
    deleted, _ = old.delete()
    return deleted


def sdpo_summary_send(*, subdivision: Subdivision, date: datetime.date) -> int:
    """Queue the day's summary to the SDPO's office of `subdivision`, from the read model.

    Messages live in a station's schema, so the summary is filed in the subdivision's first
    station; the event key makes a second run of the day a no-op. Returns messages queued.
    """
    stations = Station.objects.live().filter(subdivision=subdivision).order_by("name")
    recipients = [role.user for role in SubdivisionRole.objects.filter(subdivision=subdivision)]
    first = stations.first()
    if first is None or not recipients:
        return 0
    days = StationDay.objects.filter(station__in=stations, date=date)
    totals = days.aggregate(
        rosters=Sum("rosters_filed"),
        runs=Sum("runs"),
        uncovered=Sum("entries_uncovered"),
        incidents=Sum("incidents"),
    )
    with tenant_context(first), transaction.atomic():
        messages = message_queue(
            event=f"sdpo-summary:{subdivision.pk}:{date.isoformat()}",
            kind="sdpo_daily_summary",
            recipients=recipients,
            context={
                "date": date.strftime("%d-%m-%Y"),
                "stations": str(stations.count()),
                **{name: str(value or 0) for name, value in totals.items()},
                "path": "/sdpo/",
            },
        )
    return len(messages)
