"""Every change the conversations make of their own: linking a phone, consent, the record of
each message received and of its reply, and what the providers say about delivery.

What a message does in a station (acknowledge a run, copy a roster, raise an SOS) is done by
that app's own services, called from `chat.conversation`.

Guarantees, and where each comes from:

- a message is processed once: (channel, provider id) is unique, and processing claims the row
  with one conditional UPDATE (`inbound_receive`) in the transaction that does what the
  message asks, so a copy delivered again, or a job run twice, finds it claimed, and a worker
  that dies half-way leaves nothing done;
- one number's messages are handled one after the other (`phone_lock`);
- a reply is sent at most once: `reply_send` claims it the same way, after that transaction;
- free-form WhatsApp replies only inside the 24 hours after the person's own message.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import secrets

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop
from django_tenants.utils import tenant_context

from notifications import services as notification_services
from notifications.backends import PermanentDeliveryError, TransientDeliveryError
from notifications.backends.http import post_json
from stations.models import ChatContact, Station, User

from . import selectors
from .models import InboundChannel, InboundMessage, LinkCode
from .payloads import Incoming, StatusReport

logger = logging.getLogger(__name__)

CODE_DIGITS = 8

# Stored untranslated in `reply_error` and shown through {% translate %}.
ERROR_WINDOW_CLOSED = gettext_noop(
    "Not sent: more than 24 hours after the person's message, WhatsApp allows only templates."
)
ERROR_NO_SMS_TEMPLATE = gettext_noop("Not sent: no DLT template id for this reply.")
ERROR_CHANNEL_OFF = gettext_noop("Not sent: this channel is not set up on the portal.")


# --- Linking a phone ---


def code_hash(code: str) -> str:
    """A keyed hash of the code: the database never holds a code someone could send."""
    key = hashlib.sha256(f"chat.link-code:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


@transaction.atomic
def link_code_issue(*, user: User) -> str:
    """A new code for `user` to send from their phone, good for CHAT_LINK_CODE_MINUTES; it
    replaces any earlier code. Returns the code: it is shown once and never stored."""
    expires_at = timezone.now() + datetime.timedelta(minutes=settings.CHAT_LINK_CODE_MINUTES)
    LinkCode.objects.filter(user=user).delete()
    while True:
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
        try:
            with transaction.atomic():
                LinkCode.objects.create(user=user, code_hash=code_hash(code), expires_at=expires_at)
        except IntegrityError:
            continue  # another person's code right now: draw again
        return code


@transaction.atomic
def link_code_use(*, code: str, phone: str, channel: str) -> User | None:
    """A phone sent a code: link that number to the code's owner, or None when the code is
    unknown or expired (it is then used up all the same only if it matched).

    Sent over WhatsApp, the message (whose prefilled text names the portal and says the person
    agrees) is also their opt-in to WhatsApp messages; sent by SMS it proves the number for
    SMS and keeps whatever WhatsApp consent the same number already had. A number belongs to
    one person: linking it to someone else unlinks it from its previous owner.
    """
    found = (
        LinkCode.objects.select_for_update()
        .select_related("user")
        .filter(code_hash=code_hash(code))
        .first()
    )
    if found is None:
        return None
    found.delete()
    user = found.user
    if found.expires_at <= timezone.now() or not user.is_active:
        return None
    now = timezone.now()
    ChatContact.objects.filter(phone=phone).exclude(user=user).delete()
    contact = ChatContact.objects.select_for_update().filter(user=user).first()
    same_number = contact is not None and contact.phone == phone
    if contact is None:
        contact = ChatContact(user=user)
    whatsapp = channel == InboundChannel.WHATSAPP
    consent = True if whatsapp else same_number and contact.whatsapp_consent
    if consent != contact.whatsapp_consent or not same_number:
        contact.whatsapp_consent_changed_at = now
    contact.phone = phone
    contact.verified_at = now
    contact.verified_over = channel
    contact.whatsapp_consent = consent
    contact.sms_stopped = False
    contact.full_clean()
    contact.save()
    return user


@transaction.atomic
def contact_unlink(*, user: User) -> None:
    """The person unlinks their phone on their profile page: its messages do nothing after."""
    ChatContact.objects.filter(user=user).delete()


@transaction.atomic
def contact_set_consent(*, contact: ChatContact, channel: str, on: bool) -> ChatContact:
    """ "STOP" (off) or "START" (on) for one channel of one person's number. WhatsApp: whether
    the portal may send them WhatsApp messages at all; SMS: whether it sends them SMS."""
    contact = ChatContact.objects.select_for_update().get(pk=contact.pk)
    now = timezone.now()
    if channel == InboundChannel.WHATSAPP and contact.whatsapp_consent != on:
        contact.whatsapp_consent = on
        contact.whatsapp_consent_changed_at = now
        contact.save(update_fields=["whatsapp_consent", "whatsapp_consent_changed_at"])
    elif channel == InboundChannel.SMS and contact.sms_stopped == on:
        contact.sms_stopped = not on
        contact.sms_stopped_changed_at = now
        contact.save(update_fields=["sms_stopped", "sms_stopped_changed_at"])
    return contact


# --- Received messages ---


def inbound_receive(*, incoming: Incoming, received_at: datetime.datetime) -> InboundMessage | None:
    """Record a message and claim it for processing; None when this copy is a duplicate.

    Call it inside the transaction that answers the message: the claim commits with what the
    message did, so a worker that dies half-way leaves nothing behind, and the job delivered
    again does it all once. The INSERT skips a row that exists (a copy delivered again; a copy
    arriving while the first is being answered waits for it), and one conditional UPDATE moves
    the row from received to processing, which only one caller can do.
    """
    InboundMessage.objects.bulk_create(
        [
            InboundMessage(
                channel=incoming.channel,
                provider_id=incoming.provider_id,
                phone=incoming.phone,
                kind=incoming.kind,
                content=incoming.content,
                sent_at=incoming.sent_at,
                received_at=received_at,
            )
        ],
        ignore_conflicts=True,
    )
    rows = InboundMessage.objects.filter(channel=incoming.channel, provider_id=incoming.provider_id)
    if not rows.filter(status=InboundMessage.Status.RECEIVED).update(
        status=InboundMessage.Status.PROCESSING
    ):
        return None
    return rows.get()


def phone_lock(phone: str) -> None:
    """One number's messages one at a time, across workers, until the caller's transaction
    ends (a PostgreSQL advisory lock): "SOS" and the location sent right after it, or two quick
    taps, never race."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"chat:{phone}"])


