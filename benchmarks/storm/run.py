"""The morning cut-off storm: every station's draft at one shared cut-off, on 1, 2 and 4
planning worker processes.

    python -m benchmarks.storm.run [--stations 20] [--workers 1 2 4] [--large 1]

A database of its own (escort_portal_bench_storm, or BENCH_STORM_DATABASE_URL; kept for the next
run, `dropdb escort_portal_bench_storm` removes it) with that many real stations, each with its
own schema and a realistic day: `--large` stations of 1,000 trips, the rest 50 to 300, about 16
trips a team, areas within 15 km, first trips leaving between 08:45 and 10:30 (IST), one
shared 08:30 cut-off and the default planner budget (`Station.planner_seconds`, 10 s, fitted
to each day's size by `escorts.planning.budget_seconds`). A redis-server of the run's own.

Each round starts from no sheet: a worker for the minute jobs (`--jobs others`, one process)
and one planning worker (`--jobs planning`) with N pool processes; then this script plays
beat at 08:31, queueing the minute job in every station as `tick_all_stations` does (each
tick told the time, `at`), and waits for every draft. Times run from that moment: when the last
tick ran (each one queues its station's draft on the planning queue), the first and the last
draft built. The machine's load is printed beside them: the planner's budget is wall-clock
time, so on a busy machine builds keep their time and lose CPU, not the other way round.

Last, arithmetic (stated as such): a state of `--state` stations (default 500, `--state-large`
of them at 1,000 trips) takes the measured build times of this run's 1-process round, large and
small apart, and says how long the last draft takes on P processes with a core each, and how many
processes put every draft within 10 minutes of its cut-off.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.rosters import random_entry

DATABASE_URL = os.environ.get(
    "BENCH_STORM_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/escort_portal_bench_storm"
)
QUEUE = "bench_storm"
BASE_DIR = Path(__file__).resolve().parents[2]
LARGE = 1000
SMALL = (50, 300)
TRIPS_PER_TEAM = 16
AREAS = 40
CUTOFF = datetime.time(8, 30)
TICK_AT = datetime.time(8, 31)
# Every draft within this long of its cut-off: the goal the sizing is for.
GOAL_SECONDS = 600


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def environment(broker_url: str) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "escort_portal.settings.local",
        "DEBUG": "false",
        "DATABASE_URL": DATABASE_URL,
        "DATABASE_CONN_MAX_AGE": "60",
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_DEFAULT_QUEUE": QUEUE,
        "CELERY_PLANNING_QUEUE": f"{QUEUE}_planning",
        "LOG_LEVEL": "WARNING",
    }


def prepare(stations: int, large: int, seed: int) -> list:
    from escort_portal.devservices import ensure_database

    ensure_database(DATABASE_URL)
    import django

    django.setup()
    from django.core.management import call_command
    from django_tenants.utils import tenant_context

    from stations import services
    from stations.models import Station, Subdivision

    call_command("migrate_schemas", shared=True, verbosity=0)
    services.station_template_ensure()
    subdivision, _ = Subdivision.objects.get_or_create(
        name="Storm state", defaults={"district": "Bench"}
    )
    rng = random.Random(seed)
    sizes = [LARGE] * large + [rng.randint(*SMALL) for _ in range(stations - large)]
    made = []
    for n, size in enumerate(sizes, start=1):
        slug = f"storm-{n}"
        station = Station.objects.filter(slug=slug).first()
        if station is None:
            started = time.perf_counter()
            station = services.station_create(slug=slug, name=f"Storm {n}", subdivision=subdivision)
            print(f"  created {slug} in {time.perf_counter() - started:.1f} s", flush=True)
        Station.objects.filter(pk=station.pk).update(
            roster_cutoff=CUTOFF, planner_seconds=10, latitude=22.35, longitude=87.32
        )
        station.refresh_from_db()
        with tenant_context(station):
            fill_station(station, size, random.Random(seed * 1000 + n))
        made.append(station)
    return made


def fill_station(station, entries: int, rng: random.Random) -> None:
    """Today's filed rosters: `entries` trips in branches of 25 agents, and teams for them."""
    from django.utils import timezone

    from escorts.models import EscortTeam, Officer
    from lenders.models import (
        CollectionArea,
        FieldAgent,
        LenderBranch,
        Roster,
        RosterEntry,
    )
    from stations.models import User

    today = timezone.localdate()
    if RosterEntry.objects.filter(roster__date=today).count() == entries:
        return
    RosterEntry.objects.filter(roster__date=today).delete()
    Roster.objects.filter(date=today).delete()
    lender, _ = User.objects.get_or_create(username="storm-lender")
    if not CollectionArea.objects.exists():
        CollectionArea.objects.bulk_create(
            CollectionArea(
                name=f"Area {n}",
                latitude=round(22.35 + rng.uniform(-0.13, 0.13), 5),
                longitude=round(87.32 + rng.uniform(-0.13, 0.13), 5),
                risk=rng.choice(["normal", "normal", "high"]),
                status=CollectionArea.Status.ACTIVE,
            )
            for n in range(AREAS)
        )
    areas = list(CollectionArea.objects.all())
    branches = math.ceil(entries / 25)
    for n in range(LenderBranch.objects.count(), branches):
        branch = LenderBranch.objects.create(
            lender_name=f"Storm Finance {n}",
            kind="mfi",
            branch_name=f"Branch {n}",
            address="Main Road",
            manager_name="Manager",
            manager_phone="+919830012345",
            status=LenderBranch.Status.APPROVED,
            decided_at=timezone.now(),
        )
        FieldAgent.objects.bulk_create(
            FieldAgent(
                branch=branch, name=f"Agent {n}-{k}", employee_id=f"S{n}-{k}", phone="+919830000001"
            )
            for k in range(25)
        )
    first = rng.randrange(8 * 60 + 45, 10 * 60 + 31, 5)
    rows = []
    for branch in LenderBranch.objects.order_by("pk")[:branches]:
        roster = Roster.objects.create(
            branch=branch, date=today, status=Roster.Status.FILED, filed_by=lender
        )
        for agent in FieldAgent.objects.filter(branch=branch).order_by("pk"):
            if len(rows) == entries:
                break
            depart = first if not rows else None
            rows.append(
                random_entry(
                    rng,
                    roster,
                    agent,
                    areas,
                    lender,
                    earliest=first,
                    stop=14 * 60 + 1,
                    depart=depart,
                )
            )
    RosterEntry.objects.bulk_create(rows)
    teams = max(2, entries // TRIPS_PER_TEAM)
    for n in range(EscortTeam.objects.count(), teams):
        leader = Officer.objects.create(name=f"Leader {n}", rank="si", phone="+919830000002")
        EscortTeam.objects.create(
            name=f"Team {n}",
            leader=leader,
            base_latitude=station.latitude,
            base_longitude=station.longitude,
        )
    EscortTeam.objects.filter(name__in=[f"Team {n}" for n in range(teams)]).update(active=True)


def reset(stations: list) -> None:
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from escorts.models import DutySheet
    from notifications.models import Message

    for station in stations:
        with tenant_context(station):
            DutySheet.objects.filter(date=timezone.localdate()).delete()
            Message.objects.all().delete()


def start_worker(env: dict[str, str], jobs: str, processes: int, name: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "escort_portal", "worker"),
            *("--jobs", jobs, "--pool=prefork", f"--concurrency={processes}"),
            *("--without-mingle", "--without-gossip", f"--hostname={name}@%h"),
            "--loglevel=ERROR",
        ],
        env={**os.environ, **env},
        cwd=BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def wait_for_workers(since: datetime.datetime) -> None:
    """The minute-jobs worker runs the heartbeat as soon as it is ready."""
    from stations.models import WorkerHeartbeat

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if WorkerHeartbeat.objects.filter(schema_name="public", seen_at__gte=since).exists():
            return
        time.sleep(0.2)
    raise RuntimeError("the worker did not start")


