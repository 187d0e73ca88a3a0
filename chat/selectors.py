"""Reads of the conversations: consent, the 24-hour window, and the counts the rules use."""

from __future__ import annotations

import datetime

from django.utils import timezone

from stations.models import ChatContact

from .models import InboundChannel, InboundMessage

# Outcomes (InboundMessage.outcome) the rules below count: the polite reply to an unknown
# number, and codes that matched nobody.
STRANGER_ANSWERS = ("stranger", "stranger.code")
WRONG_CODE_OUTCOMES = ("link.wrong", "stranger.code")
REPLY_SENT = [
    InboundMessage.ReplyStatus.SENT,
    InboundMessage.ReplyStatus.DELIVERED,
    InboundMessage.ReplyStatus.READ,
]

# WhatsApp lets a business answer freely for this long after the person's last message.
WINDOW = datetime.timedelta(hours=24)


def consents(contact: ChatContact, channel: str) -> bool:
    if channel == InboundChannel.WHATSAPP:
        return contact.whatsapp_consent
    return not contact.sms_stopped


def stranger_answered(*, phone: str) -> bool:
    """Whether this number, unknown to the portal, already had its one polite reply (within
    CHAT_KEEP_DAYS, the life of the record)."""
    return InboundMessage.objects.filter(
        phone=phone, outcome__in=STRANGER_ANSWERS, reply_status__in=REPLY_SENT
    ).exists()


def wrong_codes(*, phone: str, since: datetime.datetime) -> int:
    return InboundMessage.objects.filter(
        phone=phone, outcome__in=WRONG_CODE_OUTCOMES, received_at__gte=since
    ).count()


def window_open(*, inbound: InboundMessage, now: datetime.datetime | None = None) -> bool:
    """Whether WhatsApp still allows a free-form reply to this number: its latest message
    (this one or a later one) came less than 24 hours ago."""
    now = now or timezone.now()
    latest = (
        InboundMessage.objects.filter(phone=inbound.phone, channel=InboundChannel.WHATSAPP)
        .order_by("-received_at")
        .values_list("received_at", flat=True)
        .first()
    )
    return latest is not None and now - latest < WINDOW
