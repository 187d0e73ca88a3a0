"""Starting from an earlier plan: what of it still holds after the day's edits.

A rebuild after a few edits (entries pinned, a team off duty, late or changed entries) should not
throw away a good plan. The earlier plan's runs are kept wherever they still can be: each keeps
the riders that are still in the instance and in its area, its window shrinks or widens to them,
and it stays on its team's day if the team is still on duty and can still drive it there.
"""

from __future__ import annotations

from escorts.planner.model import Plan
from escorts.planner.prepared import Prepared
from escorts.planner.schedule import DraftRun, place


def kept_days(prep: Prepared, previous: Plan) -> list[list[DraftRun]]:
    """The earlier plan's runs that still hold, as team days (earlier runs win a clash)."""
    instance = prep.instance
    team_index = {t.id: i for i, t in enumerate(instance.teams)}
    requests = {r.id: r for r in instance.requests}
    days: list[list[DraftRun]] = [[] for _ in instance.teams]
    taken: set[str] = set()
    for run in sorted(previous.runs, key=lambda run: (run.start, run.end, run.team)):
        team, area = team_index.get(run.team), prep.area_index.get(run.area)
        if team is None or area is None:
            continue
        riders = [
            requests[rid]
            for rid in run.requests
            if rid in requests and rid not in taken and requests[rid].area == run.area
        ]
        # A team made smaller keeps the riders that count most.
        riders.sort(key=lambda r: (-r.priority, r.start, r.id))
        riders = riders[: instance.teams[team].max_agents]
        if not riders:
            continue
        draft = DraftRun(min(r.start for r in riders), max(r.end for r in riders), area, riders)
        if place(prep, days, team, draft):
            taken.update(r.id for r in riders)
    return days
