"""Reads of the escorts app: the sheet of a date, a team's day, a branch's escorts."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from lenders.models import LenderBranch, RosterEntry
from stations.models import User

from .models import DutySheet, EscortRun, EscortTeam, Officer, RunEntry, TeamOffDuty, UncoveredEntry


def officer_list() -> QuerySet[Officer]:
    return Officer.objects.select_related("user")


def team_list() -> QuerySet[EscortTeam]:
    return EscortTeam.objects.select_related("leader").prefetch_related("members")


def team_list_off_duty(*, date: datetime.date) -> QuerySet[TeamOffDuty]:
    return TeamOffDuty.objects.filter(date=date).select_related("team")


def sheet_list_for_date(*, date: datetime.date) -> QuerySet[DutySheet]:
    return DutySheet.objects.filter(date=date).select_related(
        "created_by", "published_by", "updated_by"
    )


def sheet_latest(*, date: datetime.date) -> DutySheet | None:
    """The newest version for the date: the one the duty officer works on."""
    return sheet_list_for_date(date=date).order_by("-version").first()


def sheet_published(*, date: datetime.date) -> DutySheet | None:
    """The version in force: the one branches and escorts see."""
    return sheet_list_for_date(date=date).filter(status=DutySheet.Status.PUBLISHED).first()


def run_list(*, sheet: DutySheet) -> QuerySet[EscortRun]:
    entries = RunEntry.objects.select_related(
        "entry__agent", "entry__area", "entry__roster__branch"
    ).order_by("entry__depart_at", "entry__pk")
    return (
        EscortRun.objects.filter(sheet=sheet)
        .select_related("team__leader", "area", "status_changed_by", "updated_by")
        .prefetch_related(Prefetch("run_entries", queryset=entries))
        .order_by("team__name", "start", "pk")
    )


@dataclass
class RebuildPreview:
    """What a rebuild of the date would do to its latest version: keep the pinned runs, and
    replace the rest with a fresh plan."""

    sheet: DutySheet | None
    kept: list[EscortRun]
    replaced: list[EscortRun]


def rebuild_preview(*, date: datetime.date) -> RebuildPreview:
    sheet = sheet_latest(date=date)
    if sheet is None:
        return RebuildPreview(sheet=None, kept=[], replaced=[])
    runs = list(run_list(sheet=sheet))
    return RebuildPreview(
        sheet=sheet,
        kept=[run for run in runs if run.pinned],
        replaced=[run for run in runs if not run.pinned],
    )


def uncovered_list(*, sheet: DutySheet) -> QuerySet[UncoveredEntry]:
    return UncoveredEntry.objects.filter(sheet=sheet).select_related(
        "entry__agent", "entry__area", "entry__roster__branch"
    )


@dataclass
class TeamRuns:
    team: EscortTeam
    runs: list[EscortRun]
    agents: int


def sheet_grouped(*, sheet: DutySheet) -> list[TeamRuns]:
    """Runs grouped by team, each run marked `overdue` when it should have started by now."""
    now = timezone.now()
    groups: dict[int, TeamRuns] = {}
    for run in run_list(sheet=sheet):
        run.overdue = sheet.status == DutySheet.Status.PUBLISHED and run.is_overdue(
            now, date=sheet.date
        )
        group = groups.setdefault(run.team_id, TeamRuns(run.team, [], 0))
        group.runs.append(run)
        group.agents += len(run.run_entries.all())
    return list(groups.values())


def officer_for_user(*, user: User) -> Officer | None:
    if not user.is_authenticated:
        return None
    return Officer.objects.filter(user=user, active=True).first()


def team_list_for_officer(*, officer: Officer) -> QuerySet[EscortTeam]:
    return EscortTeam.objects.filter(Q(leader=officer) | Q(members=officer)).distinct()


def run_list_for_officer(*, officer: Officer, date: datetime.date) -> QuerySet[EscortRun]:
    """The officer's own team's runs on the sheet in force for `date`."""
    sheet = sheet_published(date=date)
    if sheet is None:
        return EscortRun.objects.none()
    return run_list(sheet=sheet).filter(team__in=team_list_for_officer(officer=officer))


def agent_meeting(*, run: EscortRun, entry: RosterEntry) -> tuple[datetime.time, str]:
    """When and where this agent meets the escort: the agent's own departure (the run may
    start earlier for others), at the run's meeting point or else the agent's own area."""
    meet_at = max(run.start, entry.depart_at)
    return meet_at, run.meeting_point or entry.area.display_name


@dataclass
class BranchEscort:
    entry: RosterEntry
    run: EscortRun | None
    uncovered: UncoveredEntry | None

    @property
    def meeting(self) -> tuple[datetime.time, str] | None:
        return agent_meeting(run=self.run, entry=self.entry) if self.run else None


def branch_escorts(*, branch: LenderBranch, date: datetime.date) -> tuple[DutySheet | None, list]:
    """Per entry of the branch's own roster: its run on the published sheet, if any."""
    entries = list(
        RosterEntry.objects.filter(roster__branch=branch, roster__date=date)
        .select_related("agent", "area")
        .order_by("depart_at", "pk")
    )
    sheet = sheet_published(date=date)
    runs: dict[int, EscortRun] = {}
    uncovered: dict[int, UncoveredEntry] = {}
    if sheet is not None:
        ids = [e.pk for e in entries]
        for link in RunEntry.objects.filter(sheet=sheet, entry_id__in=ids).select_related(
            "run__team__leader", "run__area"
        ):
            runs[link.entry_id] = link.run
        for item in UncoveredEntry.objects.filter(sheet=sheet, entry_id__in=ids):
            uncovered[item.entry_id] = item
    return sheet, [BranchEscort(e, runs.get(e.pk), uncovered.get(e.pk)) for e in entries]


# The minute job builds the sheet within a minute or two of the cut-off; past this it is late.
BUILD_LATE_AFTER = datetime.timedelta(minutes=3)


@dataclass(frozen=True)
class LateBuild:
    """Why a date's sheet is not there although its cut-off has passed."""

    cutoff: datetime.datetime
    # "scheduler": beat has sent no job lately; "worker": beat runs but no worker took its
    # jobs; "waiting": both seen, the build is just slow to start.
    reason: str
    last_seen: datetime.datetime | None


def sheet_build_late(
    *, date: datetime.date, now: datetime.datetime | None = None
) -> LateBuild | None:
    """Whether the date's cut-off has passed without a sheet, and what is missing."""
    from lenders import services as lender_services
    from stations import health

    now = now or timezone.now()
    cutoff = lender_services.cutoff_at(date)
    if now < cutoff + BUILD_LATE_AFTER or DutySheet.objects.filter(date=date).exists():
        return None
    jobs = health.jobs()
    if not jobs.scheduler_ok:
        return LateBuild(cutoff, "scheduler", jobs.scheduler_last_seen)
    if not jobs.worker_ok:
        return LateBuild(cutoff, "worker", jobs.worker_last_seen)
    return LateBuild(cutoff, "waiting", None)
