"""The plain greedy baseline: highest priority first, join an existing run or open one."""

from __future__ import annotations

from collections.abc import Callable

from escorts.planner.model import Instance, Plan
from escorts.planner.pinned import around_pinned
from escorts.planner.prepared import prepare
from escorts.planner.schedule import DraftRun, days_to_plan, insert_requests


def greedy(instance: Instance, *, out_of_time: Callable[[], bool] | None = None) -> Plan:
    """Take requests by priority (then start, then id) and give each the cheapest place it fits.

    Once `out_of_time()` says so, the requests not yet placed are left out (see `insert_requests`).
    """
    if instance.pinned_runs:
        rest, restore, _ = around_pinned(instance)
        return restore(greedy(rest, out_of_time=out_of_time))
    prep = prepare(instance)
    days: list[list[DraftRun]] = [[] for _ in instance.teams]
    order = sorted(instance.requests, key=lambda r: (-r.priority, r.start, r.id))
    insert_requests(prep, days, order, out_of_time=out_of_time)
    return days_to_plan(prep, days)
