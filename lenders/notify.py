"""The lender side's messages, written into the notifications outbox inside the transaction of
the change that causes them. Messages carry references, times and places, never cash."""

from __future__ import annotations

import datetime

from django.db.models import QuerySet

from notifications.services import message_queue
from stations.models import User
from stations.routing import station_reverse
from stations.tenancy import schema_station

from .models import BranchMember, LenderBranch


def branch_people(branch: LenderBranch, *, roles: tuple[str, ...]) -> QuerySet[User]:
    return User.objects.filter(
        is_active=True, branch_memberships__branch=branch, branch_memberships__role__in=roles
    ).distinct()


def _managers(branch: LenderBranch) -> QuerySet[User]:
    return branch_people(branch, roles=(BranchMember.Role.MANAGER,))


def branch_decided(branch: LenderBranch) -> None:
    station = schema_station()
    approved = branch.status == LenderBranch.Status.APPROVED
    context = {
        "branch": str(branch),
        "station": station.name,
        # A Bengali reader's copy names the station in Bengali (notifications.catalogue.render).
        "station_bn": station.name_bn,
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
            "station_bn": station.name_bn,
            "path": station_reverse(station, "lenders:roster_day", branch.pk, date),
            # On WhatsApp: "Same as last time", "No collection" and a link to the form.
            "chat_ref": f"roster:{branch.pk}:{date.isoformat()}",
        },
    )
