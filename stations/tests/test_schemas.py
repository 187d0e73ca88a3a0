"""A new station's schema is the template's, replayed from its snapshot."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from stations import schemas, services
from stations.models import TemplateSnapshot

pytestmark = pytest.mark.django_db

# Each query lists one kind of object of schema %(s)s, its definition written by PostgreSQL
# itself, so the comparison is independent of how the schema was made.
CATALOG = {
    "columns": """
        SELECT c.relname, c.relkind, a.attname, format_type(a.atttypid, a.atttypmod),
               a.attnotnull, a.attidentity, pg_get_expr(d.adbin, d.adrelid)
        FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
        LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
        WHERE c.relnamespace = %(s)s::regnamespace AND a.attnum > 0 AND NOT a.attisdropped""",
    "indexes": """
        SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = %(s)s::regnamespace""",
    "constraints": """
        SELECT conname, conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE connamespace = %(s)s::regnamespace""",
    "triggers": """
        SELECT t.tgname, t.tgenabled, pg_get_triggerdef(t.oid) FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = %(s)s::regnamespace AND NOT t.tgisinternal""",
    "functions": """
        SELECT proname, prosrc, prorettype::regtype::text FROM pg_proc
        WHERE pronamespace = %(s)s::regnamespace""",
    "sequences": """
        SELECT sequencename, data_type::text, start_value, increment_by, last_value
        FROM pg_sequences WHERE schemaname = %(s)s""",
}


# PostgreSQL writes back `x IN ('a', 'b')` on a varchar with its casts in other places after a
# dump and restore (`ARRAY[('a'::varchar)::text]` for `(ARRAY['a'::varchar])::text[]`): the same
# condition. Casts and parentheses are left out of what is compared.
CASTS = re.compile(r"::[\w ]+(\[\])?|[()]")


def _catalog(schema_name: str) -> dict[str, list]:
    found = {}
    with connection.cursor() as cursor:
        for kind, query in CATALOG.items():
            cursor.execute(query, {"s": schema_name})
            found[kind] = sorted(
                tuple(CASTS.sub("", str(v).replace(schema_name, "<schema>")) for v in row)
                for row in cursor.fetchall()
            )
        cursor.execute(f'SELECT app, name FROM "{schema_name}".django_migrations')  # noqa: S608
        found["migrations"] = sorted(cursor.fetchall())
        cursor.execute(f'SELECT id, app_label, model FROM "{schema_name}".django_content_type')  # noqa: S608
        found["content_types"] = sorted(cursor.fetchall())
    return found


def _station(debra, slug: str = "keshiary"):
    return services.station_create(slug=slug, name="Keshiary", subdivision=debra.subdivision)


def test_a_new_station_has_every_object_of_the_template(debra):
    template = _catalog(settings.TENANT_BASE_SCHEMA)
    station = _station(debra)
    copy = _catalog(station.schema_name)
    for kind in template:
        assert copy[kind] == template[kind], kind
    # The audit trail's triggers are among what is compared, not missing from both.
    assert len(template["triggers"]) > 20
    assert len(template["migrations"]) > 20
    assert len(template["content_types"]) > 20


def test_it_creates_a_station_without_looking_through_the_whole_catalog(debra):
    # information_schema views span every station's objects: a creation that reads them
    # grows slower with every station.
    with CaptureQueriesContext(connection) as queries:
        _station(debra)
    assert not [q for q in queries.captured_queries if "information_schema" in q["sql"]]


def test_the_template_is_snapshotted_again_when_migrated(debra):
    TemplateSnapshot.objects.all().delete()
    call_command(
        "migrate_schemas", schema_name=settings.TENANT_BASE_SCHEMA, interactive=False, verbosity=0
    )
    connection.set_schema_to_public()
    assert TemplateSnapshot.objects.get().state == schemas.template_state()


def test_a_station_is_made_even_when_no_snapshot_was_taken_yet(debra):
    TemplateSnapshot.objects.all().delete()
    station = _station(debra)
    assert (
        _catalog(station.schema_name)["triggers"]
        == _catalog(settings.TENANT_BASE_SCHEMA)["triggers"]
    )
    assert TemplateSnapshot.objects.count() == 1


def test_a_new_station_adds_nothing_to_the_public_tables(debra):
    # A constraint from a station's table into public hangs two triggers per station on the
    # public table: the 500th station took 27 x 500 of them into account at its creation, and
    # every connection loaded them with the users' table.
    def public_triggers() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE c.relnamespace = 'public'::regnamespace"
            )
            return cursor.fetchone()[0]

    before = public_triggers()
    station = _station(debra)
    assert public_triggers() == before
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
            "WHERE contype = 'f' AND connamespace = %s::regnamespace "
            "AND confrelid NOT IN (SELECT oid FROM pg_class WHERE relnamespace = %s::regnamespace)",
            [station.schema_name, station.schema_name],
        )
        assert cursor.fetchall() == []
