"""Benchmark the escort planner; print Markdown tables.

The samples table: for each shared sample and each generated size, covered priority of the plain
greedy and of the planner (both in the same process), the best known where there is one, the
planner's proven upper bound, team minutes, wall time and peak resident memory.

The scaling table: generated instances of 60 to 3,000 entries, each under budgets of 2, 10 and 30
seconds, with what was covered against the planner's own bound, wall and CPU seconds (the planner's
second process, which tightens the bound on a second core, included), peak memory, and whether the
plan covers at least what the next shorter budget's did.

Every instance runs in a fresh process so its memory peak is its own; wall time is the `optimise`
call alone. Every plan goes through the shared reference checker. The machine's load average is
printed with each row, since other work on it slows the planner down.

    python -m benchmarks.planner.report                  # every table (takes about an hour)
    python -m benchmarks.planner.report --tables samples --seconds 2 --big-seconds 5 --sizes 30
    python -m benchmarks.planner.report --tables scaling --scale-sizes 60 400 --budgets 2 10
    python -m benchmarks.planner.report --tables scaling --budgets 10       # the 10 s column
    python -m benchmarks.planner.report --tables scaling --scale-sizes 3000 --budgets 30
    python -m benchmarks.planner.report --tables replanning --replan-sizes 1000

`--cpu-clock` counts each budget in the planner process's CPU seconds instead of wall seconds:
on a machine busy with other work it shows what the same budget would give on a quiet one (the
duty-sheet job always counts wall time). The table says which clock it used.

The re-planning table: a day planned in 10 s, then edited (a team off duty, late entries, runs
pinned, all three), then planned again within 2 s from the previous plan and from nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.planner.generate import generate
from escorts.planner import check, greedy, instance_from_json, plan_from_json, plan_to_json
from escorts.planner.optimise import optimise

# The planner specification's samples and reference checker, kept in the repository.
SAMPLES = Path(__file__).resolve().parents[2] / "escorts" / "tests" / "data"
SAMPLE_NAMES = ("small-30", "small-40", "medium-120", "large-500")
SIZES = (30, 100, 300, 500, 1000)
SCALE_SIZES = (60, 200, 400, 800, 1000, 1500, 3000)
BUDGETS = (2.0, 10.0, 30.0)
# The planner was tuned on instances of generator seed 1001; the scaling table uses others.
SCALE_DATA_SEED = 7
# From this many entries on, the instance gets the big budget.
BIG = 1000


def _reference_check(data: dict[str, Any], plan: dict[str, Any]) -> str:
    spec = importlib.util.spec_from_file_location("check_plan", SAMPLES / "check_plan.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        module.check(data, plan)
    except module.Infeasible as exc:
        return f"INFEASIBLE: {exc}"
    return "ok"


def _measure(
    data: dict[str, Any],
    seconds: float,
    seed: int,
    previous: dict[str, Any] | None = None,
    cpu_clock: bool = False,
) -> dict[str, Any]:
    """Runs in a child process: greedy, then the planner, on one instance."""
    instance = instance_from_json(data)
    greedy_covered, _ = check(instance, greedy(instance))
    started, cpu_started = time.monotonic(), time.process_time() + _copies_cpu()
    outcome = optimise(
        instance,
        seconds=seconds,
        seed=seed,
        previous=None if previous is None else plan_from_json(previous),
        timer=time.process_time if cpu_clock else time.monotonic,
    )
    wall = time.monotonic() - started
    cpu = time.process_time() + _copies_cpu() - cpu_started
    covered, minutes = check(instance, outcome.plan)
    plan = plan_to_json(outcome.plan)
    return {
        "entries": len(instance.requests),
        "teams": len(instance.teams),
        "greedy": greedy_covered,
        "covered": covered,
        "minutes": minutes,
        "bound": outcome.upper_bound,
        "wall": wall,
        "cpu": cpu,
        # ru_maxrss is in KiB on Linux; the copy shares most of its pages with its parent, so the
        # larger of the two peaks is the one that counts.
        "peak_mb": max(
            resource.getrusage(who).ru_maxrss / 1024
            for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        ),
        "reference": _reference_check(data, plan),
        "plan": plan,
    }


def _copies_cpu() -> float:
    """CPU seconds of the planner's finished second processes (`escorts.planner.aside`)."""
    times = os.times()
    return times.children_user + times.children_system


