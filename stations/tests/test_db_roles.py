"""The portal's database role owns nothing: the audit trail cannot be rewritten through it.

On a PostgreSQL of the test's own (roles belong to a whole server), loaded with a copy of the
test database, as a deployment is: the owner migrated it, then granted the app role."""

from __future__ import annotations

import subprocess
import sys

import psycopg2
import pytest
from django.conf import settings
from psycopg2 import errors

pytestmark = pytest.mark.django_db

EVENTS = '"debra"."lenders_rosterentryevent"'


def _manage(database_url: str, *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={
            "PATH": "/usr/bin:/bin:/usr/local/bin",
            "DJANGO_SETTINGS_MODULE": "escort_portal.settings.test",
            "DATABASE_URL": database_url,
        },
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _refused(app, statement: str) -> bool:
    with app.cursor() as cursor:
        try:
            cursor.execute(statement)
        except (errors.InsufficientPrivilege, errors.lookup("42501")):
            app.rollback()
            return True
        except psycopg2.Error as exc:
            app.rollback()
            return "must be owner" in str(exc)
    app.rollback()
    return False


def test_the_app_role_cannot_truncate_rewrite_or_unprotect_the_audit_trail(private_postgres):
    private_postgres.query("CREATE ROLE escort_app LOGIN; SELECT 1")
    _manage(private_postgres.url, "grant_app_role", "escort_app")
    app_url = private_postgres.url.replace("postgres@", "escort_app@")

    app = psycopg2.connect(app_url)
    try:
        with app.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {EVENTS}")  # noqa: S608 - a fixed name
        app.rollback()
        assert _refused(app, f"TRUNCATE {EVENTS}")
        assert _refused(app, f"DELETE FROM {EVENTS}")  # noqa: S608
        bypass = "SET LOCAL pgtrigger.ignore = 'lenders.RosterEntryEvent:append_only';"
        assert _refused(app, bypass + f"UPDATE {EVENTS} SET pgh_created_at = now()")  # noqa: S608
        assert _refused(app, f"ALTER TABLE {EVENTS} DISABLE TRIGGER ALL")
        assert _refused(app, 'CREATE TABLE "debra".rewritten (id int)')
    finally:
        app.close()
    # What the portal itself does still works as that role, the retention job's clearing of
    # old details in the trail included.
    _manage(app_url, "apply_retention")
