"""The planner's bound is honest, a longer budget never ends worse, a re-plan keeps what holds."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.planner.generate import generate
from escorts.planner import Instance, Request, Run, check, greedy, instance_from_json
from escorts.planner.optimise import optimise
from escorts.planner.prepared import prepare
from escorts.planner.warm import kept_days
from escorts.tests.test_planner import _both_checks, _instance, _team, instances


def test_the_bound_is_never_above_the_total_priority_even_without_time_to_relax() -> None:
    instance = instance_from_json(generate(1000, seed=5))
    outcome = optimise(instance, seconds=0.2, improve=False)
    assert outcome.covered <= outcome.upper_bound <= sum(r.priority for r in instance.requests)


def test_the_bound_leaves_out_what_no_team_can_reach() -> None:
    requests = [Request("day", "near", 600, 660, 3), Request("night", "near", 1200, 1300, 5)]
    outcome = optimise(_instance([_team("T1", 420, 900)], requests), seconds=0.5)
    assert outcome.upper_bound == outcome.covered == 3


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=instances(), seconds=st.sampled_from([0.0, 0.05, 0.3]))
def test_the_bound_lies_between_the_plan_and_the_total(instance: Instance, seconds: float) -> None:
    outcome = optimise(instance, seconds=seconds)
    assert outcome.covered <= outcome.upper_bound <= sum(r.priority for r in instance.requests)


def _edited(instance: Instance, previous_runs: list[Run]) -> Instance:
    """A team off duty, three of the other runs pinned, and a few late entries."""
    off = instance.teams[0].id
    late = tuple(
        Request(f"late-{i}", instance.areas[i % len(instance.areas)].id, 600, 660, 5)
        for i in range(5)
    )
    pins = tuple(run for run in previous_runs if run.team != off)[:3]
    return replace(
        instance,
        teams=instance.teams[1:],
        requests=instance.requests + late,
        pinned_runs=pins,
    )


def test_a_replan_keeps_the_previous_plan_where_it_holds_and_takes_in_the_edits() -> None:
    instance = instance_from_json(generate(300, seed=11))
    previous = greedy(instance)
    edited = _edited(instance, previous.runs)
    outcome = optimise(edited, seconds=1, previous=previous)
    covered, _ = _both_checks(edited, outcome.plan)
    assert set(edited.pinned_runs) <= set(outcome.plan.runs)
    assert not any(run.team == instance.teams[0].id for run in outcome.plan.runs)
    # What survives of the earlier plan is where the re-plan starts, and it only gets better.
    kept = kept_days(prepare(replace(edited, pinned_runs=())), previous)
    kept_priority = sum(r.priority for day in kept for run in day for r in run.requests)
    assert covered >= kept_priority > 0.8 * check(instance, previous)[0]
    assert {"late-0", "late-1"} & {rid for run in outcome.plan.runs for rid in run.requests}


def test_a_replan_drops_runs_whose_riders_or_team_are_gone_and_refits_changed_windows() -> None:
    requests = [Request("a", "near", 540, 600, 1), Request("b", "far", 720, 780, 2)]
    instance = _instance([_team("T1"), _team("T2")], requests)
    previous = optimise(instance, seconds=0.5).plan
    # T2 is off, "a" moved an hour later, and "gone" no longer exists.
    stale = replace(previous, runs=[*previous.runs, Run("T1", "near", 800, 860, ("gone",))])
    edited = _instance([_team("T1")], [Request("a", "near", 600, 660, 1), requests[1]])
    plan = optimise(edited, seconds=0.5, previous=stale).plan
    assert _both_checks(edited, plan)[0] == 3
