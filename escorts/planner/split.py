"""A very large day in parts: areas grouped by direction from the teams' base, teams shared out.

The relaxation's work grows much faster than the day: at 3,000 entries it needs over two minutes of
CPU to converge, at 750 entries about two seconds. So a day too large to relax whole within its
budget is planned as a few parts of about `PART_ENTRIES` entries each, one after the other. A part
is a sector of areas around the teams' base (teams leave from the station, so neighbouring areas
trade teams most), cut so that each part holds a like share of the day's priority; the teams are
dealt out in the same shares, each kind of team (shift and size) spread over the parts as evenly
as its numbers allow. The parts' plans together are a plan of the whole day, which the optimiser
then tops up across the parts and improves as usual; their duals are where the whole day's bound
starts from (any duals give one, see `optimise._subgradient`).
"""

from __future__ import annotations

import math
from dataclasses import replace

from escorts.planner.model import Instance

# Days of fewer entries are planned whole: at 1,000 entries the whole relaxation converges in about
# 5 CPU seconds, and two parts ended lower (95.3% of the bound against 98.2% in 10 s, tuning seed).
# At 1,500 entries, in parts: 85.3% against 76.8% in 10 s.
SPLIT_FROM = 1500
# Entries per part. A part this size relaxes in about 2 CPU seconds; a day of 3,000 entries whole
# needs over 160.
PART_ENTRIES = 750


def parts_of(instance: Instance) -> list[Instance]:
    """The instance cut into parts of about `PART_ENTRIES` entries; one part below `SPLIT_FROM`.

    Every request and every team is in exactly one part; requests of areas no team can serve stay
    with their area's part (the optimiser leaves them out as ever).
    """
    if len(instance.requests) < SPLIT_FROM:
        return [instance]
    count = min(len(instance.teams), math.ceil(len(instance.requests) / PART_ENTRIES))
    if count <= 1 or not instance.areas:
        return [instance]
    base_lat = sum(t.base_lat for t in instance.teams) / len(instance.teams)
    base_lon = sum(t.base_lon for t in instance.teams) / len(instance.teams)
    weight = {a.id: 0 for a in instance.areas}
    for request in instance.requests:
        if request.area in weight:
            weight[request.area] += request.priority
    total = sum(weight.values()) or 1
    # Around the base by bearing, starting from the widest gap between two areas so that no part
    # straddles it.
    bearing = {
        a.id: math.atan2(a.lat - base_lat, (a.lon - base_lon) * math.cos(math.radians(base_lat)))
        for a in instance.areas
    }
    around = sorted(instance.areas, key=lambda a: (bearing[a.id], a.id))
    gaps = [
        (bearing[around[(i + 1) % len(around)].id] - bearing[a.id]) % (2 * math.pi)
        for i, a in enumerate(around)
    ]
    first = (max(range(len(around)), key=lambda i: (gaps[i], -i)) + 1) % len(around)
    around = around[first:] + around[:first]
    sectors = _sectors([weight[a.id] for a in around], count)
    area_part = {a.id: part for a, part in zip(around, sectors, strict=True)}
    share = [0.0] * count
    for area_id, part in area_part.items():
        share[part] += weight[area_id] / total
    # Teams by kind, then dealt to the part furthest below its share of the teams dealt so far.
    teams = sorted(
        instance.teams,
        key=lambda t: (t.shift_start, t.shift_end, t.max_agents, t.base_lat, t.base_lon, t.id),
    )
    dealt: list[list[int]] = [[] for _ in range(count)]
    for n, team in enumerate(teams, start=1):
        part = max(range(count), key=lambda p: (share[p] * n - len(dealt[p]), -p))
        dealt[part].append(instance.teams.index(team))
    parts = []
    for p in range(count):
        areas = {a for a, q in area_part.items() if q == p}
        members = set(dealt[p])
        parts.append(
            replace(
                instance,
                areas=tuple(a for a in instance.areas if a.id in areas),
                teams=tuple(t for i, t in enumerate(instance.teams) if i in members),
                requests=tuple(r for r in instance.requests if r.area in areas),
            )
        )
    # Requests whose area is unknown belong to no sector; the first part keeps them (left out).
    known = set(area_part)
    orphans = tuple(r for r in instance.requests if r.area not in known)
    if orphans:
        parts[0] = replace(parts[0], requests=parts[0].requests + orphans)
    return [part for part in parts if part.requests or part.teams]


def _sectors(weights: list[int], count: int) -> list[int]:
    """Cut a row of weights into `count` runs of neighbours, the heaviest run as light as can be.

    The part of each weight, in order: binary search on the heaviest run's weight, filling each run
    greedily, the classic linear partition.
    """
    low, high = max(weights, default=0), sum(weights)
    while low < high:
        limit = (low + high) // 2
        if _runs_needed(weights, limit) <= count:
            high = limit
        else:
            low = limit + 1
    parts, part, load = [], 0, 0
    for w in weights:
        if load + w > low and load > 0 and part < count - 1:
            part, load = part + 1, 0
        parts.append(part)
        load += w
    return parts


def _runs_needed(weights: list[int], limit: int) -> int:
    runs, load = 1, 0
    for w in weights:
        if load + w > limit and load > 0:
            runs, load = runs + 1, 0
        load += w
    return runs
