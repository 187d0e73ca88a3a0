"""Reads of the outbox: a user's inbox and unread count, the officers' list of problems."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from stations.models import InboxCount, Station, User
from stations.routing import station_reverse

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

from . import catalogue
from .backends import backend_for
from .models import Channel, ChannelPreference, Message

# --- Channels ---


def channels_available() -> list[Channel]:
    """The channels the portal can send on now: its own inbox, and each configured backend."""
    return [Channel.IN_APP] + [
        channel
        for channel in (Channel.EMAIL, Channel.SMS, Channel.WHATSAPP)
        if channel in settings.NOTIFICATIONS_BACKENDS and backend_for(channel).is_available()
    ]


def channel_address(*, user: User, channel: str) -> str:
    """Where `user` receives `channel`, or "" when they cannot (no email, no valid phone)."""
    if channel == Channel.IN_APP:
        return str(user.pk)
    return backend_for(channel).address(user)


def channels_for(
    *, user: User, preference: ChannelPreference | None, available: list[Channel], urgent: bool
) -> list[str]:
    """The channels one message goes out on: the portal always; the others when the user can
    receive them and wants them, or, for an urgent message, whenever they can receive them."""
    preference = preference or ChannelPreference(user=user)
    return [
        channel
        for channel in available
        if channel_address(user=user, channel=channel) and (urgent or preference.wants(channel))
    ]


def channel_usability(*, user: User) -> dict[str, StrOrPromise]:
    """For each channel besides the portal: "" when the user can receive it, else why not."""
    available = channels_available()
    reasons: dict[str, StrOrPromise] = {}
    for channel in (Channel.EMAIL, Channel.SMS, Channel.WHATSAPP):
        if channel not in available:
            reasons[channel] = _("Not available on this portal yet.")
        elif not channel_address(user=user, channel=channel):
            reasons[channel] = {
                Channel.EMAIL: _("Your account has no email address."),
                Channel.SMS: _("Your account has no valid mobile number, or it sent STOP."),
                Channel.WHATSAPP: _(
                    "Link your phone under “WhatsApp and SMS” first, from WhatsApp; "
                    "after STOP, send START."
                ),
            }[channel]
        else:
            reasons[channel] = ""
    return reasons


# --- The inbox ---


def message_unread_count(*, user: User) -> int:
    """Unread portal messages of `user` in the current station."""
    if not user.is_authenticated:
        return 0
    return Message.objects.filter(
        recipient=user, channel=Channel.IN_APP, read_at__isnull=True
    ).count()


def message_list_inbox(*, user: User) -> QuerySet[Message]:
    """The user's portal messages in the current station, newest first."""
    return Message.objects.filter(recipient=user, channel=Channel.IN_APP).order_by(
        "-created_at", "-pk"
    )


@dataclass(frozen=True)
class InboxItem:
    message: Message
    subject: str
    body: str


def inbox_page(
    *, user: User, page_number: str | int | None, language: str, per_page: int = 25
) -> Page:
    """One page of the inbox, each message rendered in `language` (the reader's language now)."""
    page = Paginator(message_list_inbox(user=user), per_page).get_page(page_number)
    items = []
    for message in page.object_list:
        rendered = catalogue.render(message.kind, language, message.context)
        items.append(InboxItem(message, rendered.subject, rendered.body))
    # The page carries the rendered messages in place of the rows it was cut from.
    page.object_list = items  # type: ignore[assignment]
    return page


# --- The SDPO's inbox: the portal messages of every station of the subdivision ---
#
# A station's messages sit in its own schema. The bell, on every page, reads the public counts
# (stations.InboxCount); the inbox reads the messages with one UNION ALL over the stations'
# tables, where entering each station would cost a query per station (about 160 ms at 500
# stations, on the inbox page alone).


class _InSchema(Protocol):
    """A station, or a station's id and schema alone (stations.access.StationSchema)."""

    @property
    def pk(self) -> Any: ...

    @property
    def schema_name(self) -> str: ...


InSchema = TypeVar("InSchema", bound=_InSchema)


