"""New station schemas from a snapshot of the template schema.

django-tenants' `clone_schema` looks every object up through `information_schema` views that
span the whole catalog, so with 500 stations one creation took 46 s. Here `pg_dump` writes the
template once per migration state (its own catalog queries are limited to the one schema, and it
knows every kind of object: pgtrigger's functions and triggers, identity sequences, partial
indexes), and each new station replays that script under its own name in one transaction: the
cost is the template's size, whatever the number of stations.

A station's tables keep the ids of the users (in public) who filed, decided or changed something,
without a foreign-key constraint (`db_constraint=False`): each such constraint would hang two
triggers per station on the users' table, which every new station's constraints, every
connection's first look at that table and every change of a user then have to go through (27
constraints a station: 27,000 triggers at 500 stations, the 500th creation 0.69 s against 0.14 s
for the 5th). Users are disabled, never deleted (the admin offers no deletion), so the ids stay
good.
"""

from __future__ import annotations

import os
import re
import subprocess

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction

from .models import TemplateSnapshot

# pg_dump sets these for its own session; replaying them would leave the connection's search
# path empty, behind django-tenants' back (it sets the path once per connection). The script
# names every object with its schema, so nothing needs them. `\restrict` is for psql only.
_FOR_PSQL_SESSION = re.compile(
    r"^(SET \w+ = .*;|SELECT pg_catalog\.set_config\('search_path', '', false\);"
    r"|\\(un)?restrict \w+)$",
    re.M,
)


def template_state() -> str:
    """Which migrations the template schema has: changes whenever `migrate_schemas` applies or
    unapplies one there."""
    with connection.cursor() as cursor:
        table = f'"{settings.TENANT_BASE_SCHEMA}".django_migrations'
        cursor.execute(f"SELECT count(*), coalesce(max(id), 0) FROM {table}")  # noqa: S608 - a setting
        count, last = cursor.fetchone()
    return f"{count}:{last}"


def _pg_dump(schema_name: str) -> str:
    db = connection.settings_dict
    command = ["pg_dump", "--schema", schema_name, "--inserts", "--no-owner", "--no-privileges"]
    command += ["--no-comments", "--dbname", db["NAME"]]
    if db.get("HOST"):
        command += ["--host", db["HOST"]]
    if db.get("PORT"):
        command += ["--port", str(db["PORT"])]
    if db.get("USER"):
        command += ["--username", db["USER"]]
    env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
    try:
        # A fixed program; its arguments come from the database settings.
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    except FileNotFoundError as exc:
        raise ImproperlyConfigured(
            "pg_dump (the PostgreSQL client) is needed to create stations; install it."
        ) from exc
    if done.returncode != 0:
        raise RuntimeError(f"pg_dump of {schema_name} failed: {done.stderr.strip()}")
    return _FOR_PSQL_SESSION.sub("", done.stdout)


def snapshot_take() -> TemplateSnapshot:
    """Snapshot the template as it is now; older snapshots go."""
    state = template_state()
    sql = _pg_dump(settings.TENANT_BASE_SCHEMA)
    with transaction.atomic():
        TemplateSnapshot.objects.exclude(state=state).delete()
        snapshot, _ = TemplateSnapshot.objects.update_or_create(state=state, defaults={"sql": sql})
    return snapshot


def snapshot_current() -> TemplateSnapshot:
    """The snapshot of the template's present state, taken now if migrations ran since."""
    snapshot = TemplateSnapshot.objects.filter(state=template_state()).first()
    return snapshot or snapshot_take()


def schema_create_from_template(schema_name: str) -> None:
    """Create `schema_name` as a copy of the template: structure and rows (its migration
    records among them, so it needs no migrating). All or nothing."""
    script = re.sub(
        rf"\b{re.escape(settings.TENANT_BASE_SCHEMA)}\b",
        # Quoted, so a name needing quotes works; inside string literals too (regclass input).
        '"' + schema_name.replace('"', '""') + '"',
        snapshot_current().sql,
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(script)
