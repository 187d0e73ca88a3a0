"""Between the database and the pure planner: the one place that turns rows into a planner
instance, a plan back into runs, and checks a hand-edited team day by the planner's rules.

Priorities, the reasons an entry goes uncovered and the travel time all come from here, so the
cut-off job, a rebuild and every edit on the sheet page agree.
"""

from __future__ import annotations

import datetime
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

from django.db.models import Count, Min, QuerySet
from django.utils.translation import gettext as _

from escort_portal.formats import native_digits
from escorts import planner
from escorts.planner.model import Area, Instance, Plan, Request, Run, Team, travel_minutes
from incidents import selectors as incident_selectors
from lenders.models import CashBand, CollectionArea, Roster, RosterEntry
from stations.db import connection

from .models import DutySheet, EscortRun, EscortTeam, RunEntry, TeamOffDuty, UncoveredEntry

logger = logging.getLogger(__name__)

# A rebuild that starts from the sheet it replaces answers within this many seconds: the earlier
# plan already holds most of the day, and the planner only has to mend it (about 2 s at 1000
# entries, measured by `python -m benchmarks.planner.report --tables replanning`).
REPLAN_SECONDS = 2

# Cash band x area risk -> planner priority. The only copy of this table.
PRIORITY: dict[tuple[str, str], int] = {
    (CashBand.UNDER_50K, CollectionArea.Risk.NORMAL): 1,
    (CashBand.UNDER_50K, CollectionArea.Risk.HIGH): 2,
    (CashBand.FROM_50K_TO_1L, CollectionArea.Risk.NORMAL): 2,
    (CashBand.FROM_50K_TO_1L, CollectionArea.Risk.HIGH): 4,
    (CashBand.FROM_1L_TO_2L, CollectionArea.Risk.NORMAL): 4,
    (CashBand.FROM_1L_TO_2L, CollectionArea.Risk.HIGH): 7,
    (CashBand.OVER_2L, CollectionArea.Risk.NORMAL): 6,
    (CashBand.OVER_2L, CollectionArea.Risk.HIGH): 10,
}


def raised_risk_area_ids(date: datetime.date) -> set[int]:
    return incident_selectors.area_ids_at_raised_risk(on=date)


def priority(entry: RosterEntry, *, raised: set[int]) -> int:
    """From the cash band and the area's risk; an area with a recent snatching or attempt
    (`raised`) counts as high risk whatever its recorded level."""
    risk = CollectionArea.Risk.HIGH if entry.area_id in raised else entry.area.risk
    return PRIORITY.get((entry.cash_band, risk), 1)


def minutes(value: datetime.time) -> int:
    return value.hour * 60 + value.minute


