"""Planning around pinned runs: the free time of pinned teams as teams of their own.

A team with pinned runs is free before its first one, between each two and after its last. Each
such stretch becomes a team of its own for the planner: it starts where the stretch starts (the
team's base at the start of its shift, or a pinned run's area at that run's end) and must end where
the stretch ends (the next pinned run's area by its start, or the base by the end of the shift).
Whatever the planner gives those stand-ins goes back to the team, next to its pinned runs, so
every travel rule holds across the join, and the pinned requests are never offered to anyone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from escorts.planner.model import Instance, Plan, Run, Team, format_hhmm, travel_minutes

# Between a team's id and a stretch number, in the stand-ins' ids: no id read from JSON has it.
SEPARATOR = "\x1f"


def around_pinned(
    instance: Instance,
) -> tuple[Instance, Callable[[Plan], Plan], Callable[[Plan], Plan]]:
    """The instance left to plan once the pinned runs are fixed, and the ways between their plans.

    The instance left has no pinned runs, no pinned requests, and the pinned teams' free stretches
    in place of those teams; `restore` turns a plan of it into a plan of the whole instance, and
    `carry` a plan of the whole instance (an earlier one, say) into runs of the instance left: a
    pinned team's run goes to the stand-in whose stretch holds it, and pinned requests come out.
    Raises ValueError if a team cannot drive its own pinned runs: no plan could then be feasible.
    """
    if not instance.pinned_runs:
        return instance, lambda plan: plan, lambda plan: plan
    areas = {a.id: a for a in instance.areas}
    pinned_by_team: dict[str, list[Run]] = {}
    for run in instance.pinned_runs:
        pinned_by_team.setdefault(run.team, []).append(run)
    teams: list[Team] = []
    owner: dict[str, str] = {}
    stretches: dict[str, list[tuple[int, int, str]]] = {}
    for team in instance.teams:
        runs = sorted(pinned_by_team.get(team.id, []), key=lambda run: run.start)
        if not runs:
            teams.append(team)
            continue
        starts = [(team.base_lat, team.base_lon, team.shift_start)] + [
            (areas[run.area].lat, areas[run.area].lon, run.end) for run in runs
        ]
        ends = [(areas[run.area].lat, areas[run.area].lon, run.start) for run in runs] + [
            (*team.home, team.shift_end)
        ]
        for k, ((lat, lon, free), (end_lat, end_lon, due)) in enumerate(
            zip(starts, ends, strict=True)
        ):
            if free + travel_minutes(lat, lon, end_lat, end_lon, instance.speed_kmph) > due:
                raise ValueError(
                    f"team {team.id!r} cannot drive its pinned runs: it cannot get from one "
                    f"to the next by {format_hhmm(due)}"
                )
            if free >= due:
                continue
            stand_in = f"{team.id}{SEPARATOR}{k}"
            owner[stand_in] = team.id
            stretches.setdefault(team.id, []).append((free, due, stand_in))
            teams.append(replace(
                team, id=stand_in, base_lat=lat, base_lon=lon, shift_start=free, shift_end=due,
                end_lat=end_lat, end_lon=end_lon,
            ))  # fmt: skip
    pinned_ids = {rid for run in instance.pinned_runs for rid in run.requests}
    rest = replace(
        instance,
        teams=tuple(teams),
        requests=tuple(r for r in instance.requests if r.id not in pinned_ids),
        pinned_runs=(),
    )

    def restore(plan: Plan) -> Plan:
        runs = list(instance.pinned_runs) + [
            replace(run, team=owner.get(run.team, run.team)) for run in plan.runs
        ]
        placed = {rid for run in runs for rid in run.requests}
        return Plan(runs, [r.id for r in instance.requests if r.id not in placed])

    def carry(plan: Plan) -> Plan:
        runs = []
        for run in plan.runs:
            riders = tuple(rid for rid in run.requests if rid not in pinned_ids)
            if not riders:
                continue
            if run.team not in stretches:
                runs.append(replace(run, requests=riders))
                continue
            for free, due, stand_in in stretches[run.team]:
                if free <= run.start and run.end <= due:
                    runs.append(replace(run, team=stand_in, requests=riders))
        placed = {rid for run in runs for rid in run.requests}
        return Plan(runs, [r.id for r in rest.requests if r.id not in placed])

    return rest, restore, carry
