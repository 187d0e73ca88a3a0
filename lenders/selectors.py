"""Reads on the lender side. Everything a branch sees goes through `branch_list_for_user`."""

from __future__ import annotations

import datetime

from django.db.models import Count, Prefetch, Q, QuerySet

from stations.models import User

from .models import BranchMember, CollectionArea, FieldAgent, LenderBranch, Roster, RosterEntry


def branch_list_for_user(*, user: User) -> QuerySet[LenderBranch]:
    """The branches of the current station the user belongs to."""
    return LenderBranch.objects.filter(members__user=user).distinct()


def branch_list_managed_by(*, user: User) -> QuerySet[LenderBranch]:
    return LenderBranch.objects.filter(
        members__user=user, members__role=BranchMember.Role.MANAGER
    ).distinct()


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
