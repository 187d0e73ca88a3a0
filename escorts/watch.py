"""The watch over today's runs: the rules that say when a run is amber or red, and who on the
station's ladder hears of it. Pure: it reads the run, its `RunWatch` row and the station's
settings as they are handed in, and writes nothing, so the minute job that escalates, the
duty officer's live board, the escort's page, the agent's page and the dashboard's figures all
agree.

- A started run is silent from its last sign of life (its start, a check-in, a position or a
  status change): amber after the station's check-in interval, red the amber-to-red gap later.
  Any sign of life starts a new spell, so red never becomes normal: it is either answered or
  escalated.
- A run not acknowledged by the acknowledge lead before its start is amber; a run not started
  by the start grace after its start is red. Both belong to one spell (the wait before the
  start), so a rung told that the run was not acknowledged is not told again that it has not
  started.
- Reaching a stage tells every rung of the ladder set to that stage or an earlier one that has
  not heard in this spell, lowest rung first.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, replace

from django.utils import timezone

from stations.models import Stage, Station

from .models import DutySheet, EscortRun, RunEscalation, RunWatch

OK = "ok"
AMBER = Stage.AMBER.value
RED = Stage.RED.value
# The order stages are reached in; a rung set to a stage hears once the run reaches it.
_ORDER = {OK: 0, AMBER: 1, RED: 2}

# Ladder field of `Station` -> the rung's name in `RunEscalation`.
RUNGS = {f"ladder_{rung.value}": rung.value for rung in RunEscalation.Rung}


@dataclass(frozen=True)
class WatchSettings:
    check_in: datetime.timedelta
    amber_to_red: datetime.timedelta
    acknowledge_lead: datetime.timedelta
    start_grace: datetime.timedelta
    # (rung, stage that reaches it), lowest rung first, rungs set to "never" left out.
    ladder: tuple[tuple[str, str], ...]


def settings_of(station: Station) -> WatchSettings:
    return WatchSettings(
        check_in=datetime.timedelta(minutes=station.check_in_minutes),
        amber_to_red=datetime.timedelta(minutes=station.amber_to_red_minutes),
        acknowledge_lead=datetime.timedelta(minutes=station.acknowledge_lead_minutes),
        start_grace=datetime.timedelta(minutes=station.start_grace_minutes),
        ladder=tuple((RUNGS[name], stage) for name, stage in station.ladder),
    )


@dataclass(frozen=True)
class RunState:
    """Where a run of today stands. `stage` is "" for a run nobody watches (not on today's
    published sheet, completed, missed)."""

    stage: str
    reason: str = ""  # RunEscalation.Reason
    # The stretch the state belongs to: one per silence, one for the wait before the start.
    spell: str = ""
    # When the reason began (the last sign of life; the acknowledge-by time; the start).
    since: datetime.datetime | None = None
    # When the clock alone next changes the state; None when nothing more can happen.
    next_at: datetime.datetime | None = None
    # A started run: when its next check-in is due (it turns amber then).
    check_in_by: datetime.datetime | None = None
    last_sign_at: datetime.datetime | None = None

    @property
    def watched(self) -> bool:
        return bool(self.stage)

    @property
    def rank(self) -> int:
        """Red first, then amber, then the rest, for lists of runs."""
        return -_ORDER.get(self.stage, -1)


def watch_of(run: EscortRun) -> RunWatch | None:
    """The run's watch row as loaded with it (`select_related("watch")`), or None."""
    try:
        return run.watch
    except RunWatch.DoesNotExist:
        return None


def run_start_at(run: EscortRun, date: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(date, run.start))


def run_state(
    *,
    run: EscortRun,
    sheet: DutySheet,
    watch: RunWatch | None,
    settings: WatchSettings,
    now: datetime.datetime,
) -> RunState:
    """The run's state at `now` (see the module's rules). `sheet` is the run's sheet and
    `watch` its watch row, if any, both as the caller has them, to keep lists of runs to a
    fixed number of queries."""
    if sheet.status != DutySheet.Status.PUBLISHED or sheet.date != timezone.localdate(now):
        return RunState(stage="")
    start_at = run_start_at(run, sheet.date)
    last_sign = watch.last_sign_at if watch is not None else None
    if run.status == EscortRun.Status.STARTED:
        # A run marked started without a time (an old row) is silent from its start.
        begun = run.started_at or start_at
        since = max(begun, last_sign) if last_sign else begun
        amber_at = since + settings.check_in
        red_at = amber_at + settings.amber_to_red
        silent = replace(
            RunState(stage=OK),
            spell=f"silent:{int(since.timestamp())}",
            since=since,
            check_in_by=amber_at,
            last_sign_at=since,
        )
        if now >= red_at:
            return replace(silent, stage=RED, reason=RunEscalation.Reason.SILENT)
        if now >= amber_at:
            return replace(silent, stage=AMBER, reason=RunEscalation.Reason.SILENT, next_at=red_at)
        return replace(silent, next_at=amber_at)
    if run.status not in EscortRun.WAITING:
        return RunState(stage="")
    not_started_at = start_at + settings.start_grace
    acknowledge_by = start_at - settings.acknowledge_lead
    waiting = RunState(stage=OK, spell="start", last_sign_at=last_sign)
    if now >= not_started_at:
        return replace(waiting, stage=RED, reason=RunEscalation.Reason.NOT_STARTED, since=start_at)
    if run.status == EscortRun.Status.PLANNED and now >= acknowledge_by:
        return replace(
            waiting,
            stage=AMBER,
            reason=RunEscalation.Reason.NOT_ACKNOWLEDGED,
            since=acknowledge_by,
            next_at=not_started_at,
        )
    next_at = acknowledge_by if run.status == EscortRun.Status.PLANNED else not_started_at
    return replace(waiting, next_at=next_at)


def rungs_due(state: RunState, settings: WatchSettings, told: set[str]) -> list[tuple[str, str]]:
    """The rungs (with their stage) that `state` reaches and that have not been told in its
    spell, lowest first."""
    if state.stage not in (AMBER, RED):
        return []
    reached = _ORDER[state.stage]
    return [
        (rung, stage)
        for rung, stage in settings.ladder
        if _ORDER[stage] <= reached and rung not in told
    ]


def minutes_between(earlier: datetime.datetime, later: datetime.datetime) -> int:
    """Whole minutes from `earlier` to `later` (never below zero), as people count them."""
    return max(0, math.floor((later - earlier).total_seconds() / 60))


EARTH_RADIUS_M = 6_371_000


def metres_between(a: tuple[object, object], b: tuple[object, object]) -> float:
    """The great-circle distance between two (latitude, longitude) points, in metres."""
    lat1, lon1, lat2, lon2 = (math.radians(float(str(v))) for v in (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))
