"""Reads about stations and the people in them."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from auditlog.models import LogEntry
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import QuerySet

from .models import Station, StationRole, SubdivisionRole, User


@dataclass(frozen=True)
class StationEntry:
    station: Station
    role_label: str


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
        entries[role.station_id] = StationEntry(role.station, role.get_role_display())
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
    return User.objects.filter(
        is_active=True, subdivision_roles__subdivision_id=station.subdivision_id
    ).distinct()


def audit_list(
    *,
    model: str = "",
    actor: str = "",
    search: str = "",
    since: datetime.date | None = None,
    until: datetime.date | None = None,
) -> QuerySet:
    """The current schema's audit trail, newest first, filtered as the trail page asks."""
    entries = LogEntry.objects.select_related("actor", "content_type").order_by("-timestamp")
    if model:
        app_label, _dot, name = model.partition(".")
        entries = entries.filter(content_type__app_label=app_label, content_type__model=name)
    if actor:
        entries = entries.filter(actor__username__icontains=actor)
    if search:
        entries = entries.filter(object_repr__icontains=search)
    if since:
        entries = entries.filter(timestamp__date__gte=since)
    if until:
        entries = entries.filter(timestamp__date__lte=until)
    return entries


def audit_models() -> list[tuple[str, str]]:
    """(value, label) for every model with a trail, for the filter."""
    from auditlog.registry import auditlog

    return sorted(
        (f"{m._meta.app_label}.{m._meta.model_name}", str(m._meta.verbose_name).capitalize())
        for m in auditlog.get_models()
    )


def locked_out_attempts(*, station: Station) -> QuerySet:
    """Sign-in lockouts of people with a role in this station."""
    usernames = User.objects.filter(station_roles__station=station).values("username")
    return AccessAttempt.objects.filter(
        username__in=usernames, failures_since_start__gte=settings.AXES_FAILURE_LIMIT
    ).order_by("-attempt_time")
