"""Seeded instance generator for the escort planner benchmarks.

Shaped like the sample instances: areas scattered within about 15 km of one station, every team
based at the station, demand skewed towards a few busy areas, collection windows of 45 minutes to 3
hours starting between 07:30 and 11:45 on a quarter-hour grid, and mixed shifts and team sizes.

    python -m benchmarks.planner.generate 300 --seed 7 > instance.json
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from typing import Any

STATION = (22.25, 87.35)
SHIFTS = (("06:00", "12:00"), ("06:00", "14:00"), ("07:00", "13:00"), ("07:00", "15:00"),
          ("08:00", "14:00"), ("08:00", "16:00"))  # fmt: skip
PRIORITIES = (1, 2, 3, 5)
PRIORITY_WEIGHTS = (0.35, 0.3, 0.17, 0.18)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def generate(entries: int, *, seed: int = 0) -> dict[str, Any]:
    """An instance with `entries` requests; teams and areas grow with it as in the samples."""
    rng = random.Random(seed)
    n_areas = max(3, min(40, round(4 * math.sqrt(entries) / 3.5)))
    n_teams = max(2, round(entries / 16))
    areas = []
    for i in range(n_areas):
        # Uniform over a disc of radius 15 km; a degree of latitude is about 111 km.
        radius_km, angle = 15 * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        lat = STATION[0] + radius_km * math.cos(angle) / 111.0
        lon = STATION[1] + radius_km * math.sin(angle) / (111.0 * math.cos(math.radians(lat)))
        areas.append({"id": f"A{i:02d}", "lat": round(lat, 5), "lon": round(lon, 5)})
    # Zipf-like weights put most of the day's collections in a handful of market areas.
    weights = [1 / (rank + 1) ** 1.3 for rank in range(n_areas)]
    rng.shuffle(weights)
    teams = []
    for i in range(n_teams):
        start, end = rng.choice(SHIFTS)
        teams.append(
            {
                "id": f"T{i + 1}",
                "base": {"lat": STATION[0], "lon": STATION[1]},
                "shift_start": start,
                "shift_end": end,
                "max_agents": rng.choices((2, 3, 4, 5), weights=(0.25, 0.35, 0.3, 0.1))[0],
            }
        )
    requests = []
    for i in range(entries):
        start = 7 * 60 + 30 + 15 * rng.randrange(18)
        length = 15 * rng.randrange(3, 13)
        requests.append(
            {
                "id": f"e-{i + 1:04d}",
                "area": rng.choices(areas, weights=weights)[0]["id"],
                "start": _hhmm(start),
                "end": _hhmm(start + length),
                "priority": rng.choices(PRIORITIES, weights=PRIORITY_WEIGHTS)[0],
            }
        )
    return {
        "speed_kmph": rng.choice((20, 25, 30)),
        "areas": areas,
        "teams": teams,
        "requests": requests,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("entries", type=int, help="number of roster entries (requests)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    json.dump(generate(args.entries, seed=args.seed), sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