def _in_child(
    data: dict[str, Any],
    seconds: float,
    seed: int,
    previous: dict[str, Any] | None = None,
    cpu_clock: bool = False,
) -> dict[str, Any]:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_measure, (data, seconds, seed, previous, cpu_clock))


def _cases(sizes: list[int], data_seed: int) -> list[tuple[str, dict[str, Any], int | None]]:
    cases: list[tuple[str, dict[str, Any], int | None]] = []
    best = json.loads((SAMPLES / "best.json").read_text())
    for name in SAMPLE_NAMES:
        known = best.get(f"{name}.json", {}).get("best_covered_priority")
        cases.append((name, json.loads((SAMPLES / f"{name}.json").read_text()), known))
    for size in sizes:
        cases.append((f"generated-{size}", generate(size, seed=data_seed), None))
    return cases


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _scaling(
    sizes: list[int], budgets: list[float], seed: int, data_seed: int, cpu_clock: bool
) -> None:
    clock = "CPU seconds" if cpu_clock else "wall seconds"
    print(
        f"\nScaling (generator seed {data_seed}, planner seed {seed}, budgets in {clock}); "
        f"load at start {_load()}\n"
    )
    print(
        "| entries / teams | budget s | covered | bound | ratio | total priority | wall s | cpu s "
        "| peak MB | >= shorter budget | reference check | load 1/5/15 |"
    )
    print("|" + "---|" * 12)
    for size in sizes:
        data = generate(size, seed=data_seed)
        total = sum(r["priority"] for r in data["requests"])
        shorter: int | None = None
        for seconds in sorted(budgets):
            row = _in_child(data, seconds, seed, None, cpu_clock)
            ratio = f"{100 * row['covered'] / row['bound']:.1f}%" if row["bound"] else "-"
            monotone = "-" if shorter is None else ("yes" if row["covered"] >= shorter else "NO")
            shorter = row["covered"]
            print(
                f"| {row['entries']} / {row['teams']} | {seconds:g} | {row['covered']} "
                f"| {row['bound']} | {ratio} | {total} | {row['wall']:.2f} | {row['cpu']:.2f} "
                f"| {row['peak_mb']:.0f} | {monotone} | {row['reference']} | {_load()} |",
                flush=True,
            )


