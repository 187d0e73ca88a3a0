"""Reads of the escorts app: the sheet of a date, a team's day, a branch's escorts."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from escort_portal.formats import native_digits
from lenders.models import CollectionArea, LenderBranch, RosterEntry
from stations.models import User
from stations.tenancy import schema_station

from . import watch
from .models import (
    DutySheet,
    EscortRun,
    EscortTeam,
    Officer,
    RunEntry,
    RunEscalation,
    RunWatch,
    TeamOffDuty,
    UncoveredEntry,
)


def officer_list() -> QuerySet[Officer]:
    return Officer.objects.select_related("user")


def team_list() -> QuerySet[EscortTeam]:
    return EscortTeam.objects.select_related("leader").prefetch_related("members")


def area_list_located() -> QuerySet[CollectionArea]:
    """The station's active areas that have a map point, for the live board's map."""
    return CollectionArea.objects.filter(
        status=CollectionArea.Status.ACTIVE, latitude__isnull=False, longitude__isnull=False
    ).order_by("name")


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
    grace = watch.settings_of(schema_station()).start_grace
    groups: dict[int, TeamRuns] = {}
    for run in run_list(sheet=sheet):
        run.overdue = sheet.status == DutySheet.Status.PUBLISHED and run.is_overdue(
            now, date=sheet.date, grace=grace
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
    """Whether the date's cut-off has passed without a sheet, and what is missing. Only today's
    sheet can be late: the cut-off job builds today's, and a day gone by is not built again."""
    from lenders import services as lender_services
    from stations import health

    now = now or timezone.now()
    if date != timezone.localdate(now):
        return None
    cutoff = lender_services.cutoff_at(date)
    if now < cutoff + BUILD_LATE_AFTER or DutySheet.objects.filter(date=date).exists():
        return None
    jobs = health.jobs()
    if not jobs.scheduler_ok:
        return LateBuild(cutoff, "scheduler", jobs.scheduler_last_seen)
    if not jobs.worker_ok:
        return LateBuild(cutoff, "worker", jobs.worker_last_seen)
    return LateBuild(cutoff, "waiting", None)


# --- The watch: the live board, the escort's and the agent's pages ---


@dataclass
class WatchedRun:
    """A run of today with its watch: its state, last position, and the rungs told in its
    current spell."""

    run: EscortRun
    state: watch.RunState
    watch: RunWatch | None
    told: list[RunEscalation]

    @property
    def position_age_minutes(self) -> int | None:
        if self.watch is None or self.watch.located_at is None:
            return None
        return watch.minutes_between(self.watch.located_at, timezone.now())

    @property
    def silent_minutes(self) -> int | None:
        if self.state.last_sign_at is None:
            return None
        return watch.minutes_between(self.state.last_sign_at, timezone.now())


@dataclass
class LiveBoard:
    date: datetime.date
    sheet: DutySheet | None
    runs: list[WatchedRun]
    finished: int
    red: int
    amber: int


BOARD_WATCH_FIELDS = (
    "last_sign_at",
    "last_sign",
    "latitude",
    "longitude",
    "accuracy_m",
    "located_at",
)


def live_board(*, now: datetime.datetime | None = None) -> LiveBoard:
    """Every active run of today's published sheet with its watch, red first, then amber,
    then by start time: a fixed number of queries however many runs there are."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    sheet = sheet_published(date=today)
    if sheet is None:
        return LiveBoard(today, None, [], 0, 0, 0)
    settings = watch.settings_of(schema_station())
    runs = list(
        EscortRun.objects.filter(sheet=sheet)
        .select_related("team__leader", "area", "watch")
        # A busy station has hundreds of runs: only what the board shows is read.
        .only(
            *("pk", "sheet_id", "start", "end", "status", "started_at"),
            *("team__name", "team__leader__name", "team__leader__rank", "team__leader__phone"),
            *("area__name", "area__name_bn"),
            *(f"watch__{name}" for name in BOARD_WATCH_FIELDS),
        )
        .order_by("start", "team__name", "pk")
    )
    told: dict[tuple[int, str], list[RunEscalation]] = {}
    for item in RunEscalation.objects.filter(run__sheet=sheet).order_by("at", "pk"):
        told.setdefault((item.run_id, item.spell), []).append(item)
    rows = []
    finished = 0
    for run in runs:
        state = watch.run_state(
            run=run, sheet=sheet, watch=watch.watch_of(run), settings=settings, now=now
        )
        if not state.watched:
            finished += 1
            continue
        rows.append(
            WatchedRun(run, state, watch.watch_of(run), told.get((run.pk, state.spell), []))
        )
    rows.sort(key=lambda row: (row.state.rank, row.run.start, row.run.team.name, row.run.pk))
    return LiveBoard(
        date=today,
        sheet=sheet,
        runs=rows,
        finished=finished,
        red=sum(1 for row in rows if row.state.stage == watch.RED),
        amber=sum(1 for row in rows if row.state.stage == watch.AMBER),
    )


def run_for_officer(*, officer: Officer, run_pk: int, date: datetime.date) -> EscortRun | None:
    """One run of the officer's team on the sheet in force for `date`, with its sheet and
    watch, in one query: what a check-in or a position needs."""
    return (
        EscortRun.objects.filter(
            pk=run_pk,
            sheet__date=date,
            sheet__status=DutySheet.Status.PUBLISHED,
            team__in=team_list_for_officer(officer=officer),
        )
        .select_related("sheet", "team__leader", "watch")
        .first()
    )


def run_led_by(*, user: User, run_pk: int, date: datetime.date) -> EscortRun | None:
    """One run of the sheet in force for `date` whose team the signed-in `user` leads, with
    its sheet and watch, in one query: the leader's page sends its position once a minute."""
    return (
        EscortRun.objects.filter(
            pk=run_pk,
            sheet__date=date,
            sheet__status=DutySheet.Status.PUBLISHED,
            team__leader__user=user,
            team__leader__active=True,
        )
        .select_related("sheet", "team", "watch")
        .first()
    )


