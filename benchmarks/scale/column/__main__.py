"""A real one-column migration over every station of the scale benchmark's database.

    python -m benchmarks.scale.column

On the database `python -m benchmarks.scale.run` made (500 real stations by default), with the
settings of `benchmarks.scale.settings` (this app installed beside the portal's), it times
`migrate_schemas` three ways: the migration applied (the template first, then every station),
`migrate_schemas` again with nothing to apply, and the migration unapplied (back to zero, which
enters every schema). It checks the column is in every station's table in between, and leaves the
database as it found it. Prints a Markdown table with the machine's load.
"""

from __future__ import annotations

import os
import time

os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.scale.settings"

from benchmarks.scale import run as scale


def _timed(*args: str, **options: object) -> float:
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate_schemas", *args, verbosity=0, **options)
    return time.perf_counter() - started


def _schemas_with_column() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "WHERE c.relname = 'lenders_rosterentry' AND a.attname = 'scale_probe' "
            "AND NOT a.attisdropped"
        )
        return cursor.fetchone()[0]


def main() -> None:
    import django

    django.setup()
    from stations.models import Station

    stations = Station.objects.live().count()
    print(f"{stations} real stations; start: {scale.load()}", flush=True)
    forward = _timed(tenant=True)
    with_column = _schemas_with_column()
    nothing = _timed(tenant=True)
    back = _timed("scale_column", "zero", tenant=True)
    left = _schemas_with_column()
    print()
    print(f"{stations} real stations; end: {scale.load()}")
    print()
    print("| `migrate_schemas` | at stations | seconds | schemas with the column after |")
    print("|---|---:|---:|---:|")
    rows = [
        ("one column added (the template, then each station)", forward, with_column),
        ("again, nothing to apply", nothing, with_column),
        ("the column taken away again (every schema)", back, left),
    ]
    for what, seconds, schemas in rows:
        print(f"| {what} | {stations} | {seconds:.1f} | {schemas} |")


if __name__ == "__main__":
    main()