def _edits(data: dict[str, Any], plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The day's instance after each kind of edit a duty officer makes, and after all of them."""
    off = data["teams"][0]["id"]
    late = [
        {"id": f"late-{i}", "area": area["id"], "start": "10:00", "end": "11:00", "priority": 5}
        for i, area in enumerate(data["areas"][:5])
    ]
    pins = [run for run in plan["runs"] if run["team"] != off][:3]
    edits = {
        "team off duty": {**data, "teams": data["teams"][1:]},
        "5 late entries": {**data, "requests": data["requests"] + late},
        "3 runs pinned": {**data, "pinned_runs": pins},
    }
    edits["all three"] = {
        **data,
        "teams": data["teams"][1:],
        "requests": data["requests"] + late,
        "pinned_runs": pins,
    }
    return edits


def _replanning(
    sizes: list[int], seconds: float, seed: int, data_seed: int, cpu_clock: bool
) -> None:
    clock = "CPU seconds" if cpu_clock else "wall seconds"
    print(
        f"\nRe-planning (generator seed {data_seed}, budgets in {clock}); load at start {_load()}\n"
    )
    print(
        "| entries / teams | edit | from | budget s | covered | bound | ratio | wall s | cpu s "
        "| reference check |"
    )
    print("|" + "---|" * 10)
    for size in sizes:
        data = generate(size, seed=data_seed)
        first = _in_child(data, 10.0, seed, None, cpu_clock)
        print(
            f"| {first['entries']} / {first['teams']} | none | nothing | 10 | {first['covered']} "
            f"| {first['bound']} | {100 * first['covered'] / first['bound']:.1f}% "
            f"| {first['wall']:.2f} | {first['cpu']:.2f} | {first['reference']} |",
            flush=True,
        )
        for edit, edited in _edits(data, first["plan"]).items():
            for start, previous in (("previous plan", first["plan"]), ("nothing", None)):
                row = _in_child(edited, seconds, seed, previous, cpu_clock)
                print(
                    f"| {row['entries']} / {row['teams']} | {edit} | {start} | {seconds:g} "
                    f"| {row['covered']} | {row['bound']} "
                    f"| {100 * row['covered'] / row['bound']:.1f}% | {row['wall']:.2f} "
                    f"| {row['cpu']:.2f} | {row['reference']} |",
                    flush=True,
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="budget per instance")
    parser.add_argument(
        "--big-seconds", type=float, default=30.0, help=f"budget from {BIG} entries on"
    )
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--seed", type=int, default=0, help="planner seed")
    parser.add_argument("--data-seed", type=int, default=1, help="generator seed")
    parser.add_argument(
        "--save", type=Path, help="write each sample plan that beats the best known here"
    )
    parser.add_argument(
        "--tables",
        nargs="+",
        choices=("samples", "scaling", "replanning"),
        default=["samples", "scaling", "replanning"],
    )
    parser.add_argument("--replan-sizes", type=int, nargs="*", default=[1000])
    parser.add_argument("--replan-seconds", type=float, default=2.0)
    parser.add_argument("--scale-sizes", type=int, nargs="*", default=list(SCALE_SIZES))
    parser.add_argument("--budgets", type=float, nargs="*", default=list(BUDGETS))
    parser.add_argument(
        "--scale-data-seed", type=int, default=SCALE_DATA_SEED, help="generator seed, scaling"
    )
    parser.add_argument(
        "--cpu-clock",
        action="store_true",
        help="count budgets in the planner's CPU seconds (scaling and re-planning tables)",
    )
    args = parser.parse_args(argv)
    if "samples" in args.tables:
        _samples(args)
    if "scaling" in args.tables:
        _scaling(args.scale_sizes, args.budgets, args.seed, args.scale_data_seed, args.cpu_clock)
    if "replanning" in args.tables:
        _replanning(
            args.replan_sizes, args.replan_seconds, args.seed, args.scale_data_seed, args.cpu_clock
        )
    return 0


def _samples(args: argparse.Namespace) -> None:
    print(
        "| instance | entries | teams | budget s | greedy | planner | best known | vs best "
        "| vs greedy | upper bound | team minutes | wall s | peak MB | reference check |"
    )
    print("|" + "---|" * 14)
    for name, data, known in _cases(args.sizes, args.data_seed):
        seconds = args.big_seconds if len(data["requests"]) >= BIG else args.seconds
        row = _in_child(data, seconds, args.seed)
        vs_best = f"{100 * row['covered'] / known:.1f}%" if known else "-"
        vs_greedy = f"{100 * row['covered'] / row['greedy']:.1f}%" if row["greedy"] else "-"
        print(
            f"| {name} | {row['entries']} | {row['teams']} | {seconds:g} | {row['greedy']} "
            f"| {row['covered']} | {known if known else '-'} | {vs_best} | {vs_greedy} "
            f"| {row['bound'] if row['bound'] is not None else '-'} | {row['minutes']} "
            f"| {row['wall']:.2f} | {row['peak_mb']:.0f} | {row['reference']} |",
            flush=True,
        )
        if args.save and known and row["covered"] > known:
            args.save.mkdir(parents=True, exist_ok=True)
            (args.save / f"{name}.plan.json").write_text(json.dumps(row["plan"], indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