def sheets(stations: list) -> list[dict]:
    from django.db.models import Min
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from escorts.models import DutySheet
    from lenders.models import RosterEntry

    today = timezone.localdate()
    found = []
    for station in stations:
        with tenant_context(station):
            sheet = DutySheet.objects.filter(date=today).order_by("-version").first()
            entries = RosterEntry.objects.filter(roster__date=today)
            found.append(
                {
                    "sheet": sheet,
                    "entries": entries.count(),
                    "first": entries.aggregate(first=Min("depart_at"))["first"],
                }
            )
    return found


def storm(stations: list, env: dict[str, str], processes: int) -> dict:
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from escorts.models import DutySheet
    from escorts.tasks import station_tick

    reset(stations)
    since = timezone.now()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    others = start_worker(env, "others", 1, "minute")
    planners = start_worker(env, "planning", processes, "planner")
    try:
        wait_for_workers(since)
        time.sleep(2)  # the planning worker's pool up as well
        at = timezone.make_aware(datetime.datetime.combine(timezone.localdate(), TICK_AT))
        load_before = load()
        started = timezone.now()
        for station in stations:
            with tenant_context(station):
                station_tick.delay(at=at.isoformat())
        while True:
            found = sheets(stations)
            if all(row["sheet"] is not None and not row["sheet"].is_building for row in found):
                break
            time.sleep(1)
        load_after = load()
    finally:
        stop(planners)
        stop(others)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = [row["sheet"] for row in found]
    assert all(sheet.build_status == DutySheet.Build.DONE for sheet in done), [
        (sheet.build_status, sheet.build_error) for sheet in done
    ]

    def since_start(moment: datetime.datetime) -> float:
        return (moment - started).total_seconds()

    builds = [
        {
            "entries": row["entries"],
            "first": row["first"],
            "queued": since_start(row["sheet"].created_at),
            "wait": (row["sheet"].build_started_at - row["sheet"].created_at).total_seconds(),
            "build": (row["sheet"].built_at - row["sheet"].build_started_at).total_seconds(),
            "budget": row["sheet"].build_seconds,
            "built": since_start(row["sheet"].built_at),
        }
        for row in found
    ]
    return {
        "processes": processes,
        "builds": builds,
        "cpu": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        "load": f"{load_before} → {load_after}",
    }


