"""Escort planner: turns a day's roster entries and teams into escort runs.

Pure Python with no Django imports, so the duty-sheet job, the command line and the tests share it.
The job builds an `Instance` from its rows and calls `solve` with the station's time budget:

    plan = solve(instance, seconds=10)
    covered_priority, team_minutes = check(instance, plan)
"""

from __future__ import annotations

from escorts.planner.check import InfeasiblePlan, check
from escorts.planner.greedy import greedy
from escorts.planner.model import (
    Area,
    Instance,
    Plan,
    Request,
    Run,
    Team,
    instance_from_json,
    instance_to_json,
    plan_from_json,
    plan_to_json,
)
from escorts.planner.optimise import solve

__all__ = [
    "Area",
    "InfeasiblePlan",
    "Instance",
    "Plan",
    "Request",
    "Run",
    "Team",
    "check",
    "greedy",
    "instance_from_json",
    "instance_to_json",
    "plan_from_json",
    "plan_to_json",
    "solve",
]
