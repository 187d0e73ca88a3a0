"""Audit trail: django-auditlog against django-pghistory, on the portal's own writes and reads.

    python -m benchmarks.audit.run [--ops 600] [--events 60000]

A database of its own (escort_portal_audit, or BENCH_AUDIT_DATABASE_URL), recreated each run,
with a table of roster entries per way of keeping history: none, django-auditlog (signals
write a LogEntry row from Python) and django-pghistory (a trigger writes an event row inside
PostgreSQL). Every write runs in its own transaction with the acting user attached, as a
request does (auditlog's set_actor, pghistory's context).

Writes, the ways the portal changes entries: file one, edit one (two fields), remove one, lock
a day's roster (a queryset update of 30 rows), assign 30 entries to a run (bulk_create).
For each: median and p95 time of the transaction, round trips, audit rows written against rows
changed (the share of changes the trail holds), and bytes of audit storage per change.

Reads, the officer-in-charge's trail page after 90 days of a busy station (--events changes
over sixteen kinds of object): the newest 50 changes, the newest 50 by one person, and one
entry's history, each read the library's own way (auditlog's LogEntry manager, pghistory's
Events aggregate, which works out every event's diff before it filters) and, for pghistory, the
way the portal's trail page reads: the newest 51 of each event table through its time index,
merged in one UNION ALL, and one page of 50 with its changes (`escort_portal.audit`; the 51st
says whether there is an older page, instead of a count). Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import statistics
import time
from collections import Counter
from contextlib import contextmanager
from functools import partial

from benchmarks.openloop import percentile

os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.audit.settings"

DAY_SIZE = 30


def prepare() -> None:
    import django
    import psycopg2
    from psycopg2 import sql

    from escort_portal.devservices import _pg_params

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    name = settings.DATABASES["default"]["NAME"]
    url = os.environ.get("BENCH_AUDIT_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{name}")
    conn = psycopg2.connect(**_pg_params(url, "postgres"))
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    conn.close()
    call_command("migrate", verbosity=0)


class RoundTrips:
    """Counts the statements sent to PostgreSQL."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class Variant:
    """One way of keeping history: its entry table, how it attaches the actor, where it writes."""

    def __init__(self, name: str, model, actor, audit_rows) -> None:
        self.name, self.model, self.actor, self.audit_rows = name, model, actor, audit_rows


def variants(user) -> list[Variant]:
    import pghistory
    from auditlog.context import set_actor
    from auditlog.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    from .models import LoggedEntry, PlainEntry, TrackedEntry

    logged = ContentType.objects.get_for_model(LoggedEntry)
    tracked_events = TrackedEntry.pgh_event_model

    @contextmanager
    def no_actor():
        yield

    return [
        Variant("no history", PlainEntry, no_actor, lambda: 0),
        Variant(
            "django-auditlog",
            LoggedEntry,
            lambda: set_actor(user, remote_addr="127.0.0.1"),
            lambda: LogEntry.objects.filter(content_type=logged).count(),
        ),
        Variant(
            "django-pghistory",
            TrackedEntry,
            lambda: pghistory.context(user=user.pk, url="/station/x/roster/"),
            lambda: tracked_events.objects.count(),
        ),
    ]


