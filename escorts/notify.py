"""The duty sheet's messages, written into the notifications outbox inside the transaction of
the change that causes them. Each branch hears only of its own entries; no message carries cash.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import QuerySet

from lenders.models import BranchMember, LenderBranch, RosterEntry
from lenders.notify import branch_people, short
from notifications.services import message_queue
from stations.models import Station, User
from stations.routing import station_reverse
from stations.selectors import user_list_station_officers
from stations.tenancy import schema_station

from .models import DutySheet, EscortRun, RunEntry, UncoveredEntry

_BRANCH_ROLES = (BranchMember.Role.MANAGER, BranchMember.Role.STAFF)


def run_reference(run: EscortRun) -> str:
    return f"R{run.pk}"


def _leader(run: EscortRun) -> QuerySet[User]:
    return User.objects.filter(pk=run.team.leader.user_id, is_active=True)


def _escort_context(run: EscortRun, date_text: str, station: Station, path: str) -> dict:
    leader = run.team.leader
    return {
        "reference": run_reference(run),
        "date": date_text,
        "time": f"{run.start:%H:%M}-{run.end:%H:%M}",
        "meeting_point": short(run.meeting_point or run.area.name),
        "contact": short(f"{leader.get_rank_display()} {leader.name}"),
        "phone": str(leader.phone),
        "path": path,
    }


def _branch_recipients(branch: LenderBranch, entries: list[RosterEntry]) -> set[User]:
    """The branch's office logins, and the agents of these entries who have their own."""
    agents = User.objects.filter(
        is_active=True, branch_memberships__agent__in=[entry.agent_id for entry in entries]
    )
    return {*branch_people(branch, roles=_BRANCH_ROLES), *agents}


def draft_ready(sheet: DutySheet) -> None:
    station = schema_station()
    message_queue(
        event=f"sheet-draft:{sheet.pk}",
        kind="sheet_draft_ready",
        recipients=user_list_station_officers(station=station),
        context={
            "date": sheet.date.strftime("%d-%m-%Y"),
            "runs": str(sheet.runs.count()),
            "uncovered": str(UncoveredEntry.objects.filter(sheet=sheet).count()),
            "path": station_reverse(station, "escorts:sheet", sheet.date),
        },
    )


def _announce_runs(sheet: DutySheet, runs: list[EscortRun], *, kind: str, only: set | None):
    """Per run: its team leader, and each branch with entries on it (only `only`, if given)."""
    station = schema_station()
    date_text = sheet.date.strftime("%d-%m-%Y")
    by_run: dict[int, list[RosterEntry]] = defaultdict(list)
    links = RunEntry.objects.filter(run__in=runs).select_related("entry__roster__branch")
    for link in links:
        if only is None or link.entry_id in only:
            by_run[link.run_id].append(link.entry)
    for run in runs:
        my_day = station_reverse(station, "escorts:my_day")
        context = _escort_context(run, date_text, station, my_day)
        message_queue(
            event=f"{kind}:{sheet.pk}:run:{run.pk}:leader",
            kind=kind,
            recipients=_leader(run),
            context=context,
        )
        per_branch: dict[int, list[RosterEntry]] = defaultdict(list)
        for entry in by_run.get(run.pk, []):
            per_branch[entry.roster.branch_id].append(entry)
        for entries in per_branch.values():
            branch = entries[0].roster.branch
            path = station_reverse(station, "escorts:branch_escorts", branch.pk, sheet.date)
            message_queue(
                event=f"{kind}:{sheet.pk}:run:{run.pk}:branch:{branch.pk}",
                kind=kind,
                recipients=_branch_recipients(branch, entries),
                context={**context, "path": path},
            )


def sheet_published(sheet: DutySheet) -> None:
    runs = list(sheet.runs.select_related("team__leader", "area"))
    _announce_runs(sheet, runs, kind="sheet_published", only=None)


def sheet_changed(sheet: DutySheet) -> None:
    """Only what changed: the runs that now hold a changed entry, their leaders, and the
    branches of those entries. An entry left without escort is the branch's to hear of too."""
    changed = {item["entry"] for item in sheet.changes}
    runs = list(
        sheet.runs.filter(run_entries__entry_id__in=changed)
        .select_related("team__leader", "area")
        .distinct()
    )
    _announce_runs(sheet, runs, kind="sheet_changed", only=changed)
    station = schema_station()
    dropped = UncoveredEntry.objects.filter(sheet=sheet, entry_id__in=changed).select_related(
        "entry__roster__branch"
    )
    per_branch: dict[int, list[RosterEntry]] = defaultdict(list)
    for item in dropped:
        per_branch[item.entry.roster.branch_id].append(item.entry)
    for entries in per_branch.values():
        branch = entries[0].roster.branch
        message_queue(
            event=f"sheet_changed:{sheet.pk}:uncovered:branch:{branch.pk}",
            kind="sheet_changed",
            recipients=_branch_recipients(branch, entries),
            context={
                "reference": "-",
                "date": sheet.date.strftime("%d-%m-%Y"),
                "time": ", ".join(f"{e.depart_at:%H:%M}" for e in entries)[:30],
                "meeting_point": "-",
                "contact": short(station.name),
                "phone": station.phone or "112",
                "path": station_reverse(station, "escorts:branch_escorts", branch.pk, sheet.date),
            },
        )


def run_overdue(run: EscortRun) -> None:
    station = schema_station()
    message_queue(
        event=f"run-overdue:{run.pk}",
        kind="run_overdue",
        recipients=user_list_station_officers(station=station),
        context={
            "reference": run_reference(run),
            "time": f"{run.start:%H:%M}",
            "meeting_point": short(run.meeting_point or run.area.name),
            "path": station_reverse(station, "escorts:sheet", run.sheet.date),
        },
    )
