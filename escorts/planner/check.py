"""Feasibility and value of a plan, by the rules of specs/planner.md.

The shared reference checker is the authority; this is the same rules in the planner's own types so
the solver, the tests and the duty-sheet job can check a plan without going through JSON.
"""

from __future__ import annotations

from escorts.planner.model import Instance, Plan, Run, format_hhmm, travel_minutes


class InfeasiblePlan(Exception):
    """A plan breaks a rule of the spec; the message names the first broken rule found."""


def check(instance: Instance, plan: Plan) -> tuple[int, int]:
    """Return (covered_priority, team_minutes); raise InfeasiblePlan on the first broken rule."""
    areas = {a.id: a for a in instance.areas}
    teams = {t.id: t for t in instance.teams}
    requests = {r.id: r for r in instance.requests}
    seen: set[str] = set()
    for rid in plan.unassigned:
        if rid not in requests:
            raise InfeasiblePlan(f"unknown request {rid!r} in unassigned")
        if rid in seen:
            raise InfeasiblePlan(f"request {rid!r} appears twice")
        seen.add(rid)
    by_team: dict[str, list[tuple[int, int, str]]] = {}
    covered = 0
    for i, run in enumerate(plan.runs):
        team = teams.get(run.team)
        if team is None:
            raise InfeasiblePlan(f"run {i}: unknown team {run.team!r}")
        if run.area not in areas:
            raise InfeasiblePlan(f"run {i}: unknown area {run.area!r}")
        if not run.start < run.end:
            raise InfeasiblePlan(
                f"run {i}: start {format_hhmm(run.start)} is not before end {format_hhmm(run.end)}"
            )
        if not 1 <= len(run.requests) <= team.max_agents:
            raise InfeasiblePlan(
                f"run {i}: {len(run.requests)} requests for a team of max_agents {team.max_agents}"
            )
        for rid in run.requests:
            request = requests.get(rid)
            if request is None:
                raise InfeasiblePlan(f"run {i}: unknown request {rid!r}")
            if rid in seen:
                raise InfeasiblePlan(f"request {rid!r} appears twice")
            seen.add(rid)
            if request.area != run.area:
                raise InfeasiblePlan(
                    f"run {i}: request {rid!r} is in area {request.area!r}, not {run.area!r}"
                )
            if run.start > request.start or run.end < request.end:
                raise InfeasiblePlan(
                    f"run {i}: window {format_hhmm(run.start)}-{format_hhmm(run.end)} does not "
                    f"cover request {rid!r} {format_hhmm(request.start)}-{format_hhmm(request.end)}"
                )
            covered += request.priority
        by_team.setdefault(run.team, []).append((run.start, run.end, run.area))
    missing = set(requests) - seen
    if missing:
        raise InfeasiblePlan(f"request {sorted(missing)[0]!r} is neither in a run nor unassigned")
    runs_as_given = {_run_key(run) for run in plan.runs}
    for i, pinned in enumerate(instance.pinned_runs):
        if _run_key(pinned) not in runs_as_given:
            raise InfeasiblePlan(
                f"pinned run {i} ({pinned.team} {pinned.area} {format_hhmm(pinned.start)}-"
                f"{format_hhmm(pinned.end)}) is not in the plan unchanged"
            )
    team_minutes = 0
    for tid, runs in by_team.items():
        team = teams[tid]
        runs.sort(key=lambda run: run[0])
        here_lat, here_lon, free = team.base_lat, team.base_lon, team.shift_start
        for start, end, area_id in runs:
            area = areas[area_id]
            leg = travel_minutes(here_lat, here_lon, area.lat, area.lon, instance.speed_kmph)
            if free + leg > start:
                raise InfeasiblePlan(
                    f"team {tid}: cannot reach {area_id!r} by {format_hhmm(start)}"
                )
            team_minutes += leg + (end - start)
            here_lat, here_lon, free = area.lat, area.lon, end
        leg = travel_minutes(here_lat, here_lon, *team.home, instance.speed_kmph)
        if free + leg > team.shift_end:
            raise InfeasiblePlan(
                f"team {tid}: cannot return to base by {format_hhmm(team.shift_end)}"
            )
        team_minutes += leg
    return covered, team_minutes


def _run_key(run: Run) -> tuple[str, str, int, int, frozenset[str]]:
    # The order riders are listed in is not part of a run.
    return run.team, run.area, run.start, run.end, frozenset(run.requests)
