"""Reads on the lender side. Everything a branch sees goes through `branch_list_for_user`."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from stations.models import User
from stations.permissions import BRANCH_ROLES, BranchCap, branch_statuses_allowing

from .models import (
    BranchMember,
    CollectionArea,
    FieldAgent,
    Incident,
    LenderBranch,
    Roster,
    RosterEntry,
    SosAlert,
)


def branch_list_for_user(*, user: User) -> QuerySet[LenderBranch]:
    """The branches of the current station the user belongs to."""
    return LenderBranch.objects.filter(members__user=user).distinct()


def user_is_field_agent_only(*, user: User) -> bool:
    """A login that is a field agent in every branch it belongs to: its day is its trips."""
    roles = set(BranchMember.objects.filter(user=user).values_list("role", flat=True))
    return roles == {BranchMember.Role.AGENT}


def branch_list_with(*, user: User, cap: BranchCap) -> QuerySet[LenderBranch]:
    """The user's branches in which the permission table gives them `cap`."""
    roles = [role for role, caps in BRANCH_ROLES.items() if cap in caps]
    memberships = BranchMember.objects.filter(
        user=user, role__in=roles, branch__status__in=branch_statuses_allowing(cap)
    ).exclude(agent__active=False)
    return LenderBranch.objects.filter(pk__in=memberships.values("branch_id"))


def branch_list_for_station(*, status: str | None = None, search: str = "") -> QuerySet:
    branches = LenderBranch.objects.annotate(agent_count=Count("agents", distinct=True))
    if status:
        branches = branches.filter(status=status)
    if search:
        branches = branches.filter(
            Q(lender_name__icontains=search)
            | Q(branch_name__icontains=search)
            | Q(manager_name__icontains=search)
            | Q(registration_number__icontains=search)
        )
    return branches.order_by("status", "lender_name", "branch_name")


def agent_list(*, branch: LenderBranch, active_only: bool = False) -> QuerySet[FieldAgent]:
    agents = FieldAgent.objects.filter(branch=branch)
    return agents.filter(active=True) if active_only else agents


def area_list_active() -> QuerySet[CollectionArea]:
    return CollectionArea.objects.filter(status=CollectionArea.Status.ACTIVE)


def roster_entry_list(*, branch: LenderBranch, date: datetime.date) -> QuerySet[RosterEntry]:
    return RosterEntry.objects.filter(roster__branch=branch, roster__date=date).select_related(
        "agent", "area", "roster"
    )


def roster_list_for_date(*, date: datetime.date) -> QuerySet[Roster]:
    """Every roster of the station for a date, with entries, agents and areas loaded."""
    entries = RosterEntry.objects.select_related("agent", "area")
    return (
        Roster.objects.filter(date=date)
        .select_related("branch")
        .prefetch_related(Prefetch("entries", queryset=entries))
    )


def area_ids_at_raised_risk(*, on: datetime.date) -> set[int]:
    """Areas with a snatching or an attempt in the last INCIDENT_RAISES_RISK_DAYS days: the
    planner treats them as high risk whatever their recorded level."""
    since = on - datetime.timedelta(days=settings.INCIDENT_RAISES_RISK_DAYS)
    return set(
        Incident.objects.filter(
            kind__in=[Incident.Kind.SNATCHING, Incident.Kind.ATTEMPT],
            occurred_at__date__gt=since,
            occurred_at__date__lte=on,
            area__isnull=False,
        )
        .exclude(status=Incident.Status.REPORTED)
        .values_list("area_id", flat=True)
    )


def incident_list(*, kind: str = "", status: str = "", search: str = "") -> QuerySet[Incident]:
    incidents = Incident.objects.select_related("area", "branch", "agent")
    if kind:
        incidents = incidents.filter(kind=kind)
    if status:
        incidents = incidents.filter(status=status)
    if search:
        incidents = incidents.filter(
            Q(place__icontains=search)
            | Q(fir_number__icontains=search)
            | Q(narrative__icontains=search)
            | Q(area__name__icontains=search)
            | Q(branch__lender_name__icontains=search)
        )
    return incidents


def sos_list_open() -> QuerySet[SosAlert]:
    return SosAlert.objects.filter(acknowledged_at__isnull=True).select_related(
        "entry__agent", "entry__area", "entry__roster__branch"
    )


def trips_of_agent(*, user: User) -> QuerySet[RosterEntry]:
    """Today's and tomorrow's trips of the field agent this login belongs to, and no one
    else's, in order; none once the agent is inactive or the branch's state takes the power
    away."""
    today = timezone.localdate()
    return (
        RosterEntry.objects.filter(
            agent__login__user=user,
            agent__active=True,
            roster__branch__status__in=branch_statuses_allowing(BranchCap.OWN_TRIPS),
            roster__date__in=[today, today + datetime.timedelta(days=1)],
        )
        .select_related("area", "roster__branch", "agent")
        .order_by("roster__date", "depart_at", "pk")
    )


def trips_of_agent_today(*, user: User) -> QuerySet[RosterEntry]:
    """The agent's own trips today: the ones an SOS can be sent for."""
    return trips_of_agent(user=user).filter(roster__date=timezone.localdate())
