"""Public schema: the codes that link a phone to a person, and every message received.

Both live in public because a message reaches one platform number before anyone knows which
person or station it is about.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LinkCode(models.Model):
    """A one-time code a signed-in person sends from their phone to link it to their account.

    Only an HMAC of the code is kept (`chat.services.code_hash`), unique, so the code a message
    carries finds its owner in one indexed read. A new code replaces the old one.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("user"),
    )
    code_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(_("expires at"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("link code")
        verbose_name_plural = _("link codes")

    def __str__(self) -> str:
        return f"{self.user_id} until {timezone.localtime(self.expires_at):%Y-%m-%d %H:%M}"


class InboundChannel(models.TextChoices):
    WHATSAPP = "whatsapp", _("WhatsApp")
    SMS = "sms", _("SMS")


class InboundMessage(models.Model):
    """One message a phone sent to the portal, and the one reply it got.

    (channel, provider_id) is unique: the provider delivers a message again whenever it is not
    sure we have it, and only the first copy is processed (`chat.services.inbound_receive`). The
    content is kept only until it is processed; the row stays for the 24-hour window, the "one
    reply to a stranger" rule and the reply's delivery, and is deleted after
    `CHAT_KEEP_DAYS`.
    """

    Channel = InboundChannel

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSING = "processing", _("Processing")
        DONE = "done", _("Done")

    class ReplyStatus(models.TextChoices):
        NONE = "", _("No reply")
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        READ = "read", _("Read")
        FAILED = "failed", _("Failed")

    channel = models.CharField(_("channel"), max_length=10, choices=InboundChannel.choices)
    provider_id = models.CharField(_("provider's reference"), max_length=200)
    phone = models.CharField(_("phone"), max_length=20)
    # text, button, list, location or other; `content` holds what the handlers read.
    kind = models.CharField(_("kind"), max_length=12)
    content = models.JSONField(_("content"), default=dict, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"))
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.RECEIVED
    )
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("from"),
    )
    # What came of it, for people reading the log: "run.acknowledged", "stranger", ...
    outcome = models.CharField(_("outcome"), max_length=40, blank=True)
    reply = models.JSONField(_("reply"), default=dict, blank=True)
    reply_status = models.CharField(
        _("reply status"), max_length=10, choices=ReplyStatus.choices, blank=True
    )
    reply_provider_id = models.CharField(_("reply reference"), max_length=200, blank=True)
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    reply_error = models.TextField(_("reply error"), blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("received message")
        verbose_name_plural = _("received messages")
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "provider_id"], name="chat_inbound_once_per_provider_id"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=InboundChannel.values), name="chat_inbound_channel"
            ),
        ]
        indexes = [
            # The 24-hour window and the stranger rule: a number's latest messages.
            models.Index(fields=["phone", "-received_at"], name="chat_inbound_by_phone"),
            # Status callbacks of replies that carry no reference of ours.
            models.Index(
                fields=["reply_provider_id"],
                condition=~Q(reply_provider_id=""),
                name="chat_inbound_reply_ref",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.phone} {self.provider_id} ({self.status})"
