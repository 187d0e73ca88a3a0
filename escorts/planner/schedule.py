"""Team days under construction: runs that can be widened, joined and opened one request at a time.

The greedy baseline builds a plan from nothing with this; the optimiser uses it to top up its plan
with whatever requests it left out.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from escorts.planner.model import Plan, Request, Run
from escorts.planner.prepared import Prepared


@dataclass
class DraftRun:
    start: int
    end: int
    area: int
    requests: list[Request] = field(default_factory=list)


def _fits(prep: Prepared, team: int, runs: list[DraftRun], pos: int, new: DraftRun) -> bool:
    """Can `new` sit between runs[pos - 1] and runs[pos] of the team, travel included?"""
    t = prep.instance.teams[team]
    if pos == 0:
        ready = t.shift_start + prep.base_to[team][new.area]
    else:
        before = runs[pos - 1]
        ready = before.end + prep.area_travel[before.area][new.area]
    if ready > new.start:
        return False
    if pos == len(runs):
        return new.end + prep.to_base[team][new.area] <= t.shift_end
    after = runs[pos]
    return new.end + prep.area_travel[new.area][after.area] <= after.start


def _added_minutes(prep: Prepared, team: int, runs: list[DraftRun], pos: int, new: DraftRun) -> int:
    """Team minutes a new run adds: its length plus the detour it puts into the day's driving."""
    come = prep.base_to[team] if pos == 0 else prep.area_travel[runs[pos - 1].area]
    if pos < len(runs):
        nxt = runs[pos].area
        leave, old = prep.area_travel[new.area][nxt], come[nxt]
    else:
        leave = prep.to_base[team][new.area]
        old = prep.to_base[team][runs[pos - 1].area] if runs else 0
    return (new.end - new.start) + come[new.area] + leave - old


def place(prep: Prepared, days: list[list[DraftRun]], team: int, run: DraftRun) -> bool:
    """Put `run` into the team's day in time order if it can be driven there; whether it was."""
    day = days[team]
    pos = bisect.bisect_left([other.start for other in day], run.start)
    fits = 0 < len(run.requests) <= prep.instance.teams[team].max_agents and _fits(
        prep, team, day, pos, run
    )
    if fits:
        day.insert(pos, run)
    return fits


def insert_requests(
    prep: Prepared,
    days: list[list[DraftRun]],
    requests: Iterable[Request],
    *,
    out_of_time: Callable[[], bool] | None = None,
) -> None:
    """Place each request, in the order given, where it costs fewest team minutes, if anywhere.

    A request joins a run of its area that has room and can widen to cover it; failing that, it
    opens a run on the team whose day it lengthens least; failing that, it stays out. Once
    `out_of_time()` says so, the requests not yet placed stay out, so a plan is ready on time even
    for a very large day on a busy machine.
    """
    teams = prep.instance.teams
    # A team can open a run only if it can reach the area after its shift starts and get home
    # before it ends: a test on whole numbers that rules most teams out before any list is read.
    reach = [
        (t.max_agents >= 1, t.shift_start, t.shift_end, prep.base_to[i], prep.to_base[i])
        for i, t in enumerate(teams)
    ]
    for n, request in enumerate(requests):
        if out_of_time is not None and n % 64 == 63 and out_of_time():
            return
        area = prep.area_index.get(request.area)
        if area is None:
            continue
        best: tuple[int, int, int, DraftRun | None] | None = None  # (minutes, team, pos, run)
        for team, runs in enumerate(days):
            for pos, run in enumerate(runs):
                if run.area != area or len(run.requests) >= teams[team].max_agents:
                    continue
                wider = DraftRun(min(run.start, request.start), max(run.end, request.end), area)
                extra = (wider.end - wider.start) - (run.end - run.start)
                if best is not None and extra >= best[0]:
                    continue
                if _fits(prep, team, runs[:pos] + runs[pos + 1 :], pos, wider):
                    best = (extra, team, pos, run)
        if best is None:
            new = DraftRun(request.start, request.end, area)
            for team, runs in enumerate(days):
                staffed, shift_start, shift_end, out, back = reach[team]
                if (
                    not staffed
                    or shift_start + out[area] > request.start
                    or request.end + back[area] > shift_end
                ):
                    continue
                pos = bisect.bisect_left([run.start for run in runs], new.start)
                extra = _added_minutes(prep, team, runs, pos, new)
                if (best is None or extra < best[0]) and _fits(prep, team, runs, pos, new):
                    best = (extra, team, pos, None)
        if best is None:
            continue
        _, team, pos, joined = best
        if joined is None:
            joined = DraftRun(request.start, request.end, area)
            days[team].insert(pos, joined)
        joined.start = min(joined.start, request.start)
        joined.end = max(joined.end, request.end)
        joined.requests.append(request)


def days_to_plan(prep: Prepared, days: list[list[DraftRun]]) -> Plan:
    instance = prep.instance
    runs: list[Run] = []
    placed: set[str] = set()
    for team, day in enumerate(days):
        for run in day:
            if not run.requests:
                continue
            ids = tuple(r.id for r in run.requests)
            placed.update(ids)
            runs.append(
                Run(instance.teams[team].id, instance.areas[run.area].id, run.start, run.end, ids)
            )
    unassigned = [r.id for r in instance.requests if r.id not in placed]
    return Plan(runs=runs, unassigned=unassigned)
