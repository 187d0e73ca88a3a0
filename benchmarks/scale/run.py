"""A whole state on one PostgreSQL: 500 real station schemas in a database of their own.

    python -m benchmarks.scale.run [--stations 500] [--clone-up-to 500]

Creates (or tops up to) that many real stations, each with its own schema, in
escort_portal_bench_scale (BENCH_SCALE_DATABASE_URL, from the environment or .env, to change),
never in the development database, and prints a Markdown table with django-tenants' own way
beside ours, measured in the same run at the same count (up to `--clone-up-to` stations: the
clone grows with the square of the count, so beyond 500 only ours is timed). The database is
kept for the next run (which tops it up); `dropdb escort_portal_bench_scale` removes it. The
machine's load is printed with the figures: timings on a shared machine are noisy, the catalog
counts are not.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import environ

# The checkout's .env may name this benchmark's database; read it before choosing one, as the
# settings would only read it after DATABASE_URL is already set below.
environ.Env.read_env(Path(__file__).resolve().parents[2] / ".env")
DATABASE_URL = os.environ.get(
    "BENCH_SCALE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/escort_portal_bench_scale"
)
os.environ["DATABASE_URL"] = DATABASE_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "escort_portal.settings.local")
os.environ["DATABASE_CONN_MAX_AGE"] = "0"
# Pages are timed as production serves them (no query log, no template debugging).
os.environ.setdefault("DEBUG", "false")

# Counts at which both ways of creating a station are timed.
CHECKPOINTS = (5, 50, 100, 250, 500, 1000, 2000)
PROBE_SCHEMA = "bench_clone_probe"
PROBES = 5


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def prepare() -> None:
    from escort_portal.devservices import ensure_database

    ensure_database(DATABASE_URL)
    import django

    django.setup()
    from django.core.management import call_command

    from stations import services

    call_command("migrate_schemas", shared=True, verbosity=0)
    services.station_template_ensure()


def clone_with_django_tenants() -> float:
    """What `create_station` did before: django-tenants' clone of the template into a new
    schema (then dropped). Seconds."""
    from django.conf import settings
    from django.db import connection
    from django_tenants.clone import CloneSchema

    started = time.perf_counter()
    CloneSchema().clone_schema(settings.TENANT_BASE_SCHEMA, PROBE_SCHEMA, "DATA")
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA {PROBE_SCHEMA} CASCADE")
    return elapsed


def create_stations(
    target: int, *, probe: bool = True, clone_up_to: int = 500
) -> list[tuple[int, float, float | None]]:
    """Top the database up to `target` stations; at each checkpoint time the old way beside the
    creation just made (with nothing to create, five probes created and dropped again, unless
    `probe` is false). django-tenants' clone is timed up to `clone_up_to` stations only: it
    grows with the square of the count (27 s at 500). Rows: (count, ours s, the clone's s)."""
    from stations import services
    from stations.models import Station, Subdivision

    subdivision, _ = Subdivision.objects.get_or_create(
        name="Bench state", defaults={"district": "Bench"}
    )
    have = Station.objects.live().count()
    rows = []
    times: list[float] = []
    for n in range(have + 1, target + 1):
        started = time.perf_counter()
        services.station_create(slug=f"bench-{n}", name=f"Station {n}", subdivision=subdivision)
        times.append(time.perf_counter() - started)
        if n in CHECKPOINTS:
            # The median of the last few creations: one alone follows the neighbours' load.
            ours = statistics.median(times[-PROBES:])
            old = clone_with_django_tenants() if n <= clone_up_to else None
            rows.append((n, ours, old))
            print(f"  {n} stations: ours {ours:.2f} s, clone_schema {_seconds(old)}", flush=True)
    if not rows and probe:
        probes = []
        for n in range(PROBES):
            started = time.perf_counter()
            probes.append(
                services.station_create(
                    slug=f"bench-probe-{n}", name="Probe", subdivision=subdivision
                )
            )
            times.append(time.perf_counter() - started)
        old = clone_with_django_tenants() if have <= clone_up_to else None
        rows.append((have, statistics.median(times), old))
        for station in probes:
            station.delete(force_drop=True)
    return rows


def _seconds(value: float | None) -> str:
    return "not timed" if value is None else f"{value:.2f} s"


def dashboard(repeat: int = 20) -> list[tuple[float, float, int, int]]:
    """The SDPO's dashboard over every real station (one subdivision), with 30 days of figures
    for each, through the whole middleware: the build before it read values beside today's,
    alternating request by request so both see the same load. Before, then now: (median ms,
    max ms, queries, writes), the writes being INSERT/UPDATE/DELETE statements of a look at the
    page."""
    import datetime
    import re
    from unittest import mock

    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from benchmarks.scale import dashboard_before
    from stations import dashboard as dashboard_now
    from stations.models import Station, StationDay, Subdivision, SubdivisionRole, User

    settings.ALLOWED_HOSTS = ["*"]
    # As the web server keeps its connection in production (CONN_MAX_AGE): a fresh backend a
    # request would time PostgreSQL's catalog lookups, not the page.
    connection.settings_dict["CONN_MAX_AGE"] = 60
    subdivision = Subdivision.objects.get(name="Bench state")
    today = datetime.date.today()
    stations = list(Station.objects.live().filter(subdivision=subdivision))
    StationDay.objects.bulk_create(
        [
            StationDay(
                station=station,
                date=today - datetime.timedelta(days=back),
                entries=(n + back) % 120,
                entries_covered=(n + back) % 100,
                entries_uncovered=(n + back) % 20,
                rosters_filed=n % 30,
                rosters_missing=n % 4,
                runs=n % 25,
                runs_overdue=n % 7 == 0,
                incidents=n % 13 == 0,
                pending_branches=[f"Lender {n}, Branch"] if n % 17 == 0 else [],
                never_filed_branches=[f"Quiet {n}"] if n % 23 == 0 else [],
            )
            for n, station in enumerate(stations)
            for back in range(dashboard_now.TREND_DAYS)
        ],
        ignore_conflicts=True,
    )
    user, _ = User.objects.get_or_create(username="bench-scale-sdpo")
    SubdivisionRole.objects.get_or_create(
        user=user, subdivision=subdivision, defaults={"role": "sdpo"}
    )
    client = Client()
    client.force_login(user)
    ways = {"before": dashboard_before.build, "now": dashboard_now.build}
    pages = {}
    for way, build in ways.items():
        with mock.patch.object(dashboard_now, "build", build):
            pages[way] = client.get("/sdpo/").content.decode()  # warm up; renews the session
    # The same page either way, but for the per-request CSRF and form tokens and CSP nonce.
    per_request = re.compile(r'(csrfmiddlewaretoken" value|submission_token" value|nonce)="[^"]*"')
    same = per_request.sub("", pages["before"]) == per_request.sub("", pages["now"])
    print(f"  dashboard: the same page before and now: {'yes' if same else 'NO'}", flush=True)
    times: dict[str, list[float]] = {way: [] for way in ways}
    for _ in range(repeat):
        for way, build in ways.items():
            with mock.patch.object(dashboard_now, "build", build):
                started = time.perf_counter()
                assert client.get("/sdpo/").status_code == 200
                times[way].append((time.perf_counter() - started) * 1000)
    figures = []
    for way, build in ways.items():
        with (
            mock.patch.object(dashboard_now, "build", build),
            CaptureQueriesContext(connection) as captured,
        ):
            client.get("/sdpo/")
        writes = sum(
            q["sql"].split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"} for q in captured
        )
        figures.append((statistics.median(times[way]), max(times[way]), len(captured), writes))
    return figures


def minute_jobs() -> list[tuple[str, float, int, float, int]]:
    """The worker time of each minute job that works inside stations, across the state: every
    live station's run, as the beat entry queued it before, beside the stations the due times
    pick now (after that pass has stored each station's next time). Rows: (job, before s,
    stations, now s, stations)."""
    from django_tenants.utils import tenant_context

    from escorts import services as escorts
    from notifications import services as notifications
    from stations import due
    from stations.selectors import station_list_live

    def run(stations, work) -> tuple[float, int]:
        started = time.perf_counter()
        count = 0
        for station in stations:
            with tenant_context(station):
                work()
            count += 1
        return time.perf_counter() - started, count

    rows = []
    for name, job, work in (
        ("escorts tick", escorts.TICK_JOB, escorts.station_tick),
        ("outbox sweep", notifications.SWEEP_JOB, notifications.message_sweep),
    ):
        before, everyone = run(station_list_live(), work)
        now, picked = run(due.stations_due(job=job), work)
        rows.append((name, before, everyone, now, picked))
    return rows


def catalog() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class")
        (classes,) = cursor.fetchone()
        cursor.execute("SELECT pg_database_size(current_database())")
        (size,) = cursor.fetchone()
    return {"pg_class rows": classes, "database bytes": size}


PARTS = ("create", "dashboard", "tick", "catalog")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=500)
    parser.add_argument(
        "--clone-up-to",
        type=int,
        default=500,
        help="time django-tenants' clone beside ours up to this many stations (default 500)",
    )
    parser.add_argument(
        "--only",
        default=",".join(PARTS),
        help=f"comma-separated parts to run, of {', '.join(PARTS)} (default: all); the stations "
        "are topped up to --stations whichever parts run",
    )
    args = parser.parse_args()
    parts = set(args.only.split(","))
    print(f"start: {load()}", flush=True)
    prepare()
    rows = create_stations(args.stations, probe="create" in parts, clone_up_to=args.clone_up_to)
    from stations.models import Station

    stations = Station.objects.live().count()
    table = []
    for n, ours, old in rows:
        table.append(
            f"| `create_station` (median of {PROBES}) | {n} | {_seconds(old)} (clone alone) "
            f"| {ours:.2f} s | <= 0.5 s |"
        )
    if "dashboard" in parts:
        before, now = dashboard()
        table.append(
            f"| SDPO dashboard, 30 days of figures | {stations} | {before[0]:.1f} ms median, "
            f"{before[1]:.1f} ms max, {before[2]} queries, {before[3]} writes | {now[0]:.1f} ms "
            f"median, {now[1]:.1f} ms max, {now[2]} queries, {now[3]} writes | <= 50 ms |"
        )
    if "tick" in parts:
        for name, before, everyone, now, picked in minute_jobs():
            table.append(
                f"| minute job: {name}, worker time | {stations} | {before:.1f} s ({everyone} "
                f"stations entered) | {now:.2f} s ({picked} stations due) | O(stations with "
                "something due) |"
            )
    if "catalog" in parts:
        figures = catalog()
        table.append(
            f"| catalog | {stations} | | {figures['pg_class rows']:,} `pg_class` rows, "
            f"{figures['database bytes'] / stations / 2**20:.1f} MB a station | stated |"
        )
    print()
    print(f"{stations} real stations; {load()}")
    print()
    print("| what | at stations | before | now | goal |")
    print("|---|---:|---:|---:|---|")
    print("\n".join(table))


if __name__ == "__main__":
    main()
