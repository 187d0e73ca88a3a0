"""Reads about stations and the people in them."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.text import capfirst
from django_otp.plugins.otp_totp.models import TOTPDevice

from escort_portal import audit

from .models import Station, StationRole, SubdivisionRole, User


@dataclass(frozen=True)
class StationEntry:
    station: Station
    role_label: str
    role: str = ""


def station_list_live() -> QuerySet[Station]:
    return Station.objects.live().select_related("subdivision")


def station_list_for_user(*, user: User) -> list[StationEntry]:
    """The stations a user may enter, each with what the user is there, ordered by name.

    A station role wins over the SDPO's reach when a user has both.
    """
    if not user.is_authenticated:
        return []
    entries: dict[int, StationEntry] = {}
    for role in StationRole.objects.filter(user=user).select_related("station"):
        entries[role.station_id] = StationEntry(role.station, role.get_role_display(), role.role)
    for sub_role in SubdivisionRole.objects.filter(user=user).select_related("subdivision"):
        for station in station_list_live().filter(subdivision=sub_role.subdivision):
            entries.setdefault(station.pk, StationEntry(station, sub_role.get_role_display()))
    return sorted(entries.values(), key=lambda entry: entry.station.name)


def user_list_station_officers(*, station: Station) -> QuerySet[User]:
    """The officer-in-charge and duty officers: who answers for the station's desk."""
    return User.objects.filter(
        is_active=True,
        station_roles__station=station,
        station_roles__role__in=[
            StationRole.Role.OFFICER_IN_CHARGE,
            StationRole.Role.DUTY_OFFICER,
        ],
    ).distinct()


def user_list_overseers(*, station: Station) -> QuerySet[User]:
    """The SDPO and staff of the station's subdivision."""
    if station.subdivision_id is None:
        # Filtering on a missing subdivision would match every user without one.
        return User.objects.none()
    return User.objects.filter(
        is_active=True, subdivision_roles__subdivision_id=station.subdivision_id
    ).distinct()


# The tracked apps whose events live in a station's schema. Users, roles and stations are
# recorded in the public schema, beside their own tables; a station's trail adds the changes
# of its own people's roles from there.
STATION_TRAIL_APPS = ("lenders", "incidents", "escorts")


def _midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _station_tables(station: Station) -> dict:
    """Each event table of a station's trail, with the part of it that is the station's."""
    tables = {table: Q() for table in audit.event_models(app_labels=STATION_TRAIL_APPS)}
    tables[audit.event_model_of(StationRole)] = Q(station_id=station.pk)
    return tables


AUDIT_PAGE_SIZE = 50
# Deeper pages read every newer row again; the dates reach further back for less.
AUDIT_MAX_PAGES = 100


@dataclass(frozen=True)
class AuditPage:
    """One page of a station's trail, newest first. There is no page count: counting years of
    events for every page would cost more than reading the page."""

    rows: list[audit.TrailRow]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_older(self) -> bool:
        return self.has_next and self.number < AUDIT_MAX_PAGES

    @property
    def needs_dates(self) -> bool:
        """Older changes are there, but only a narrower range of days reaches them."""
        return self.has_next and self.number >= AUDIT_MAX_PAGES


def audit_page(
    *,
    station: Station,
    number: int = 1,
    model: str = "",
    actor: str = "",
    search: str = "",
    since: datetime.date | None = None,
    until: datetime.date | None = None,
) -> AuditPage:
    """Page `number` of the station's audit trail, filtered as the trail page asks: `model` is
    an app_label.model_name, `actor` part of a username, `search` text of the recorded row or
    its number, `since` and `until` days (both included). Each row says what changed and who
    changed it."""
    tables = _station_tables(station)
    if model:
        tables = {
            table: scope for table, scope in tables.items() if audit.kind_of(table) == model
        } or tables
    user_ids = None
    if actor:
        user_ids = User.objects.filter(username__icontains=actor).values_list("pk", flat=True)
    end = number * AUDIT_PAGE_SIZE
    events = audit.trail(
        tables,
        user_ids=user_ids,
        search=search,
        since=_midnight(since) if since else None,
        until=_midnight(until + datetime.timedelta(days=1)) if until else None,
        limit=end + 1,
    )
    rows = audit.rows(events[end - AUDIT_PAGE_SIZE : end])
    people = User.objects.in_bulk({row.user_id for row in rows if row.user_id})
    for row in rows:
        person = people.get(row.user_id)
        row.who = person.username if person else ""
    return AuditPage(rows=rows, number=number, has_next=len(events) > end)


def audit_models(*, station: Station) -> list[tuple[str, str]]:
    """(value, label) for every kind of record in a station's trail, for the filter."""
    return sorted(
        (audit.kind_of(table), capfirst(str(table.pgh_tracked_model._meta.verbose_name)))
        for table in _station_tables(station)
    )


def locked_out_attempts(*, station: Station) -> QuerySet:
    """Sign-in lockouts of people with a role in this station."""
    usernames = User.objects.filter(station_roles__station=station).values("username")
    return AccessAttempt.objects.filter(
        username__in=usernames, failures_since_start__gte=settings.AXES_FAILURE_LIMIT
    ).order_by("-attempt_time")


def officers_second_factor(*, station: Station) -> list[tuple[StationRole, bool]]:
    """The station's officers whose second factor its officer-in-charge looks after, each with
    whether they have an authenticator set up."""
    roles = (
        StationRole.objects.filter(station=station, user__is_active=True)
        .exclude(role__in=[StationRole.Role.LENDER, StationRole.Role.OFFICER_IN_CHARGE])
        .select_related("user")
        .order_by("user__username")
    )
    enrolled = set(
        TOTPDevice.objects.filter(
            confirmed=True, user__in=[role.user_id for role in roles]
        ).values_list("user_id", flat=True)
    )
    return [(role, role.user_id in enrolled) for role in roles]