def inbound_finish(
    *, inbound: InboundMessage, user: User | None, outcome: str, reply: dict | None
) -> InboundMessage:
    """Processed: what came of it, the reply to send (a provider's request body), and the
    message's own text dropped (the row is kept for the window and the log)."""
    inbound.status = InboundMessage.Status.DONE
    inbound.processed_at = timezone.now()
    inbound.user = user
    inbound.outcome = outcome[:40]
    inbound.content = {}
    inbound.reply = reply or {}
    inbound.reply_status = InboundMessage.ReplyStatus.PENDING if reply else ""
    inbound.save(
        update_fields=[
            "status",
            "processed_at",
            "user",
            "outcome",
            "content",
            "reply",
            "reply_status",
        ]
    )
    return inbound


# --- Replies ---

SENDING = InboundMessage.ReplyStatus.SENDING


def reply_send_waiting(*, channel: str, provider_id: str) -> InboundMessage | None:
    """Send the reply of a message already answered whose reply is still waiting: a job
    delivered again after its worker died between the answer and the reply."""
    pk = (
        InboundMessage.objects.filter(
            channel=channel,
            provider_id=provider_id,
            reply_status=InboundMessage.ReplyStatus.PENDING,
        )
        .values_list("pk", flat=True)
        .first()
    )
    return reply_send(inbound_pk=pk) if pk is not None else None


def reply_send(*, inbound_pk: int) -> InboundMessage | None:
    """Send the reply of one message, once. Raises TransientDeliveryError when the provider
    may take it later (the reply is pending again); a refusal is recorded as failed."""
    claimed = InboundMessage.objects.filter(
        pk=inbound_pk, reply_status=InboundMessage.ReplyStatus.PENDING
    ).update(reply_status=SENDING)
    if not claimed:
        return None
    inbound = InboundMessage.objects.get(pk=inbound_pk)
    try:
        provider_id = _send(inbound)
    except PermanentDeliveryError as exc:
        return _reply_done(inbound, status=InboundMessage.ReplyStatus.FAILED, error=str(exc))
    except TransientDeliveryError as exc:
        _reply_done(inbound, status=InboundMessage.ReplyStatus.PENDING, error=str(exc))
        raise
    return _reply_done(inbound, status=InboundMessage.ReplyStatus.SENT, provider_id=provider_id)