def runs_watched_for_officer(*, officer: Officer, date: datetime.date) -> list[WatchedRun]:
    """The officer's runs of the day as `run_list_for_officer` has them, each with its watch."""
    now = timezone.now()
    settings = watch.settings_of(schema_station())
    runs = list(run_list_for_officer(officer=officer, date=date).select_related("watch", "sheet"))
    return [
        WatchedRun(
            run,
            watch.run_state(
                run=run, sheet=run.sheet, watch=watch.watch_of(run), settings=settings, now=now
            ),
            watch.watch_of(run),
            [],
        )
        for run in runs
    ]


# An escort whose last position is this close to the agent's area is "with you".
WITH_YOU_METRES = 1000


@dataclass(frozen=True)
class EscortWords:
    """What a field agent's trip page says of the escort: words, never the escort's track."""

    text: str
    tone: str  # a Bootstrap colour: success, info, warning, danger, secondary
    last_seen_minutes: int | None = None


def escort_words_for_entry(
    *, entry: RosterEntry, now: datetime.datetime | None = None
) -> EscortWords:
    """The escort of one of today's trips, in words for the agent."""
    now = now or timezone.now()
    sheet = sheet_published(date=entry.roster.date)
    if sheet is None:
        return EscortWords(_("The escort plan for today is not published yet."), "secondary")
    link = (
        RunEntry.objects.filter(sheet=sheet, entry=entry)
        .select_related("run__team__leader", "run__area", "run__watch")
        .first()
    )
    if link is None:
        return EscortWords(
            _("No escort for this trip. Travel with others and keep the station's number at hand."),
            "warning",
        )
    run = link.run
    if link.reached_at is not None:
        return EscortWords(
            _("You reached the deposit point at %(time)s, with the escort.")
            % {"time": native_digits(f"{timezone.localtime(link.reached_at):%H:%M}")},
            "success",
        )
    meet_at, place = agent_meeting(run=run, entry=entry)
    state = watch.run_state(
        run=run,
        sheet=sheet,
        watch=watch.watch_of(run),
        settings=watch.settings_of(schema_station()),
        now=now,
    )
    if run.status == EscortRun.Status.COMPLETED:
        return EscortWords(_("The escort has finished this run."), "secondary")
    if run.status in EscortRun.WAITING:
        if state.stage == watch.RED:
            return EscortWords(
                _(
                    "The escort has not started yet. The station has been told; call it if "
                    "you are waiting."
                ),
                "danger",
            )
        words = (
            _("Escort confirmed: %(team)s meets you at %(time)s at %(place)s.")
            if run.status == EscortRun.Status.ACKNOWLEDGED
            else _("Escort planned: %(team)s meets you at %(time)s at %(place)s.")
        )
        shown = {"team": run.team.name, "time": native_digits(f"{meet_at:%H:%M}"), "place": place}
        return EscortWords(words % shown, "info")
    if run.status != EscortRun.Status.STARTED:
        return EscortWords(_("No escort for this trip today."), "secondary")
    silent = watch.minutes_between(state.last_sign_at, now) if state.last_sign_at else None
    if state.stage in (watch.AMBER, watch.RED):
        return EscortWords(
            _("Escort last seen %(minutes)s min ago. The station has been told.")
            % {"minutes": native_digits(silent or 0)},
            "danger" if state.stage == watch.RED else "warning",
            silent,
        )
    kept = watch.watch_of(run)
    near = (
        kept is not None
        and kept.has_position
        and entry.area.has_location
        and watch.metres_between(
            (kept.latitude, kept.longitude), (entry.area.latitude, entry.area.longitude)
        )
        <= WITH_YOU_METRES
    )
    if near:
        return EscortWords(_("Escort with you."), "success", silent)
    return EscortWords(_("Escort on the way."), "info", silent)
