"""Pinned runs: every plan carries them unchanged and the rest is planned around them."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escorts.planner import (
    InfeasiblePlan,
    Instance,
    Plan,
    Request,
    Run,
    check,
    greedy,
    instance_from_json,
    instance_to_json,
    solve,
)
from escorts.planner.model import travel_minutes
from escorts.planner.optimise import optimise
from escorts.tests.test_planner import (
    AREAS,
    _both_checks,
    _instance,
    _sample,
    _team,
    instances,
)

NEAR, FAR = AREAS
# Minutes between the two areas of the small world, each way.
ACROSS = travel_minutes(NEAR.lat, NEAR.lon, FAR.lat, FAR.lon, 25.0)


def _pinned(instance: Instance, *runs: Run) -> Instance:
    return replace(instance, pinned_runs=runs)


def _has_unchanged(plan: Plan, pinned: Run) -> bool:
    return any(
        (run.team, run.area, run.start, run.end, set(run.requests))
        == (pinned.team, pinned.area, pinned.start, pinned.end, set(pinned.requests))
        for run in plan.runs
    )


def test_a_pinned_run_comes_back_unchanged_even_when_another_plan_covers_more() -> None:
    # Left alone the planner would put the two priority-5 entries on T1's 09:00 run; pinned to
    # the low one, the run stays as it is and the others go to the second team.
    requests = [
        Request("low", "near", 540, 600, 1),
        Request("high-1", "near", 540, 600, 5),
        Request("high-2", "near", 540, 600, 5),
    ]
    instance = _instance([_team("T1", agents=1), _team("T2", agents=1)], requests)
    pin = Run("T1", "near", 530, 610, ("low",))
    plan = solve(_pinned(instance, pin), seconds=1)
    assert _has_unchanged(plan, pin)
    assert _both_checks(_pinned(instance, pin), plan)[0] == 6
    assert [run.requests for run in plan.runs if run.team == "T2"] == [("high-1",)]


def test_pinned_requests_are_never_given_to_another_run() -> None:
    requests = [Request(f"e-{i}", "far", 600, 660, 1 + i) for i in range(4)]
    instance = _instance([_team("T1", agents=2), _team("T2", agents=4)], requests)
    pin = Run("T1", "far", 600, 660, ("e-3", "e-0"))
    plan = solve(_pinned(instance, pin), seconds=1)
    assert [run for run in plan.runs if {"e-3", "e-0"} & set(run.requests)] == [pin]
    assert check(_pinned(instance, pin), plan)[0] == 1 + 2 + 3 + 4


def test_the_pinned_team_is_busy_and_must_travel_to_and_from_the_pinned_area() -> None:
    # One team, pinned in the far area 09:00-10:00. An entry near at 10:00 cannot be reached
    # (the drive takes ACROSS minutes), nor one ending near just before 09:00; one far at 10:00
    # and one near early enough to drive across are both covered.
    requests = [
        Request("during", "near", 560, 590, 5),
        Request("right-after-near", "near", 600, 630, 5),
        Request("right-before-near", "near", 500, 540 - ACROSS + 1, 5),
        Request("right-after-far", "far", 600, 630, 1),
        Request("in-time-near", "near", 480, 540 - ACROSS, 1),
        Request("pinned", "far", 540, 600, 1),
    ]
    instance = _pinned(
        _instance([_team("T1", agents=1)], requests), Run("T1", "far", 540, 600, ("pinned",))
    )
    for plan in (solve(instance, seconds=1), greedy(instance)):
        assert _both_checks(instance, plan)[0] == 3
        assert sorted(plan.unassigned) == ["during", "right-after-near", "right-before-near"]


def test_a_team_with_two_pinned_runs_is_planned_between_them() -> None:
    requests = [
        Request("first", "far", 540, 600, 1),
        Request("between", "far", 630, 660, 2),
        Request("second", "far", 700, 760, 1),
        Request("after", "near", 800, 840, 3),
    ]
    pins = (Run("T1", "far", 540, 600, ("first",)), Run("T1", "far", 700, 760, ("second",)))
    instance = _pinned(_instance([_team("T1", agents=1)], requests), *pins)
    plan = solve(instance, seconds=1)
    assert all(_has_unchanged(plan, pin) for pin in pins)
    assert plan.unassigned == []
    _both_checks(instance, plan)


def test_check_rejects_a_plan_that_drops_or_changes_a_pinned_run() -> None:
    requests = [Request("a", "near", 540, 600, 1), Request("b", "near", 540, 600, 1)]
    pin = Run("T1", "near", 540, 600, ("a",))
    instance = _pinned(_instance([_team("T1"), _team("T2")], requests), pin)
    check(instance, Plan([replace(pin, requests=("a",))], ["b"]))
    for plan in (
        Plan([], ["a", "b"]),
        Plan([replace(pin, requests=("a", "b"))], []),
        Plan([replace(pin, end=610)], ["b"]),
        Plan([replace(pin, team="T2")], ["b"]),
    ):
        with pytest.raises(InfeasiblePlan):
            check(instance, plan)


@pytest.mark.parametrize(
    "pins",
    [
        (Run("T9", "near", 540, 600, ("a",)),),
        (Run("T1", "atlantis", 540, 600, ("a",)),),
        (Run("T1", "near", 540, 600, ("nobody",)),),
        (Run("T1", "near", 550, 600, ("a",)),),
        (Run("T1", "far", 540, 600, ("a",)),),
        (Run("T1", "near", 540, 600, ("a",)), Run("T1", "near", 600, 660, ("a",))),
        (Run("T1", "near", 540, 600, ()),),
    ],
    ids=["team", "area", "request", "window", "wrong-area", "twice", "empty"],
)
def test_an_impossible_pinned_run_is_refused_with_its_reason(pins: tuple[Run, ...]) -> None:
    with pytest.raises(ValueError, match="pinned run"):
        _pinned(_instance([_team("T1")], [Request("a", "near", 540, 600, 1)]), *pins)


def test_pinned_runs_their_team_cannot_drive_are_refused() -> None:
    requests = [Request("a", "near", 540, 600, 1), Request("b", "far", 600, 660, 1)]
    pins = (Run("T1", "near", 540, 600, ("a",)), Run("T1", "far", 600, 660, ("b",)))
    instance = _pinned(_instance([_team("T1")], requests), *pins)
    with pytest.raises(ValueError, match="cannot drive its pinned runs"):
        solve(instance, seconds=0.5)


def test_pinned_runs_round_trip_through_json() -> None:
    pin = Run("T1", "near", 540, 600, ("a",))
    instance = _pinned(_instance([_team("T1")], [Request("a", "near", 540, 600, 1)]), pin)
    data = instance_to_json(instance)
    assert data["pinned_runs"] == [
        {"team": "T1", "area": "near", "start": "09:00", "end": "10:00", "requests": ["a"]}
    ]
    assert instance_from_json(data) == instance


def test_the_bound_counts_the_pinned_runs_and_stays_above_the_plan() -> None:
    instance = instance_from_json(_sample("medium-120.json"))
    first = optimise(instance, seconds=1)
    pins = tuple(first.plan.runs[::3])
    pinned = _pinned(instance, *pins)
    outcome = optimise(pinned, seconds=1)
    assert all(_has_unchanged(outcome.plan, pin) for pin in pins)
    assert outcome.covered == _both_checks(pinned, outcome.plan)[0]
    assert outcome.upper_bound is not None and outcome.covered <= outcome.upper_bound


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=instances(), seed=st.integers(0, 3), every=st.integers(1, 3))
def test_pinning_part_of_any_plan_gives_a_feasible_plan_with_those_runs(
    instance: Instance, seed: int, every: int
) -> None:
    pins = tuple(greedy(instance).runs[::every])
    pinned = _pinned(instance, *pins)
    plan = solve(pinned, seconds=0.2, seed=seed)
    assert all(_has_unchanged(plan, pin) for pin in pins)
    covered, _ = _both_checks(pinned, plan)
    assert covered >= check(pinned, greedy(pinned))[0]
