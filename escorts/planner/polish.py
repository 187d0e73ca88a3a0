"""Finishing touches that never lower a plan's covered priority and never break a team's day."""

from __future__ import annotations

from ortools.graph.python import min_cost_flow

from escorts.planner.model import Request
from escorts.planner.prepared import Prepared
from escorts.planner.schedule import DraftRun


def reassign(prep: Prepared, days: list[list[DraftRun]]) -> None:
    """Refill every run, windows held where they are, with the best requests it could carry.

    With windows fixed, choosing who rides with whom is a maximum-weight assignment (each request to
    at most one run that covers its window, each run up to its team's size), solved exactly as a
    min-cost flow. Runs left with nothing are dropped and the rest shrink to their requests.
    """
    requests = [r for group in prep.by_area for r in group]
    runs = [(team, run) for team, day in enumerate(days) for run in day]
    if not requests or not runs:
        return
    flow = min_cost_flow.SimpleMinCostFlow()
    source, sink = 0, 1 + len(requests) + len(runs)
    by_area: dict[int, list[int]] = {}
    for j, (_, run) in enumerate(runs):
        by_area.setdefault(run.area, []).append(j)
    ride_arcs: list[tuple[int, int, int]] = []
    for i, request in enumerate(requests):
        flow.add_arc_with_capacity_and_unit_cost(source, 1 + i, 1, 0)
        flow.add_arc_with_capacity_and_unit_cost(1 + i, sink, 1, 0)  # stays out
        for j in by_area.get(prep.area_index[request.area], []):
            run = runs[j][1]
            if run.start <= request.start and request.end <= run.end:
                arc = flow.add_arc_with_capacity_and_unit_cost(
                    1 + i, 1 + len(requests) + j, 1, -request.priority
                )
                ride_arcs.append((arc, i, j))
    for j, (team, _) in enumerate(runs):
        capacity = prep.instance.teams[team].max_agents
        flow.add_arc_with_capacity_and_unit_cost(1 + len(requests) + j, sink, capacity, 0)
    flow.set_node_supply(source, len(requests))
    flow.set_node_supply(sink, -len(requests))
    if flow.solve() != flow.OPTIMAL:
        return
    riders: list[list[Request]] = [[] for _ in runs]
    for arc, i, j in ride_arcs:
        if flow.flow(arc):
            riders[j].append(requests[i])
    for (_, run), chosen in zip(runs, riders, strict=True):
        run.requests = chosen
        if chosen:
            run.start = min(r.start for r in chosen)
            run.end = max(r.end for r in chosen)
    for day in days:
        day[:] = [run for run in day if run.requests]


def split_gaps(days: list[list[DraftRun]]) -> None:
    """Cut runs whose requests leave a gap into back-to-back runs of the same area.

    The team stays put, so no travel is added, the waiting in the gap stops counting as team time,
    and each piece has fewer riders than the whole.
    """
    for day in days:
        pieces: list[DraftRun] = []
        for run in day:
            riders = sorted(run.requests, key=lambda r: (r.start, r.end, r.id))
            current: DraftRun | None = None
            for request in riders:
                if current is None or request.start >= current.end:
                    current = DraftRun(request.start, request.end, run.area, [])
                    pieces.append(current)
                current.end = max(current.end, request.end)
                current.requests.append(request)
        day[:] = pieces
