"""The database role the portal runs as, kept apart from the role that owns the schema.

Migrations and station creation run as the owner (in compose, the migrate service's
`DATABASE_URL`, its `POSTGRES_USER`); web, worker and beat connect with `DATABASE_URL` as a role
that owns nothing (`app_role_create` makes it), to which `app_role_grant` gives what the portal
needs in every schema: read and write its tables and sequences, never create, alter or drop a
table, never disable a trigger. On the audit trail's event tables it may only read and append:
no UPDATE, DELETE or TRUNCATE, so `SET pgtrigger.ignore`, which passes the append-only
triggers, gains it nothing. The one exception is the retention job's: UPDATE of exactly the
personal-detail columns it clears (registered here by the app that keeps them,
`register_clearable`), so old details can still be blanked and nothing else rewritten.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import connection
from django.db.models import Model
from psycopg2 import sql

from escort_portal import audit

from .selectors import station_list_live

# Tracked model -> the columns the retention job may clear in its event table. The app that owns
# the retention job registers them in its AppConfig.ready(): the base app imports no other app.
_clearable: dict[type[Model], list[str]] = {}


def register_clearable(columns: Mapping[type[Model], Iterable[str]]) -> None:
    """Let the retention job clear these columns of these models' audit copies."""
    for model, names in columns.items():
        _clearable[model] = list(names)


def _event_tables() -> list[tuple[str, list[str]]]:
    """Every event table with the columns the retention job may clear in it."""
    from django.apps import apps
    from django.conf import settings

    labels = {app.split(".")[-1] for app in settings.INSTALLED_APPS}
    labels &= {config.label for config in apps.get_app_configs()}
    clearable = {audit.event_model_of(model): names for model, names in _clearable.items()}
    return [
        (model._meta.db_table, clearable.get(model, []))
        for model in audit.event_models(app_labels=sorted(labels))
    ]


def _schemas() -> list[str]:
    from django.conf import settings

    stations = [station.schema_name for station in station_list_live()]
    schemas = ["public", settings.TENANT_BASE_SCHEMA, *stations]
    # A new deployment has no template until its first station is made (which grants it then).
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", [schemas])
        present = {row[0] for row in cursor.fetchall()}
    return [schema for schema in schemas if schema in present]


def app_role_create(*, role: str, password: str = "") -> bool:
    """Make `role` a login role if it is missing, and give it `password` when one is set; run as
    a role that may create roles (compose's POSTGRES_USER). Returns whether it was made."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        made = cursor.fetchone() is None
        if made:
            cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        if password:
            cursor.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
    return made


def app_role_grant(*, role: str, schemas: list[str] | None = None) -> list[str]:
    """Give `role` the portal's rights in these schemas (default: public, the template and
    every station); run as the owner of the tables. Idempotent. Returns the schemas done."""
    schemas = schemas or _schemas()
    events = _event_tables()
    who = sql.Identifier(role)
    with connection.cursor() as cursor:
        for schema in schemas:
            where = sql.Identifier(schema)
            for statement in (
                "GRANT USAGE ON SCHEMA {where} TO {who}",
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {where} TO {who}",
                "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {where} TO {who}",
                "ALTER DEFAULT PRIVILEGES IN SCHEMA {where} "
                "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {who}",
                "ALTER DEFAULT PRIVILEGES IN SCHEMA {where} "
                "GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {who}",
            ):
                cursor.execute(sql.SQL(statement).format(where=where, who=who))
            for table, clearable in events:
                cursor.execute("SELECT to_regclass(%s)", [f'"{schema}"."{table}"'])
                if cursor.fetchone()[0] is None:
                    continue
                name = sql.Identifier(schema, table)
                cursor.execute(
                    sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {name} FROM {who}").format(
                        name=name, who=who
                    )
                )
                if clearable:
                    cursor.execute(
                        sql.SQL("GRANT UPDATE ({columns}) ON {name} TO {who}").format(
                            columns=sql.SQL(", ").join(map(sql.Identifier, clearable)),
                            name=name,
                            who=who,
                        )
                    )
    return schemas
