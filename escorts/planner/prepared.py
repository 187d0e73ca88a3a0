"""Indexes and travel tables shared by the greedy and the optimiser."""

from __future__ import annotations

from dataclasses import dataclass

from escorts.planner.model import Instance, Request, travel_minutes


@dataclass(frozen=True)
class Prepared:
    """An instance with areas and teams numbered and every travel time worked out once.

    `area_travel[a][b]` is between areas a and b, `base_to[t][a]` from team t's base to area a, and
    `to_base[t][a]` from area a to where t's day ends (`Team.home`). Requests whose area is unknown
    are kept apart: no run can cover them.
    """

    instance: Instance
    area_index: dict[str, int]
    area_travel: list[list[int]]
    base_to: list[list[int]]
    to_base: list[list[int]]
    by_area: list[list[Request]]
    orphans: list[Request]


def prepare(instance: Instance) -> Prepared:
    speed = instance.speed_kmph
    areas = instance.areas
    area_index = {a.id: i for i, a in enumerate(areas)}
    area_travel = [
        [travel_minutes(a.lat, a.lon, b.lat, b.lon, speed) for b in areas] for a in areas
    ]
    base_to = [
        [travel_minutes(t.base_lat, t.base_lon, a.lat, a.lon, speed) for a in areas]
        for t in instance.teams
    ]
    # Haversine is symmetric, but the checker measures the way home separately; so do we.
    to_base = [
        [travel_minutes(a.lat, a.lon, *t.home, speed) for a in areas] for t in instance.teams
    ]
    by_area: list[list[Request]] = [[] for _ in areas]
    orphans: list[Request] = []
    for request in instance.requests:
        index = area_index.get(request.area)
        if index is None:
            orphans.append(request)
        else:
            by_area[index].append(request)
    return Prepared(instance, area_index, area_travel, base_to, to_base, by_area, orphans)
