"""The restore drill: a seeded database is dumped with deploy/backup.sh, restored into a new
database with deploy/restore.sh, and the portal must serve the same pages from both.

    python -m escort_portal.restore_drill [--busy-days 90]   (make restore-drill)

The seeded database is the demo data (`seed_demo`); with --busy-days, one station (Debra) also
gets that many past days of a busy station: 30 branches of 10 field agents filing every day,
each day's sheet with its runs, so its audit trail holds tens of thousands of changes. Each
database is read through the portal's own pages (the roster of every branch on the latest
dates, the latest duty sheets, the audit trail, the SDPO's dashboard) and counted; the two must
be identical. Prints one table row with the sizes and the times taken.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
import psycopg2
from psycopg2 import sql

ROOT = Path(__file__).resolve().parents[1]

# Runs inside `manage.py shell` against one database: the pages and counts the portal serves,
# read in a transaction that is rolled back, so reading changes nothing (a sign-in writes a
# session and the user's last login, which the audit trail would record).
FINGERPRINT = """
import datetime, hashlib, json, os, re
import time_machine
from django.contrib.auth.models import update_last_login
from django.contrib.auth.signals import user_logged_in
from django.db import connection, transaction
from django.test import Client
from django_tenants.utils import tenant_context
from escorts.models import DutySheet, EscortRun
from lenders.models import BranchMember, Roster, RosterEntry
from stations.models import Station, StationDay, StationRole, SubdivisionRole

user_logged_in.disconnect(update_last_login)


def audit_changes():
    # Every event table of the station's trail (django-pghistory's, named <model>event).
    with connection.cursor() as cursor:
        total = 0
        for table in connection.introspection.table_names(cursor):
            if table.endswith("event"):
                cursor.execute(f'SELECT count(*) FROM "{table}"')
                total += cursor.fetchone()[0]
    return total


TOKEN = re.compile(
    rb'name="(?:csrfmiddlewaretoken|submission_token)" value="[^"]+"|csrfToken[^,]+'
)
pages, counts = {}, {}


def read(client, path):
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    pages[path] = hashlib.sha256(TOKEN.sub(b"", response.content)).hexdigest()


# Both databases are read at one instant, so "today", cut-off countdowns and ages agree.
with time_machine.travel(datetime.datetime.fromisoformat(os.environ["DRILL_NOW"]), tick=False), \
        transaction.atomic():
    sdpo = SubdivisionRole.objects.filter(role="sdpo").first()
    days = list(StationDay.objects.order_by("-date").values_list("date", flat=True).distinct()[:3])
    counts["dashboard days"] = StationDay.objects.count()
    if sdpo:
        client = Client()
        client.force_login(sdpo.user)
        for day in days:
            read(client, f"/sdpo/?date={day.isoformat()}")
    for station in Station.objects.live().order_by("slug"):
        oc = StationRole.objects.filter(station=station, role="oc").first()
        with tenant_context(station):
            counts[station.slug] = {
                "rosters": Roster.objects.count(),
                "entries": RosterEntry.objects.count(),
                "sheets": DutySheet.objects.count(),
                "runs": EscortRun.objects.count(),
                "audit": audit_changes(),
            }
            dates = Roster.objects.order_by("-date").values_list("date", flat=True).distinct()
            dates = list(dates[:2])
            rosters = list(Roster.objects.filter(date__in=dates).select_related("branch"))
            sheet_dates = DutySheet.objects.order_by("-date").values_list("date", flat=True)
            sheet_dates = list(sheet_dates.distinct()[:3])
            managers = {
                member.branch_id: member.user
                for member in BranchMember.objects.filter(role="manager").select_related("user")
            }
        prefix = f"/station/{station.slug}"
        for roster in rosters:
            if roster.branch_id in managers:
                client = Client()
                client.force_login(managers[roster.branch_id])
                branch = f"{prefix}/lenders/branch/{roster.branch_id}"
                read(client, f"{branch}/roster/{roster.date.isoformat()}/")
        if oc:
            client = Client()
            client.force_login(oc.user)
            for day in sheet_dates:
                read(client, f"{prefix}/escorts/sheet/{day.isoformat()}/")
            read(client, f"{prefix}/audit/")
            read(client, f"{prefix}/audit/?page=2")
    transaction.set_rollback(True)