def _with_schema(stations: list[InSchema]) -> list[InSchema]:
    """The stations whose schema exists: a station row is written before its schema is made."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)",
            [[station.schema_name for station in stations]],
        )
        present = {name for (name,) in cursor.fetchall()}
    return [station for station in stations if station.schema_name in present]


def _across(stations: list[InSchema], select: str) -> str:
    """`select` (with `{table}` and a `%s` for the recipient) once per station, joined by
    UNION ALL; each part starts with the station's id."""
    parts = []
    for station in stations:
        table = f"{connection.ops.quote_name(station.schema_name)}.{Message._meta.db_table}"
        parts.append(f"SELECT {int(station.pk)} AS station_id, " + select.format(table=table))
    return " UNION ALL ".join(parts)


_MINE = "FROM {table} WHERE recipient_id = %s AND channel = 'in_app'"


def subdivision_unread_count(*, user: User, stations: list[InSchema]) -> int:
    """Unread portal messages of `user` in all of `stations`, from the public counts the
    stations' message tables keep (stations.InboxCount): the bell is on every page, and a
    UNION ALL over 500 stations' tables took 160 ms to plan and run."""
    counts = InboxCount.objects.filter(user=user, station_id__in=[s.pk for s in stations])
    return counts.aggregate(unread=Sum("unread"))["unread"] or 0


@dataclass(frozen=True)
class SubdivisionItem:
    station: Station
    pk: int
    subject: str
    body: str
    created_at: datetime.datetime
    unread: bool

    @property
    def open_url(self) -> str:
        """The station's own page that marks the message read and follows its link."""
        return station_reverse(self.station, "notifications:open", self.pk)


def subdivision_inbox(
    *, user: User, stations: list[Station], language: str, limit: int = 100
) -> list[SubdivisionItem]:
    """The newest `limit` portal messages of `user` from all of `stations`, newest first, each
    rendered in `language`, in one query."""
    stations = _with_schema(stations)
    if not stations:
        return []
    union = _across(stations, "id, kind, context, created_at, read_at IS NULL AS unread " + _MINE)
    sql = f"{union} ORDER BY created_at DESC, id DESC LIMIT %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*([user.pk] * len(stations)), limit])
        rows = cursor.fetchall()
    by_id = {station.pk: station for station in stations}
    items = []
    for station_id, pk, kind, context, created_at, unread in rows:
        if isinstance(context, str):
            context = json.loads(context)
        rendered = catalogue.render(kind, language, context)
        items.append(
            SubdivisionItem(
                by_id[station_id], pk, rendered.subject, rendered.body, created_at, unread
            )
        )
    return items


# --- The officers' outbox ---


class OutboxFilter:
    PROBLEMS = "problems"  # failed, waiting or sending
    FAILED = "failed"
    SENT = "sent"
    ALL = "all"
    CHOICES = (PROBLEMS, FAILED, SENT, ALL)


def message_list_outbox(*, show: str = OutboxFilter.PROBLEMS) -> QuerySet[Message]:
    """Messages of the current station leaving by email, SMS or WhatsApp, for its officers."""
    messages = (
        Message.objects.exclude(channel=Channel.IN_APP)
        .select_related("recipient")
        .order_by("-created_at", "-pk")
    )
    if show == OutboxFilter.FAILED:
        return messages.filter(status=Message.Status.FAILED)
    if show == OutboxFilter.SENT:
        return messages.filter(status=Message.Status.SENT)
    if show == OutboxFilter.ALL:
        return messages
    return messages.exclude(status=Message.Status.SENT)


def outbox_page(*, show: str, page_number: str | int | None, per_page: int = 50) -> Page:
    return Paginator(message_list_outbox(show=show), per_page).get_page(page_number)


def message_count_failed() -> int:
    return (
        Message.objects.filter(status=Message.Status.FAILED).exclude(channel=Channel.IN_APP).count()
    )


# --- Preferences ---


def preference_for(*, user: User) -> ChannelPreference:
    """The user's channel choices in this station (the defaults when never set)."""
    return ChannelPreference.objects.filter(user=user).first() or ChannelPreference(user=user)