def fields(rng: random.Random, day: int, agent, area, user) -> dict:
    start = rng.randrange(5 * 60, 20 * 60)
    return {
        "roster_day": day,
        "agent": agent,
        "area": area,
        "centres": "Kalaikunda Bazar SHG, Nimpura",
        "depart_at": datetime.time(start // 60, start % 60),
        "return_at": datetime.time(start // 60 + 1, start % 60),
        "cash_band": "50k_2l",
        "vehicle_registration": "WB34AB1234",
        "deposit_point": "SBI Kharagpur Main",
        "notes": "",
        "created_by": user,
    }


class Tally:
    """Times, statements and audit rows of one variant's writes, by kind of write."""

    def __init__(self, variant: Variant) -> None:
        self.variant = variant
        self.times: dict[str, list[float]] = {}
        self.trips: Counter = Counter()
        self.changed: Counter = Counter()
        self.recorded: Counter = Counter()

    def timed(self, label: str, work, rows_changed: int) -> None:
        from django.db import connection, transaction

        counter = RoundTrips()
        before = self.variant.audit_rows()
        with connection.execute_wrapper(counter):
            started = time.perf_counter()
            with self.variant.actor(), transaction.atomic():
                work()
            took = time.perf_counter() - started
        self.times.setdefault(label, []).append(took * 1000)
        self.trips[label] += counter.count
        self.changed[label] += rows_changed
        self.recorded[label] += self.variant.audit_rows() - before


def measure_variant(variant: Variant, ops: int, rng: random.Random, agent, area, user) -> Tally:
    model, tally = variant.model, Tally(variant)
    # Days 0..ops-1 hold one entry each to edit and remove; days from 10**6 hold whole rosters.
    model.objects.bulk_create(
        model(**fields(rng, 10**6 + day, agent, area, user))
        for day in range(ops // 10)
        for _ in range(DAY_SIZE)
    )
    for n in range(ops):
        values = fields(rng, n, agent, area, user)
        tally.timed("file an entry", partial(model.objects.create, **values), 1)
    for entry in list(model.objects.filter(roster_day__lt=ops)):
        entry.notes, entry.is_late = "Second trip after lunch", True
        tally.timed("edit an entry", entry.save, 1)
    for entry in list(model.objects.filter(roster_day__lt=ops)):
        tally.timed("remove an entry", entry.delete, 1)
    for day in range(ops // 10):
        locked = model.objects.filter(roster_day=10**6 + day)
        tally.timed("lock a day's roster (30 rows)", partial(locked.update, is_late=True), DAY_SIZE)
    for day in range(ops // 10):
        batch = [model(**fields(rng, 2 * 10**6 + day, agent, area, user)) for _ in range(30)]
        tally.timed("assign 30 entries (bulk)", partial(model.objects.bulk_create, batch), DAY_SIZE)
    return tally


def measure_writes(ops: int, user) -> list[tuple]:
    from .models import Agent, Area

    rng = random.Random(11)
    agent, area = Agent.objects.create(name="Agent"), Area.objects.create(name="Kalaikunda")
    rows = []
    for variant in variants(user):
        tally = measure_variant(variant, ops, rng, agent, area, user)
        storage = storage_per_change(variant)
        for label, times in tally.times.items():
            rows.append(
                (
                    label,
                    variant.name,
                    statistics.median(times),
                    percentile(times, 0.95),
                    tally.trips[label] / len(times),
                    f"{tally.recorded[label]} of {tally.changed[label]}",
                    storage,
                )
            )
    return rows


def storage_per_change(variant: Variant) -> str:
    from django.db import connection

    if variant.name == "no history":
        return "-"
    if variant.name == "django-auditlog":
        tables = ["auditlog_logentry"]
    else:
        tables = [variant.model.pgh_event_model._meta.db_table, "pghistory_context"]
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        size = 0
        for table in tables:
            cursor.execute("SELECT pg_total_relation_size(%s)", [table])
            size += cursor.fetchone()[0]
    return f"{size / variant.audit_rows():.0f} B"


def seed_trail(events: int, users: list) -> None:
    """The same 90 days of changes in both trails: LogEntry rows for auditlog; for pghistory,
    rows written through the tracked tables so that its triggers make the events."""
    import pghistory
    from auditlog.models import LogEntry
    from django.contrib.contenttypes.models import ContentType
    from django.db import transaction

    from .models import OTHER_KINDS, Agent, Area, TrackedEntry

    rng = random.Random(5)
    agent, area = Agent.objects.first(), Area.objects.first()
    kinds = [TrackedEntry, *OTHER_KINDS]
    per_kind = events // len(kinds)
    for kind in kinds:
        content_type = ContentType.objects.get_for_model(kind)
        for start in range(0, per_kind, 1000):
            user = rng.choice(users)
            with pghistory.context(user=user.pk, url="/station/x/roster/"), transaction.atomic():
                created = kind.objects.bulk_create(
                    kind(**fields(rng, 3 * 10**6 + start, agent, area, user))
                    for _ in range(min(1000, per_kind - start))
                )
            LogEntry.objects.bulk_create(
                LogEntry(
                    content_type=content_type,
                    object_pk=str(row.pk),
                    object_id=row.pk,
                    object_repr=f"Entry {row.pk}",
                    action=LogEntry.Action.CREATE,
                    changes={"notes": ["None", "Second trip"], "is_late": ["False", "True"]},
                    actor=rng.choice(users),
                    remote_addr="127.0.0.1",
                )
                for row in created
            )


def measure_reads(repeat: int, users: list) -> list[tuple]:
    from auditlog.models import LogEntry
    from django.db import connection
    from django.db.models import Q
    from pghistory.models import Events

    from escort_portal import audit

    from .models import TrackedEntry

    person = users[0]
    entry = TrackedEntry.objects.order_by("pk").last()
    tables = {table: Q() for table in audit.event_models(app_labels=["audit_bench"])}
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    # What a trail page does: auditlog's would count for its pager, then read one page with its
    # changes; the portal's reads one more row than the page instead of counting.
    def logged_page(entries) -> list:
        return [entries.count(), [entry.changes_dict for entry in entries[:50]]]

    def page(**filters) -> list:
        return audit.rows(audit.trail(tables, limit=51, **filters)[:50])

    reads = {
        "newest 50 changes": {
            "django-auditlog": lambda: logged_page(
                LogEntry.objects.select_related("actor", "content_type")
            ),
            "django-pghistory, its Events aggregate": lambda: list(
                Events.objects.order_by("-pgh_created_at")[:50]
            ),
            "django-pghistory, the portal's trail page": page,
        },
        "newest 50 by one person": {
            "django-auditlog": lambda: logged_page(
                LogEntry.objects.filter(actor=person).select_related("content_type")
            ),
            "django-pghistory, its Events aggregate": lambda: list(
                Events.objects.filter(pgh_context__user=person.pk).order_by("-pgh_created_at")[:50]
            ),
            "django-pghistory, the portal's trail page": lambda: page(user_ids=[person.pk]),
        },
        "one entry's history": {
            "django-auditlog": lambda: list(LogEntry.objects.get_for_object(entry)),
            "django-pghistory, its Events aggregate": lambda: list(
                Events.objects.tracks(entry).order_by("-pgh_created_at")
            ),
        },
    }
    rows = []
    for label, readers in reads.items():
        for name, read in readers.items():
            read()
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                read()
                times.append((time.perf_counter() - started) * 1000)
            rows.append((label, name, statistics.median(times), max(times)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=600, help="transactions per kind of write")
    parser.add_argument("--events", type=int, default=60000, help="changes in the read trail")
    parser.add_argument("--repeat", type=int, default=10, help="times each read is timed")
    args = parser.parse_args()
    prepare()
    from django.contrib.auth.models import User

    users = [User.objects.create(username=f"officer{n}") for n in range(20)]
    writes = measure_writes(args.ops, users[0])
    print(f"\nWrites: {args.ops} transactions of each kind (30-row kinds: {args.ops // 10})\n")
    print(
        "| write | history kept by | median ms | p95 ms | round trips | changes recorded "
        "| audit bytes per change |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for label, name, median, p95, trips, recorded, storage in sorted(writes, key=lambda r: r[0]):
        print(
            f"| {label} | {name} | {median:.2f} | {p95:.2f} | {trips:.1f} | {recorded} "
            f"| {storage} |"
        )
    seed_trail(args.events, users)
    reads = measure_reads(args.repeat, users)
    print(f"\nReads: the audit page over {args.events:,} changes of 16 kinds of object\n")
    print("| read | history kept by | median ms | slowest ms |")
    print("|---|---|---:|---:|")
    for label, name, median, slowest in reads:
        print(f"| {label} | {name} | {median:.1f} | {slowest:.1f} |")


if __name__ == "__main__":
    main()
