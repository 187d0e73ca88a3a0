"""Station schema: the outbox of messages and each user's choice of channels."""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    IN_APP = "in_app", _("In the portal")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WHATSAPP = "whatsapp", _("WhatsApp")


class Kind(models.TextChoices):
    """What a message is about; each kind has its template files (see `catalogue`)."""

    BRANCH_APPROVED = "branch_approved", _("Branch approved")
    BRANCH_REJECTED = "branch_rejected", _("Branch not approved")
    ROSTER_REMINDER = "roster_reminder", _("Roster reminder")
    SHEET_DRAFT_READY = "sheet_draft_ready", _("Draft duty sheet ready")
    SHEET_PUBLISHED = "sheet_published", _("Escort details")
    SHEET_CHANGED = "sheet_changed", _("Escort details changed")
    TRIP_UNESCORTED = "trip_unescorted", _("Trip without escort")
    RUN_OVERDUE = "run_overdue", _("Run overdue")
    RUN_NOT_ACKNOWLEDGED = "run_not_acknowledged", _("Run not acknowledged")
    RUN_SILENT = "run_silent", _("Run without check-in")
    SOS = "sos", _("SOS")
    INCIDENT_RECORDED = "incident_recorded", _("Incident recorded")
    SDPO_DAILY_SUMMARY = "sdpo_daily_summary", _("Daily summary")


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


# Keeps public.stations_inboxcount (stations.InboxCount): one trigger function, run by a trigger
# for each way a message starts or stops counting as unread in the portal.
_UNREAD = "{row}.channel = 'in_app' AND {row}.read_at IS NULL"
_INBOX_COUNT = f"""
    SELECT id INTO _station FROM public.stations_station WHERE schema_name = TG_TABLE_SCHEMA;
    IF _station IS NULL THEN
        RETURN NULL;  -- a schema without its station row yet counts nothing
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND {_UNREAD.format(row="OLD")} THEN
        UPDATE public.stations_inboxcount SET unread = unread - 1
        WHERE user_id = OLD.recipient_id AND station_id = _station;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND {_UNREAD.format(row="NEW")} THEN
        INSERT INTO public.stations_inboxcount (user_id, station_id, unread)
        VALUES (NEW.recipient_id, _station, 1)
        ON CONFLICT (user_id, station_id)
        DO UPDATE SET unread = public.stations_inboxcount.unread + 1;
    END IF;
    RETURN NULL;
"""  # noqa: S608 - made of the constants above


def _inbox_count_trigger(
    name: str, operation: pgtrigger.Operation, condition: str
) -> pgtrigger.Trigger:
    return pgtrigger.Trigger(
        name=name,
        when=pgtrigger.After,
        operation=operation,
        condition=pgtrigger.Condition(condition),
        declare=[("_station", "bigint")],
        func=_INBOX_COUNT,
    )


class Message(models.Model):
    """One message to one user over one channel, written in the transaction of its event.

    (event, recipient, channel) is unique, so repeating an event adds nothing. Delivery claims
    the row by moving it from PENDING to SENDING in one conditional UPDATE; only the worker whose
    UPDATE matched sends it.
    """

    Status = MessageStatus

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        db_constraint=False,  # users live in public: see stations.schemas
        related_name="+",
        verbose_name=_("recipient"),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES)
    context = models.JSONField(_("context"), default=dict, blank=True)
    event = models.CharField(_("event"), max_length=200)
    urgent = models.BooleanField(_("urgent"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=MessageStatus.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    # What the provider reported afterwards (WhatsApp status callbacks): on the phone, opened.
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    seen_at = models.DateTimeField(_("read on the phone at"), null=True, blank=True)
    provider_id = models.CharField(_("provider's reference"), max_length=200, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(
                fields=["event", "recipient", "channel"], name="notifications_message_once"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=Channel.values), name="notifications_message_channel"
            ),
            models.CheckConstraint(
                condition=Q(status__in=MessageStatus.values), name="notifications_message_status"
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="notifications_message_sent_has_time",
            ),
            models.CheckConstraint(
                condition=Q(read_at__isnull=True) | Q(channel="in_app"),
                name="notifications_message_only_in_app_is_read",
            ),
        ]
        indexes = [
            # The sweeper's scan: only rows still to be sent.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="notifications_due",
            ),
            # The inbox and the bell.
            models.Index(
                fields=["recipient", "-created_at"],
                condition=Q(channel="in_app"),
                name="notifications_inbox",
            ),
            # The officers' page of failed and waiting messages.
            models.Index(
                fields=["status", "-created_at"],
                condition=~Q(channel="in_app"),
                name="notifications_outbox",
            ),
        ]
        triggers = [
            _inbox_count_trigger("inbox_count_insert", pgtrigger.Insert, _UNREAD.format(row="NEW")),
            _inbox_count_trigger("inbox_count_delete", pgtrigger.Delete, _UNREAD.format(row="OLD")),
            _inbox_count_trigger(
                "inbox_count_update",
                pgtrigger.Update,
                f"(({_UNREAD.format(row='OLD')}) IS DISTINCT FROM ({_UNREAD.format(row='NEW')}) "
                "OR OLD.recipient_id IS DISTINCT FROM NEW.recipient_id)",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id} ({self.channel}, {self.status})"

    @property
    def path(self) -> str:
        """The portal page the message points to, if any."""
        return self.context.get("path", "")


class ChannelPreference(models.Model):
    """Which channels a user wants in this station besides the portal, which is always on.

    No row means the defaults below. SOS messages ignore these choices.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        db_constraint=False,  # users live in public: see stations.schemas
        related_name="+",
        verbose_name=_("user"),
    )
    email = models.BooleanField(_("email"), default=True)
    sms = models.BooleanField(_("SMS"), default=True)
    # WhatsApp messages go only to a number whose owner agreed to them from that phone
    # (stations.ChatContact); this is the person's further choice for this station.
    whatsapp = models.BooleanField(_("WhatsApp"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("channel preference")
        verbose_name_plural = _("channel preferences")

    def __str__(self) -> str:
        return f"{self.user_id}: email={self.email} sms={self.sms} whatsapp={self.whatsapp}"

    def wants(self, channel: str) -> bool:
        if channel == Channel.IN_APP:
            return True
        return bool(getattr(self, channel))
