"""Dashboard at state scale: server time and query count for 5, 50 and 500 stations.

    python -m benchmarks.dashboard.run [--repeat 20]

Uses a database of its own (escort_portal_bench by default, BENCH_DATABASE_URL to change),
filled with 500 stations' read-model rows for 30 days (15,000 rows) plus three real station
schemas for the drill-down. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import statistics
import time

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/escort_portal_bench"
)
os.environ["DATABASE_URL"] = DATABASE_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "escort_portal.settings.local")
os.environ["DATABASE_CONN_MAX_AGE"] = "0"


def prepare() -> None:
    from escort_portal.devservices import ensure_database

    ensure_database(DATABASE_URL)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate_schemas", shared=True, verbosity=0)


def fill(sizes: list[int]) -> dict[int, object]:
    from stations import services
    from stations.models import Station, StationDay, Subdivision, SubdivisionRole, User

    rng = random.Random(7)
    today = datetime.date.today()
    sdpos = {}
    for size in sizes:
        subdivision, created = Subdivision.objects.get_or_create(
            name=f"Bench {size}", defaults={"district": "Bench"}
        )
        user, _ = User.objects.get_or_create(username=f"bench-sdpo-{size}")
        SubdivisionRole.objects.get_or_create(
            user=user, subdivision=subdivision, defaults={"role": "sdpo"}
        )
        sdpos[size] = user
        if not created:
            continue
        real = 3 if size == sizes[-1] else 0
        for n in range(real):
            services.station_create(
                slug=f"bench-real-{n}", name=f"Real {n}", subdivision=subdivision
            )
        stations = Station.objects.bulk_create(
            Station(
                schema_name=f"bench_{size}_{n}",
                slug=f"bench-{size}-{n}",
                name=f"Station {size}-{n}",
                subdivision=subdivision,
            )
            for n in range(size - real)
        )
        stations += list(Station.objects.filter(slug__startswith="bench-real-"))
        rows = []
        for station in stations:
            for day in range(30):
                entries = rng.randint(0, 120)
                covered = rng.randint(0, entries)
                rows.append(
                    StationDay(
                        station=station,
                        date=today - datetime.timedelta(days=day),
                        branches_approved=rng.randint(3, 30),
                        branches_pending=rng.randint(0, 3),
                        rosters_filed=rng.randint(0, 30),
                        rosters_missing=rng.randint(0, 5),
                        entries=entries,
                        entries_covered=covered,
                        entries_uncovered=entries - covered,
                        runs=covered // 3,
                        incidents=rng.randint(0, 2),
                        sheet_published=rng.random() < 0.8,
                    )
                )
        StationDay.objects.bulk_create(rows, batch_size=5000)
    return sdpos


def measure(user, repeat: int) -> tuple[float, float, int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    client.get("/sdpo/")  # warm up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get("/sdpo/")
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as captured:
        client.get("/sdpo/")
    return statistics.median(times), max(times), len(captured)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    sizes = [5, 50, 500]
    prepare()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
    sdpos = fill(sizes)
    print("| stations | median ms | max ms | queries |")
    print("|---:|---:|---:|---:|")
    for size in sizes:
        median, worst, queries = measure(sdpos[size], args.repeat)
        print(f"| {size} | {median:.1f} | {worst:.1f} | {queries} |")


if __name__ == "__main__":
    main()