def _reply_done(
    inbound: InboundMessage, *, status: str, error: str = "", provider_id: str = ""
) -> InboundMessage:
    fields: dict = {"reply_status": status, "reply_error": error[:2000]}
    if status == InboundMessage.ReplyStatus.SENT:
        fields |= {"reply_provider_id": provider_id[:200], "replied_at": timezone.now()}
    InboundMessage.objects.filter(pk=inbound.pk).update(**fields)
    for name, value in fields.items():
        setattr(inbound, name, value)
    return inbound


def _send(inbound: InboundMessage) -> str:
    reply = inbound.reply
    if inbound.channel == InboundChannel.WHATSAPP:
        if not settings.WHATSAPP_API_URL:
            raise PermanentDeliveryError(ERROR_CHANNEL_OFF)
        if not selectors.window_open(inbound=inbound):
            raise PermanentDeliveryError(ERROR_WINDOW_CLOSED)
        url = (
            f"{settings.WHATSAPP_API_URL.rstrip('/')}/{settings.WHATSAPP_PHONE_NUMBER_ID}/messages"
        )
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": inbound.phone.lstrip("+"),
            **reply["body"],
            # Comes back in the reply's delivery and read callbacks.
            "biz_opaque_callback_data": f"i:{inbound.pk}",
        }
        answer = post_json(
            url, body, headers={"Authorization": f"Bearer {settings.WHATSAPP_TOKEN}"}
        )
        messages = answer.data.get("messages") or [{}]
        return str(messages[0].get("id", ""))
    if not settings.SMS_GATEWAY_URL:
        raise PermanentDeliveryError(ERROR_CHANNEL_OFF)
    if not reply.get("body"):
        raise PermanentDeliveryError(ERROR_NO_SMS_TEMPLATE)
    body = {**reply["body"], "to": inbound.phone.lstrip("+"), "reference": f"chat-{inbound.pk}"}
    answer = post_json(
        settings.SMS_GATEWAY_URL,
        body,
        headers={"Authorization": f"Bearer {settings.SMS_GATEWAY_KEY}"},
    )
    data = answer.data
    return str(data.get("id") or data.get("message_id") or data.get("request_id") or "")


# --- What WhatsApp says about what the portal sent ---

_REPLY_ORDER: dict[str, int] = {
    InboundMessage.ReplyStatus.SENT: 1,
    InboundMessage.ReplyStatus.DELIVERED: 2,
    InboundMessage.ReplyStatus.READ: 3,
}


def status_apply(*, report: StatusReport) -> bool:
    """A delivery, read or failure callback: update the outbox row of the station it names,
    or the reply it names. Returns whether anything changed.

    The reference is what the portal itself put in `biz_opaque_callback_data` when it sent
    the message, inside a payload whose signature was checked; the row must also carry the
    provider's id of the message, so a reference and an id that do not belong together
    change nothing.
    """
    kind, _, rest = report.reference.partition(":")
    if kind == "m":
        schema, _, pk = rest.partition(":")
        station = Station.objects.live().filter(schema_name=schema).first()
        if station is None or not pk.isdecimal():
            return False
        with tenant_context(station):
            return notification_services.message_status_update(
                message_pk=int(pk),
                provider_id=report.provider_id,
                status=report.status,
                at=report.at,
                error=report.error,
            )
    replies = InboundMessage.objects.filter(reply_provider_id=report.provider_id)
    if kind == "i" and rest.isdecimal():
        replies = replies.filter(pk=int(rest))
    if report.status == "failed":
        changed = replies.filter(reply_status__in=selectors.REPLY_SENT).update(
            reply_status=InboundMessage.ReplyStatus.FAILED, reply_error=report.error[:2000]
        )
        return bool(changed)
    rank = _REPLY_ORDER.get(report.status)
    if rank is None:
        return False
    earlier = [status for status, order in _REPLY_ORDER.items() if order < rank]
    return bool(replies.filter(reply_status__in=earlier).update(reply_status=report.status))


# --- Retention ---


def inbound_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete received messages older than CHAT_KEEP_DAYS and codes that expired."""
    now = now or timezone.now()
    before = now - datetime.timedelta(days=settings.CHAT_KEEP_DAYS)
    deleted, _ = InboundMessage.objects.filter(received_at__lt=before).delete()
    LinkCode.objects.filter(Q(expires_at__lt=now)).delete()
    return deleted
