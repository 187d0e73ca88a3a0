"""The permission table: what each role may do in a station and in a lender branch, and the
states that take powers away.

This module is the only place where powers are written down. The access layers
(`stations.access` for station roles, `lenders.access` for branch roles) answer every question
from these tables, and every view names the capability it needs. Nothing here queries the
database, so the tables can be read, tested and printed on their own.
"""

from __future__ import annotations

import enum


class Perm(enum.StrEnum):
    """Station capabilities."""

    ENTER = "enter"  # open the station's pages at all
    OPERATE = "operate"  # duty officer's work: approvals, areas, teams, duty sheet
    ADMINISTER = "administer"  # the station's users and settings
    OVERSEE = "oversee"  # the SDPO's read-only view of the station
    OWN_RUNS = "runs.own"  # an escort officer's own runs on the day (acknowledge, start, complete)


# Station roles (stations.StationRole.Role values). The SDPO and staff of the station's
# subdivision read the station without a role of their own in it.
STATION_ROLES: dict[str, frozenset[Perm]] = {
    "oc": frozenset({Perm.ENTER, Perm.OPERATE, Perm.ADMINISTER}),
    "duty": frozenset({Perm.ENTER, Perm.OPERATE}),
    "escort": frozenset({Perm.ENTER, Perm.OWN_RUNS}),
    "lender": frozenset({Perm.ENTER}),
}
SUBDIVISION_STAFF: frozenset[Perm] = frozenset({Perm.ENTER, Perm.OVERSEE})


class BranchCap(enum.StrEnum):
    """Capabilities inside one lender branch."""

    VIEW = "branch.view"  # the branch's own page and its history of rosters
    ROSTER_READ = "roster.read"  # the branch's rosters, any day
    ROSTER_WRITE = "roster.write"  # add, change, delete, copy and upload roster entries
    ESCORTS_READ = "escorts.read"  # the escort details of every agent of the branch
    PEOPLE = "people"  # field agents and the branch's logins
    KEYS = "keys"  # API keys; a key acts only while its maker holds this
    AREA_PROPOSE = "area.propose"  # ask the station for a missing collection area
    INCIDENT_REPORT = "incident.report"  # tell the station of a snatching or an attempt
    OWN_TRIPS = "trips.own"  # a field agent's own trips today and tomorrow, their escorts, SOS


_OFFICE = frozenset(
    {
        BranchCap.VIEW,
        BranchCap.ROSTER_READ,
        BranchCap.ROSTER_WRITE,
        BranchCap.ESCORTS_READ,
        BranchCap.AREA_PROPOSE,
        BranchCap.INCIDENT_REPORT,
    }
)

# Branch roles (lenders.BranchMember.Role values).
BRANCH_ROLES: dict[str, frozenset[BranchCap]] = {
    "manager": _OFFICE | {BranchCap.PEOPLE, BranchCap.KEYS},
    "staff": _OFFICE,  # rosters and uploads; not people, not keys
    "agent": frozenset({BranchCap.OWN_TRIPS, BranchCap.INCIDENT_REPORT}),
}

# What a branch keeps in each of its states (lenders.LenderBranch.Status values); a role's
# capabilities are cut down to these.
BRANCH_STATES: dict[str, frozenset[BranchCap]] = {
    "approved": frozenset(BranchCap),
    # Waiting for the station: the manager may see the branch and get its agents ready.
    "pending": frozenset({BranchCap.VIEW, BranchCap.ROSTER_READ, BranchCap.PEOPLE}),
    "rejected": frozenset({BranchCap.VIEW}),
    # Suspended: its own history only.
    "suspended": frozenset({BranchCap.VIEW, BranchCap.ROSTER_READ}),
}


def branch_capabilities(
    *, role: str, branch_status: str, agent_active: bool | None = None, user_active: bool = True
) -> frozenset[BranchCap]:
    """What a branch login may do. `agent_active` is the active flag of the field agent the
    login belongs to, None for a login without an agent; an inactive agent or user keeps
    nothing."""
    if not user_active or agent_active is False:
        return frozenset()
    return BRANCH_ROLES.get(role, frozenset()) & BRANCH_STATES.get(branch_status, frozenset())


def branch_statuses_allowing(cap: BranchCap) -> list[str]:
    """The branch states in which `cap` survives, for queries that filter by state."""
    return [status for status, caps in BRANCH_STATES.items() if cap in caps]
