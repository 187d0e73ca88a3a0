"""The duty officer's sheet page on a large day: server time and query count.

    python -m benchmarks.sheet.run [--entries 300] [--teams 0] [--repeat 3]

Uses a database of its own (escort_portal_sheet by default, BENCH_SHEET_DATABASE_URL to change)
loaded with the demo data plus `--entries` trips for tomorrow at Kharagpur Town and `--teams`
more teams (few teams leave many trips uncovered, and the page advises on each). Builds the
draft with a 2-second planner, then opens the sheet page as the duty officer. Prints a line.
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import statistics
import time

DATABASE_URL = os.environ.get(
    "BENCH_SHEET_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/escort_portal_sheet"
)
os.environ["DATABASE_URL"] = DATABASE_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "escort_portal.settings.local")
os.environ["DATABASE_CONN_MAX_AGE"] = "0"
os.environ["LOG_LEVEL"] = "ERROR"
STATION = "kharagpur-town"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=300)
    parser.add_argument("--teams", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from escort_portal.devservices import ensure_database

    ensure_database(DATABASE_URL)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from benchmarks.load.faults import fill_station
    from escorts import services
    from escorts.models import DutySheet, UncoveredEntry
    from stations.models import Station, User
    from stations.routing import station_reverse

    call_command("migrate_schemas", verbosity=0)
    call_command("seed_demo", stdout=io.StringIO())
    station = Station.objects.get(slug=STATION)
    Station.objects.filter(pk=station.pk).update(planner_seconds=2)
    station.refresh_from_db()
    officer = User.objects.get(username=f"{STATION}-duty")
    date = timezone.localdate() + datetime.timedelta(days=1)
    with tenant_context(station):
        fill_station(station, args.entries, args.teams, date)
        DutySheet.objects.filter(date=date).delete()
        sheet, _ = services._build_claim(date=date, origin=DutySheet.Origin.REBUILD, by=officer)
        sheet = services.duty_sheet_build_run(sheet_pk=sheet.pk)
        uncovered = UncoveredEntry.objects.filter(sheet=sheet).count()
        path = station_reverse(station, "escorts:sheet", date)
    client = Client()
    client.force_login(officer)
    seconds, queries = [], 0

    def counted(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    for _ in range(args.repeat):
        queries = 0
        started = time.perf_counter()
        with connection.execute_wrapper(counted):
            response = client.get(path, HTTP_HOST="localhost")
        seconds.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    print(
        f"sheet page, {STATION} {date}, {args.entries} trips, {uncovered} uncovered: "
        f"median {statistics.median(seconds):.2f} s over {args.repeat}, {queries} queries, "
        f"load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
