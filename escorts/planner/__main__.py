"""Command line: python -m escorts.planner INSTANCE.json [--seconds S] [--seed N] > PLAN.json"""

from __future__ import annotations

import time

# Taken before the heavy imports so the budget covers the whole run, start-up included.
STARTED = time.monotonic()

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

from escorts.planner import instance_from_json, plan_to_json, solve  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m escorts.planner",
        description="Plan escort runs for an instance (specs/planner.md); print the plan as JSON.",
    )
    parser.add_argument("instance", help="instance JSON file, or - for standard input")
    parser.add_argument("--seconds", type=float, default=10.0, help="time budget (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    try:
        if args.instance == "-":
            data = json.load(sys.stdin)
        else:
            with open(args.instance, encoding="utf-8") as f:
                data = json.load(f)
        instance = instance_from_json(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"cannot read instance: {exc}", file=sys.stderr)
        return 2
    # Leave a little for writing the plan out and for the interpreter to exit.
    left = args.seconds - (time.monotonic() - STARTED) - (0.05 + 0.02 * args.seconds)
    plan = solve(instance, seconds=max(left, 0.0), seed=args.seed)
    json.dump(plan_to_json(plan), sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