def order_kept(builds: list[dict]) -> str:
    """Of the pairs of drafts in different priority bands where the later band's build started
    while the earlier band's was already waiting, how many started in band order (the queue's
    promise; a build started before the other was even queued cannot be)."""
    from escorts import planning

    def band(row: dict) -> int:
        minutes = row["first"].hour * 60 + row["first"].minute - (TICK_AT.hour * 60 + 31)
        return min(planning.LAST_PRIORITY, 1 + max(0, minutes // planning.PRIORITY_BAND_MINUTES))

    pairs = kept = 0
    for a in builds:
        for b in builds:
            if band(a) < band(b) and b["queued"] + b["wait"] > a["queued"]:
                pairs += 1
                kept += a["queued"] + a["wait"] <= b["queued"] + b["wait"]
    return f"{kept}/{pairs}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=20)
    parser.add_argument("--large", type=int, default=1, help="stations of 1,000 trips")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--state", type=int, default=500)
    parser.add_argument("--state-large", type=int, default=5)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()

    from benchmarks.notifications.run import start_redis

    directory = tempfile.mkdtemp(prefix="bench-storm-")
    redis_process, broker_url = start_redis(directory)
    env = environment(broker_url)
    os.environ.update(env)
    rounds = []
    try:
        print(f"preparing {args.stations} stations (load {load()})", flush=True)
        stations = prepare(args.stations, args.large, args.seed)
        for processes in args.workers:
            print(f"storm on {processes} planning process(es)...", flush=True)
            rounds.append(storm(stations, env, processes))
    finally:
        redis_process.terminate()
        redis_process.wait(timeout=10)

    builds = rounds[0]["builds"]
    total = sum(row["entries"] for row in builds)
    print()
    print(
        f"{len(builds)} stations ({args.large} of {LARGE} trips, the rest {SMALL[0]}-{SMALL[1]}),"
        f" {total} trips, one cut-off at {CUTOFF:%H:%M}, planner budget 10 s fitted to each day;"
        f" {os.cpu_count()} cores"
    )
    print()
    print(
        "| planning processes | last minute tick s | first draft s | last draft s "
        "| mean build s | budgets s (sum) | builds s (sum) | band order kept | CPU s | load |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for result in rounds:
        rows = result["builds"]
        print(
            f"| {result['processes']} | {max(r['queued'] for r in rows):.1f}"
            f" | {min(r['built'] for r in rows):.1f} | {max(r['built'] for r in rows):.1f}"
            f" | {sum(r['build'] for r in rows) / len(rows):.2f}"
            f" | {sum(r['budget'] for r in rows)} | {sum(r['build'] for r in rows):.1f}"
            f" | {order_kept(rows)} | {result['cpu']:.0f} | {result['load']} |"
        )

    large = [r["build"] for r in builds if r["entries"] >= LARGE]
    small = [r["build"] for r in builds if r["entries"] < LARGE]
    mean_large = sum(large) / len(large) if large else 0.0
    mean_small = sum(small) / len(small)
    work = args.state_large * mean_large + (args.state - args.state_large) * mean_small
    print()
    print(
        f"Arithmetic from the 1-process round (not measured at {args.state}): a build takes"
        f" {mean_large:.1f} s at {LARGE} trips and {mean_small:.1f} s at {SMALL[0]}-{SMALL[1]}"
        f" (mean); {args.state} stations ({args.state_large} large) are {work:.0f} s of builds."
    )
    print()
    print("| planning processes (a core each) | last draft after the cut-off |")
    print("|---:|---:|")
    for processes in (1, 2, 4, 6, 8, 12):
        print(f"| {processes} | {work / processes / 60:.1f} min |")
    needed = math.ceil(work / GOAL_SECONDS)
    print()
    print(f"Every draft within {GOAL_SECONDS // 60} minutes: at least {needed} processes.")


if __name__ == "__main__":
    main()
