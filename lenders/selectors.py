"""Reads on the lender side. Everything a branch sees goes through `branch_list_for_user`."""

from __future__ import annotations

import datetime

from django.db.models import Case, Count, Prefetch, Q, QuerySet, When
from django.utils import timezone

from stations.models import User
from stations.permissions import BRANCH_ROLES, BranchCap, branch_statuses_allowing

from .models import (
    BranchMember,
    CollectionArea,
    FieldAgent,
    LenderBranch,
    Roster,
    RosterEntry,
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
    # Registrations waiting for a decision first: they are what an officer opens the list for,
    # and the approved branches of a busy station would push them onto a later page.
    waiting_first = Case(When(status=LenderBranch.Status.PENDING, then=0), default=1)
    return branches.order_by(waiting_first, "status", "lender_name", "branch_name")


def agent_list(*, branch: LenderBranch, active_only: bool = False) -> QuerySet[FieldAgent]:
    agents = FieldAgent.objects.filter(branch=branch)
    return agents.filter(active=True) if active_only else agents


def agent_list_for_entry(*, branch: LenderBranch, keep: FieldAgent | None) -> QuerySet[FieldAgent]:
    """The agents a roster entry may name, and `keep` (the entry's own agent) even when since
    deactivated: its form shows whose trip it is, and the rules say why it cannot stay."""
    agents = FieldAgent.objects.filter(branch=branch)
    if keep is None:
        return agents.filter(active=True)
    return agents.filter(Q(active=True) | Q(pk=keep.pk))


def area_list_active() -> QuerySet[CollectionArea]:
    return CollectionArea.objects.filter(status=CollectionArea.Status.ACTIVE)


def roster_entry_list(*, branch: LenderBranch, date: datetime.date) -> QuerySet[RosterEntry]:
    return RosterEntry.objects.filter(roster__branch=branch, roster__date=date).select_related(
        "agent", "area", "roster"
    )


def roster_list_for_branch(*, branch: LenderBranch) -> QuerySet[Roster]:
    """The branch's own rosters, newest first, each with its number of trips."""
    return (
        Roster.objects.filter(branch=branch).annotate(trip_count=Count("entries")).order_by("-date")
    )


def roster_list_for_date(*, date: datetime.date) -> QuerySet[Roster]:
    """Every roster of the station for a date, with entries, agents and areas loaded."""
    entries = RosterEntry.objects.select_related("agent", "area")
    return (
        Roster.objects.filter(date=date)
        .select_related("branch")
        .prefetch_related(Prefetch("entries", queryset=entries))
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


def roster_entry_list_ahead_for_agent(*, agent: FieldAgent) -> QuerySet[RosterEntry]:
    """The agent's trips on today's and tomorrow's rosters, whether active or not: what
    deactivating them leaves on the rosters."""
    today = timezone.localdate()
    return (
        RosterEntry.objects.filter(
            agent=agent, roster__date__in=[today, today + datetime.timedelta(days=1)]
        )
        .select_related("area", "roster")
        .order_by("roster__date", "depart_at", "pk")
    )


def trips_of_agent_today(*, user: User) -> QuerySet[RosterEntry]:
    """The agent's own trips today: the ones an SOS can be sent for."""
    return trips_of_agent(user=user).filter(roster__date=timezone.localdate())
