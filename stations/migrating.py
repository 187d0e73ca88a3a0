"""`migrate_schemas` that enters only the stations with something to apply.

django-tenants runs Django's `migrate` in every schema, one after the other: with 500 stations
and nothing to apply that took 228 s (each `migrate` loads the migration graph and checks the
schema). Every station is made from the template schema and migrated with it, so a station
whose applied migrations are exactly the template's, once the template is migrated, has
nothing to apply: it is skipped, found for all stations at once in one query. Any other schema
(one behind, one that failed half-way, one with a migration the code no longer has) is
migrated as before.

Chosen by django-tenants' GET_EXECUTOR_FUNCTION setting: this is the default executor;
`migrate_schemas --executor=standard` (or `multiprocessing`) enters every schema as before.
"""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.db import connection
from django_tenants.migration_executors import get_executor as library_executor
from django_tenants.migration_executors.base import MigrationExecutor
from django_tenants.migration_executors.standard import StandardExecutor

CODENAME = "skip-current"


def get_executor(codename: str | None = None) -> type[MigrationExecutor]:
    if codename in (None, CODENAME):
        return CurrentSkippingExecutor
    return library_executor(codename)


def _applied(schema_name: str) -> str:
    """A subquery: the schema's applied migrations as one comparable text."""
    table = f"{connection.ops.quote_name(schema_name)}.django_migrations"
    return f"SELECT string_agg(app || '.' || name, ',' ORDER BY app, name) FROM {table}"  # noqa: S608


def schemas_behind(schema_names: list[str], *, reference: str) -> list[str]:
    """Those of `schema_names` whose applied migrations are not exactly `reference`'s, in the
    order given: two queries whatever the number of schemas."""
    with connection.cursor() as cursor:
        # A schema without the table (never migrated) is behind; the others are compared.
        cursor.execute(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = 'django_migrations' AND c.relkind = 'r' AND n.nspname = ANY(%s)",
            [[*schema_names, reference]],
        )
        with_table = {name for (name,) in cursor.fetchall()}
        if reference not in with_table:
            return list(schema_names)
        compared = [name for name in schema_names if name in with_table]
        # Schema names found in the catalog, quoted; every value is a parameter.
        union = " UNION ALL ".join(
            f"SELECT %s, ({_applied(name)})" for name in [reference, *compared]
        )
        cursor.execute(union, [reference, *compared])
        applied = dict(cursor.fetchall())
    return [name for name in schema_names if applied.get(name) != applied[reference]]


class CurrentSkippingExecutor(MigrationExecutor):
    """django-tenants' standard executor, for public, the template and the stations behind it.

    A subclass of the library's base class, not of its standard executor: django-tenants finds
    executors by their codename among the base class's direct subclasses.
    """

    codename = CODENAME

    def run_migrations(self, tenants: Any = None) -> None:
        tenants = list(tenants or [])
        standard = StandardExecutor(self.args, self.options)
        template = settings.TENANT_BASE_SCHEMA
        # A target migration (`migrate_schemas app 0003`) or a single schema: as before.
        if self.args or template not in tenants or len(tenants) <= 2:
            standard.run_migrations(tenants=tenants)
            return
        first = [name for name in (self.PUBLIC_SCHEMA_NAME, template) if name in tenants]
        standard.run_migrations(tenants=first)
        stations = [name for name in tenants if name not in first]
        behind = schemas_behind(stations, reference=template)
        if int(self.options.get("verbosity", 1)) >= 1:
            sys.stdout.write(
                f"{len(stations) - len(behind)} of {len(stations)} stations already have every "
                f"migration the template has; migrating the other {len(behind)}.\n"
            )
        if behind:
            standard.run_migrations(tenants=behind)

    def run_multi_type_migrations(self, tenants: Any) -> None:
        StandardExecutor(self.args, self.options).run_multi_type_migrations(tenants)
