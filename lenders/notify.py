"""The lender side's messages, written into the notifications outbox inside the transaction of
the change that causes them. Messages carry references, times and places, never cash."""

from __future__ import annotations

import datetime

from django.db.models import QuerySet
from django.utils import timezone

from notifications.services import message_queue
from stations.models import Station, User
from stations.routing import station_reverse
from stations.selectors import user_list_overseers, user_list_station_officers
from stations.tenancy import schema_station

from .models import BranchMember, Incident, LenderBranch, SosAlert


def branch_people(branch: LenderBranch, *, roles: tuple[str, ...]) -> QuerySet[User]:
    return User.objects.filter(
        is_active=True, branch_memberships__branch=branch, branch_memberships__role__in=roles
    ).distinct()


def _managers(branch: LenderBranch) -> QuerySet[User]:
    return branch_people(branch, roles=(BranchMember.Role.MANAGER,))


def _station_and_sdpo(station: Station) -> set[User]:
    return {*user_list_station_officers(station=station), *user_list_overseers(station=station)}


def branch_decided(branch: LenderBranch) -> None:
    station = schema_station()
    approved = branch.status == LenderBranch.Status.APPROVED
    context = {
        "branch": str(branch),
        "station": station.name,
        "path": station_reverse(station, "lenders:branch", branch.pk),
    }
    if not approved:
        context["reason"] = branch.decision_reason
    message_queue(
        event=f"branch-{branch.status}:{branch.pk}:{branch.decided_at:%Y%m%d%H%M%S}",
        kind="branch_approved" if approved else "branch_rejected",
        recipients=_managers(branch),
        context=context,
    )


def roster_reminder(branch: LenderBranch, date: datetime.date) -> None:
    station = schema_station()
    message_queue(
        event=f"roster-reminder:{branch.pk}:{date.isoformat()}",
        kind="roster_reminder",
        recipients=branch_people(
            branch, roles=(BranchMember.Role.MANAGER, BranchMember.Role.STAFF)
        ),
        context={
            "date": date.strftime("%d-%m-%Y"),
            "cutoff": station.roster_cutoff.strftime("%H:%M"),
            "station": station.name,
            "path": station_reverse(station, "lenders:roster_day", branch.pk, date),
            # On WhatsApp: "Same as last time", "No collection" and a link to the form.
            "chat_ref": f"roster:{branch.pk}:{date.isoformat()}",
        },
    )


def sos_raised(alert: SosAlert) -> None:
    """Everyone who can act, at once, on every channel they have: preferences do not apply."""
    station = schema_station()
    entry = alert.entry
    message_queue(
        event=f"sos:{alert.pk}",
        kind="sos",
        recipients=_station_and_sdpo(station),
        context={
            "reference": f"SOS-{alert.pk}",
            "time": timezone.localtime(alert.raised_at).strftime("%H:%M"),
            "place": entry.area.name,
            "name": entry.agent.name,
            "phone": str(entry.agent.phone),
            "path": station_reverse(station, "lenders:sos_list"),
            **_sos_location(alert),
        },
        urgent=True,
    )


def _sos_location(alert: SosAlert) -> dict:
    if not alert.has_location:
        return {}
    located = timezone.localtime(alert.located_at or alert.raised_at)
    location = {
        "latitude": str(alert.latitude),
        "longitude": str(alert.longitude),
        "located_at": located.strftime("%H:%M:%S"),
    }
    if alert.accuracy_m is not None:
        location["accuracy_m"] = str(alert.accuracy_m)
    return location


def incident_recorded(incident: Incident) -> None:
    station = schema_station()
    place = incident.area.name if incident.area else incident.place or station.name
    message_queue(
        event=f"incident:{incident.pk}",
        kind="incident_recorded",
        recipients=_station_and_sdpo(station),
        context={
            "reference": f"INC-{incident.pk}",
            "time": timezone.localtime(incident.occurred_at).strftime("%d-%m %H:%M"),
            "place": place,
            "path": station_reverse(station, "lenders:incident_detail", incident.pk),
        },
    )