def clock(value: int) -> datetime.time:
    # A run may end at 24:00 in the planner's terms; the database keeps 23:59.
    value = min(value, 24 * 60 - 1)
    return datetime.time(value // 60, value % 60)


def _entries_of(date: datetime.date) -> QuerySet[RosterEntry]:
    return RosterEntry.objects.filter(roster__date=date).exclude(roster__status=Roster.Status.DRAFT)


def entries_for_date(date: datetime.date) -> list[RosterEntry]:
    """The entries a sheet for `date` covers: every filed or locked roster's."""
    return list(
        _entries_of(date)
        .select_related("area", "agent", "roster__branch")
        .order_by("depart_at", "pk")
    )


@dataclass(frozen=True)
class DaySize:
    """What the planning queue needs to know of a day before its build: how many entries (the
    budget) and when the first of them leaves (its place in the queue)."""

    entries: int
    first_departure: datetime.time | None


def day_size(date: datetime.date) -> DaySize:
    found = _entries_of(date).aggregate(entries=Count("pk"), first=Min("depart_at"))
    return DaySize(entries=found["entries"], first_departure=found["first"])


# A day gets a second of planning for every this many entries, at least BUDGET_LEAST_SECONDS and
# never more than its station's own budget (`Station.planner_seconds`). Below about 60 entries
# the planner finishes in a fraction of a second whatever its budget; from 200 on its last
# seconds go to the search, which adds a point or two (README, Planner), so at the morning
# cut-off a station of 120 entries does not hold a worker for the ten seconds of one of 400.
BUDGET_ENTRIES_PER_SECOND = 40
BUDGET_LEAST_SECONDS = 2


def budget_seconds(entries: int, *, most: int) -> int:
    fitted = max(BUDGET_LEAST_SECONDS, math.ceil(entries / BUDGET_ENTRIES_PER_SECOND))
    return max(1, min(most, fitted))


# The cut-off's drafts leave the planning queue in the order their first trips start: priority 1
# for a first trip within PRIORITY_BAND_MINUTES, one more for each band after, 9 at most (the
# broker keeps a list per priority; 0 comes first). 0 is a duty officer's rebuild: someone is
# waiting for it on the sheet page.
PRIORITY_BAND_MINUTES = 15
REBUILD_PRIORITY = 0
LAST_PRIORITY = 9


def build_priority(first_departure: datetime.datetime | None, *, now: datetime.datetime) -> int:
    if first_departure is None:
        return LAST_PRIORITY
    bands = int((first_departure - now).total_seconds() // 60 // PRIORITY_BAND_MINUTES)
    return min(LAST_PRIORITY, 1 + max(0, bands))


def teams_on_duty(date: datetime.date) -> list[EscortTeam]:
    off = TeamOffDuty.objects.filter(date=date).values("team_id")
    return list(EscortTeam.objects.filter(active=True).exclude(pk__in=off).order_by("name"))


def team_base(team: EscortTeam) -> tuple[float, float] | None:
    if team.base_latitude is not None and team.base_longitude is not None:
        return float(team.base_latitude), float(team.base_longitude)
    station = connection.tenant
    if station.latitude is not None and station.longitude is not None:
        return float(station.latitude), float(station.longitude)
    return None


def speed_kmph() -> float:
    return float(connection.tenant.default_speed_kmph or 25)


@dataclass
class PlanInput:
    """A planner instance and what was set aside before the planner saw it."""

    instance: Instance
    entries: dict[str, RosterEntry]
    teams: dict[str, EscortTeam]
    areas: dict[str, CollectionArea]
    # entry -> (reason code, detail text)
    set_aside: dict[int, tuple[str, str]] = field(default_factory=dict)
    # The instance's pinned runs, each with the run of the earlier sheet it keeps.
    pinned: dict[Run, EscortRun] = field(default_factory=dict)


def _team_id(team: EscortTeam) -> str:
    return f"t{team.pk}"


def _area_id(area: CollectionArea) -> str:
    return f"a{area.pk}"


def _entry_id(entry: RosterEntry) -> str:
    return f"e{entry.pk}"


def plan_input(date: datetime.date) -> PlanInput:
    """Build the planner instance for `date` from the station's rows."""
    teams: dict[str, EscortTeam] = {}
    planner_teams: list[Team] = []
    for team in teams_on_duty(date):
        base = team_base(team)
        if base is None:
            logger.warning("team %s has no base and the station no location; left out", team.pk)
            continue
        teams[_team_id(team)] = team
        planner_teams.append(
            Team(
                id=_team_id(team),
                base_lat=base[0],
                base_lon=base[1],
                shift_start=minutes(team.shift_start),
                shift_end=minutes(team.shift_end),
                max_agents=team.capacity,
            )
        )
    areas: dict[str, CollectionArea] = {}
    entries: dict[str, RosterEntry] = {}
    requests: list[Request] = []
    set_aside: dict[int, tuple[str, str]] = {}
    raised = raised_risk_area_ids(date)
    for entry in entries_for_date(date):
        start, end = minutes(entry.depart_at), minutes(entry.return_at)
        if not entry.area.has_location:
            reason = UncoveredEntry.Reason.NO_COORDINATES
            set_aside[entry.pk] = (reason, UncoveredEntry.detail_of(reason, entry))
            continue
        if not planner_teams:
            set_aside[entry.pk] = (UncoveredEntry.Reason.NO_TEAM_ON_DUTY, "")
            continue
        if not any(t.shift_start <= start and end <= t.shift_end for t in planner_teams):
            reason = UncoveredEntry.Reason.OUTSIDE_SHIFTS
            set_aside[entry.pk] = (reason, UncoveredEntry.detail_of(reason, entry))
            continue
        areas[_area_id(entry.area)] = entry.area
        entries[_entry_id(entry)] = entry
        requests.append(
            Request(
                id=_entry_id(entry),
                area=_area_id(entry.area),
                start=start,
                end=end,
                priority=priority(entry, raised=raised),
            )
        )
    instance = Instance(
        speed_kmph=speed_kmph(),
        areas=tuple(
            # Only areas with a location get here (`has_location` above).
            Area(id=key, lat=float(area.latitude), lon=float(area.longitude))  # type: ignore[arg-type]
            for key, area in areas.items()
        ),
        teams=tuple(planner_teams),
        requests=tuple(requests),
    )
    return PlanInput(instance, entries, teams, areas, set_aside)


def previous_plan(sheet: DutySheet | None) -> Plan | None:
    """A built sheet's runs in the planner's terms, for a rebuild to start from; None if it has
    none (no sheet, a failed build)."""
    if sheet is None or sheet.build_status not in (DutySheet.Build.DONE, DutySheet.Build.COPIED):
        return None
    runs = [
        Run(
            team=f"t{run.team_id}",
            area=f"a{run.area_id}",
            start=minutes(run.start),
            end=minutes(run.end),
            requests=tuple(f"e{link.entry_id}" for link in run.run_entries.all()),
        )
        for run in sheet.runs.prefetch_related("run_entries").order_by("start", "pk")
    ]
    runs = [run for run in runs if run.requests]
    return Plan(runs=runs, unassigned=[]) if runs else None


def _still_holds(run: EscortRun, data: PlanInput) -> bool:
    """Whether a pinned run can be kept as it is on today's rows: its team still on duty, its
    entries still filed, and its window still covering their trips."""
    if _team_id(run.team) not in data.teams:
        return False
    start, end = minutes(run.start), minutes(run.end)
    for link in run.run_entries.all():
        entry = data.entries.get(f"e{link.entry_id}")
        if entry is None or entry.area_id != run.area_id:
            return False
        if not (start <= minutes(entry.depart_at) and minutes(entry.return_at) <= end):
            return False
    return True


def with_pinned_runs(data: PlanInput, sheet: DutySheet | None) -> PlanInput:
    """`data` with the pinned runs of `sheet` (the version a rebuild replaces) pinned for the
    planner, so the new version keeps them unchanged and the planner plans the rest around them.

    A pinned run that no longer holds (its team off duty, an entry withdrawn or moved, a day the
    team could no longer drive) is left to the planner like any other."""
    if sheet is None:
        return data
    runs = list(
        sheet.runs.filter(pinned=True)
        .select_related("team", "area", "created_by")
        .prefetch_related("run_entries")
        .order_by("start", "pk")
    )
    by_team: dict[int, list[EscortRun]] = {}
    for run in runs:
        if run.run_entries.all() and _still_holds(run, data):
            by_team.setdefault(run.team_id, []).append(run)
        else:
            logger.info("pinned run %s no longer holds; re-planned", run.pk)
    pinned: dict[Run, EscortRun] = {}
    for team_runs in by_team.values():
        team = team_runs[0].team
        slots = [run_slot(run, agents=len(run.run_entries.all())) for run in team_runs]
        if team_day_problems(team, slots):
            logger.info("pinned runs of team %s no longer fit its day; re-planned", team.pk)
            continue
        for run in team_runs:
            planned = Run(
                team=_team_id(team),
                area=_area_id(run.area),
                start=minutes(run.start),
                end=minutes(run.end),
                requests=tuple(f"e{link.entry_id}" for link in run.run_entries.all()),
            )
            pinned[planned] = run
    if not pinned:
        return data
    instance = replace(data.instance, pinned_runs=tuple(pinned))
    return replace(data, instance=instance, pinned=pinned)


def with_taken_off_kept_off(data: PlanInput, sheet: DutySheet | None) -> PlanInput:
    """`data` without the entries the duty officer took off a run of `sheet` (the version a
    rebuild replaces): taking one off is a decision, so they stay off, listed as taken off,
    until the officer puts them on a run again."""
    if sheet is None:
        return data
    taken_off = set(
        UncoveredEntry.objects.filter(
            sheet=sheet, reason=UncoveredEntry.Reason.REMOVED
        ).values_list("entry_id", flat=True)
    )
    kept_off = {key for key, entry in data.entries.items() if entry.pk in taken_off}
    if not kept_off:
        return data
    entries = {key: entry for key, entry in data.entries.items() if key not in kept_off}
    set_aside = dict(data.set_aside)
    for key in kept_off:
        set_aside[data.entries[key].pk] = (UncoveredEntry.Reason.REMOVED, "")
    instance = replace(
        data.instance,
        requests=tuple(request for request in data.instance.requests if request.id in entries),
    )
    return replace(data, instance=instance, entries=entries, set_aside=set_aside)


def solve(instance: Instance, *, seconds: int, seed: int, previous: Plan | None = None) -> Plan:
    """Run the planner; if its plan breaks a rule, fall back to the plain greedy one.

    With the `previous` plan of the date (see `previous_plan`) the planner keeps what of it still
    holds and mends the rest, within `REPLAN_SECONDS`."""
    if not instance.requests:
        return Plan(runs=[], unassigned=[])
    if previous is not None:
        seconds = min(seconds, REPLAN_SECONDS)
    plan = planner.solve(instance, seconds=seconds, seed=seed, previous=previous)
    try:
        planner.check(instance, plan)
    except planner.InfeasiblePlan:
        logger.exception("planner returned an infeasible plan; using the greedy plan")
        plan = planner.greedy(instance)
    return plan


# --- Checking a team's day after a hand edit ---


@dataclass(frozen=True)
class Slot:
    """A run as the rules see it: where and when, and how many agents."""

    area: CollectionArea
    start: int
    end: int
    agents: int

    @property
    def label(self) -> str:
        # Made only for a message: the sheet's advice tries thousands of slots that fit.
        return slot_label(self.area, clock(self.start), clock(self.end))


def _hours(start: datetime.time, end: datetime.time) -> str:
    # The rules' messages and advice are shown on the duty officer's pages only, in the page's
    # numerals; the database and the sheet's JSON keep ASCII times.
    return native_digits(f"{start:%H:%M}-{end:%H:%M}")


def slot_label(area: CollectionArea, start: datetime.time, end: datetime.time) -> str:
    """A run as the rules' messages name it: "Near 10:00-12:00"."""
    return f"{area.display_name} {_hours(start, end)}"


def run_slot(run: EscortRun, *, agents: int | None = None) -> Slot:
    return Slot(
        area=run.area,
        start=minutes(run.start),
        end=minutes(run.end),
        agents=run.run_entries.count() if agents is None else agents,
    )


def team_day_problems(team: EscortTeam, slots: Sequence[Slot]) -> list[str]:
    """Everything wrong with `team` doing these runs in one day, by the planner spec's rules."""
    problems: list[str] = []
    for slot in slots:
        if slot.agents > team.capacity:
            problems.append(
                _("%(team)s escorts at most %(capacity)s agents at once; %(run)s would have %(n)s.")
                % {
                    "team": team,
                    "capacity": native_digits(team.capacity),
                    "run": slot.label,
                    "n": native_digits(slot.agents),
                }
            )
        if not slot.area.has_location:
            problems.append(
                _("%(area)s has no map location, so the team's travel cannot be checked.")
                % {"area": slot.area.display_name}
            )
    if problems:
        return problems
    base = team_base(team)
    if base is None:
        return [_("%(team)s has no base location.") % {"team": team}]
    speed = speed_kmph()
    here, free = base, minutes(team.shift_start)
    previous: Slot | None = None
    for slot in sorted(slots, key=lambda s: (s.start, s.end)):
        # The areas without a location were returned as problems above.
        there = (float(slot.area.latitude), float(slot.area.longitude))  # type: ignore[arg-type]
        leg = travel_minutes(*here, *there, speed)
        if free + leg > slot.start:
            problems.append(
                _("%(team)s cannot reach %(run)s in time: it is %(leg)s minutes from %(previous)s.")
                % {
                    "team": team,
                    "run": slot.label,
                    "leg": native_digits(leg),
                    "previous": _shift_start_label(team) if previous is None else previous.label,
                }
            )
            return problems
        here, free, previous = there, slot.end, slot
    leg = travel_minutes(*here, *base, speed)
    if free + leg > minutes(team.shift_end):
        problems.append(
            _("%(team)s cannot be back at base by the end of its shift (%(time)s).")
            % {"team": team, "time": native_digits(f"{team.shift_end:%H:%M}")}
        )
    return problems


def _shift_start_label(team: EscortTeam) -> str:
    return _("the base at the start of the shift (%(time)s)") % {
        "time": native_digits(f"{team.shift_start:%H:%M}")
    }


@dataclass(frozen=True)
class SheetDay:
    """A sheet's runs as the hand-edit rules read them, loaded in a few queries, so a page can
    ask whether each of many entries would fit anywhere without a query per entry or per try."""

    runs: list[EscortRun]  # with team and area, in the sheet's order
    agents: dict[int, int]  # run -> its number of entries
    run_of: dict[int, int]  # entry -> the run it is on
    teams: list[EscortTeam]  # the active teams
    off_duty: set[int]  # teams off duty on the sheet's date

    def slots(self, team: EscortTeam, *, leaving_out: set[int]) -> list[Slot]:
        """The team's runs, but those in `leaving_out`, as slots."""
        return [
            slot
            for run_pk, slot in self._slots_by_team.get(team.pk, [])
            if run_pk not in leaving_out
        ]

    @cached_property
    def _slots_by_team(self) -> dict[int, list[tuple[int, Slot]]]:
        # Made once: the sheet's advice asks for each team's day once per entry and try.
        by_team: dict[int, list[tuple[int, Slot]]] = {}
        for run in self.runs:
            by_team.setdefault(run.team_id, []).append(
                (run.pk, run_slot(run, agents=self.agents[run.pk]))
            )
        return by_team


def sheet_day(sheet: DutySheet) -> SheetDay:
    runs = list(
        EscortRun.objects.filter(sheet=sheet)
        .select_related("team", "area")
        .annotate(agent_count=Count("run_entries"))
    )
    return SheetDay(
        runs=runs,
        agents={run.pk: run.agent_count for run in runs},
        run_of=dict(RunEntry.objects.filter(sheet=sheet).values_list("entry_id", "run_id")),
        teams=list(EscortTeam.objects.filter(active=True)),
        off_duty=set(TeamOffDuty.objects.filter(date=sheet.date).values_list("team_id", flat=True)),
    )


def window_covers(start: int, end: int, entries: Iterable[RosterEntry]) -> list[str]:
    problems = []
    for entry in entries:
        if start > minutes(entry.depart_at) or end < minutes(entry.return_at):
            problems.append(
                _("The run's window does not cover %(agent)s's trip %(start)s-%(end)s.")
                % {
                    "agent": entry.agent.name,
                    "start": native_digits(f"{entry.depart_at:%H:%M}"),
                    "end": native_digits(f"{entry.return_at:%H:%M}"),
                }
            )
    return problems