print(json.dumps({"pages": pages, "counts": counts}, sort_keys=True, default=str))
"""

BUSY = """
import datetime, random
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context
from escorts.models import DutySheet, EscortRun, EscortTeam, RunEntry
from lenders.models import CollectionArea, FieldAgent, LenderBranch, Roster, RosterEntry
from stations import stats
from stations.models import Station, StationRole

DAYS, BRANCHES, AGENTS = {days}, 30, 10
rng = random.Random(90)
station = Station.objects.get(slug="debra")
officer = StationRole.objects.get(station=station, role="duty").user
with tenant_context(station), transaction.atomic():
    areas = list(CollectionArea.objects.all())
    teams = list(EscortTeam.objects.all())
    branches = LenderBranch.objects.bulk_create(
        LenderBranch(
            lender_name=f"Busy Finance {{n}}", branch_name="Debra", kind="mfi",
            address="Main Road, Debra", manager_name="Manager", manager_phone="+919434000000",
            status="approved", decided_at=timezone.now(),
        )
        for n in range(BRANCHES)
    )
    agents = FieldAgent.objects.bulk_create(
        FieldAgent(
            branch=branch, name=f"Agent {{n}}", phone="+919733000000",
            employee_id=f"B{{branch.pk}}-{{n}}",
        )
        for branch in branches for n in range(AGENTS)
    )
    today = timezone.localdate()
    for back in range(DAYS, 0, -1):
        date = today - datetime.timedelta(days=back)
        rosters = Roster.objects.bulk_create(
            Roster(branch=branch, date=date, status="locked", filed_by=officer,
                   filed_at=timezone.now(), locked_at=timezone.now())
            for branch in branches
        )
        by_branch = {{roster.branch_id: roster for roster in rosters}}
        entries = RosterEntry.objects.bulk_create(
            RosterEntry(
                roster=by_branch[agent.branch_id], agent=agent, area=rng.choice(areas),
                centres=f"Centre {{rng.randint(1, 9)}}",
                depart_at=datetime.time(rng.randint(8, 11), rng.choice([0, 15, 30, 45])),
                return_at=datetime.time(rng.randint(13, 16), rng.choice([0, 15, 30, 45])),
                cash_band=rng.choice(["lt50k", "50k-1l", "1l-2l", "gt2l"]),
                deposit_point="Bank, Debra", created_by=officer,
            )
            for agent in agents
        )
        sheet = DutySheet.objects.create(
            date=date, version=1, status="published", origin="cutoff", build_status="done",
            built_at=timezone.now(), published_at=timezone.now(), published_by=officer,
        )
        runs = EscortRun.objects.bulk_create(
            EscortRun(sheet=sheet, team=teams[n % len(teams)], area=entries[n * 4].area,
                      start=datetime.time(9, 0), end=datetime.time(15, 0), status="completed")
            for n in range(len(entries) // 4)
        )
        RunEntry.objects.bulk_create(
            RunEntry(sheet=sheet, run=run, entry=entry)
            for n, run in enumerate(runs) for entry in entries[n * 4 : n * 4 + 4]
        )
    for back in range(DAYS, 0, -1):
        stats.refresh(date=today - datetime.timedelta(days=back))
"""


def _url_with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin(url: str):
    connection = psycopg2.connect(_url_with_database(url, "postgres"))
    connection.autocommit = True  # CREATE and DROP DATABASE run outside a transaction
    return connection


def database_drop(url: str, name: str, *, create: bool = False) -> None:
    """Drop the database `name` on the server of `url` (and make it anew, empty)."""
    connection = _admin(url)
    try:
        with connection.cursor() as cursor:
            # FORCE: a process of an interrupted drill may still hold a connection.
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            cursor.execute(drop.format(sql.Identifier(name)))
            if create:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()


def _portal_env(database_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "escort_portal.settings.production",
            "SECRET_KEY": env.get("SECRET_KEY", "restore-drill"),
            "ALLOWED_HOSTS": "testserver",
            "SECURE_SSL_REDIRECT": "false",
            # The drill reads as each person would after their second factor.
            "OTP_REQUIRED": "false",
            "DATABASE_URL": database_url,
            "SMS_GATEWAY_URL": "",
            "WHATSAPP_API_URL": "",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        }
    )
    return env


def manage(database_url: str, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        env={**_portal_env(database_url), **(env or {})},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]}: {result.stderr[-3000:]}")
    return result.stdout


def fingerprint(database_url: str, *, now: datetime.datetime) -> dict:
    """What the portal serves from this database at the instant `now`: page digests, counts."""
    output = manage(database_url, "shell", "-c", FINGERPRINT, env={"DRILL_NOW": now.isoformat()})
    return json.loads(output.strip().splitlines()[-1])


def dump(database_url: str, folder: Path) -> Path:
    result = subprocess.run(
        ["sh", str(ROOT / "deploy" / "backup.sh")],
        env={**os.environ, "DATABASE_URL": database_url, "BACKUP_DIR": str(folder)},
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(result.stdout.strip().splitlines()[-1])


def restore(dump_file: Path, database_url: str) -> None:
    subprocess.run(
        ["sh", str(ROOT / "deploy" / "restore.sh"), str(dump_file), database_url],
        capture_output=True,
        text=True,
        check=True,
    )


def drill(source_url: str, restored_name: str, folder: Path) -> dict:
    """Dump `source_url`, restore it into a new database `restored_name`, compare them."""
    restored_url = _url_with_database(source_url, restored_name)
    started = time.perf_counter()
    dump_file = dump(source_url, folder)
    dump_seconds = time.perf_counter() - started
    database_drop(source_url, restored_name, create=True)
    started = time.perf_counter()
    restore(dump_file, restored_url)
    restore_seconds = time.perf_counter() - started
    now = datetime.datetime.now(datetime.UTC)
    before, after = fingerprint(source_url, now=now), fingerprint(restored_url, now=now)
    return {
        "now": now,
        "dump_seconds": dump_seconds,
        "restore_seconds": restore_seconds,
        "dump_bytes": dump_file.stat().st_size,
        "pages": len(before["pages"]),
        "counts": before["counts"],
        "same": before == after,
        "differences": sorted(
            path for path in before["pages"] if before["pages"][path] != after["pages"].get(path)
        )
        + ([] if before["counts"] == after["counts"] else ["counts"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--busy-days", type=int, default=0, help="past days of a busy Debra")
    parser.add_argument("--keep", action="store_true", help="keep the two databases")
    options = parser.parse_args()

    # The checkout's own database server and name (from .env, as the settings read it).
    environ.Env.read_env(ROOT / ".env")
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/escort_portal")
    name = f"{urlsplit(base).path.lstrip('/')}_drill"
    source = _url_with_database(base, name)
    database_drop(base, name, create=True)
    seeding = time.perf_counter()
    manage(source, "migrate_schemas", "--verbosity=0")
    manage(source, "seed_demo")
    if options.busy_days:
        manage(source, "shell", "-c", BUSY.format(days=options.busy_days))
    seeded_seconds = time.perf_counter() - seeding
    try:
        with tempfile.TemporaryDirectory() as folder:
            result = drill(source, f"{name}_restored", Path(folder))
    finally:
        if not options.keep:
            database_drop(base, name)
            database_drop(base, f"{name}_restored")
    counts = result["counts"]
    stations = [value for key, value in counts.items() if isinstance(value, dict)]
    label = f"demo + {options.busy_days} busy days at Debra" if options.busy_days else "demo"
    print(
        "| data | stations | roster entries | sheets | audit changes | dump MB | dump s "
        "| restore s | pages compared | same |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    print(
        f"| {label} | {len(stations)} | {sum(s['entries'] for s in stations):,} "
        f"| {sum(s['sheets'] for s in stations):,} | {sum(s['audit'] for s in stations):,} "
        f"| {result['dump_bytes'] / 1e6:.1f} | {result['dump_seconds']:.1f} "
        f"| {result['restore_seconds']:.1f} | {result['pages']} "
        f"| {'yes' if result['same'] else 'NO: ' + ', '.join(result['differences'])} |"
    )
    digest = hashlib.sha256(json.dumps(counts, sort_keys=True).encode()).hexdigest()[:12]
    print(f"(seeding took {seeded_seconds:.0f} s; counts digest {digest})")
    return 0 if result["same"] else 1


if __name__ == "__main__":
    sys.exit(main())
