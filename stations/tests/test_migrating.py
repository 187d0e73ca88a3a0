"""migrate_schemas enters the template and the stations whose migrations differ from it."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django_tenants.signals import schema_migrated

pytestmark = pytest.mark.django_db

# A migration whose operations change nothing in the database (choices only), so a schema can
# be put behind it and migrated again inside a test.
APP, NAME = "admin", "0003_logentry_add_action_flag_choices"


def _applied(schema_name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT count(*) FROM "{schema_name}".django_migrations WHERE app = %s AND name = %s',  # noqa: S608
            [APP, NAME],
        )
        return cursor.fetchone()[0] == 1


@pytest.fixture
def migrated():
    schemas: list[str] = []

    def record(sender: object, schema_name: str, **kwargs: object) -> None:
        schemas.append(schema_name)

    schema_migrated.connect(record)
    yield schemas
    schema_migrated.disconnect(record)


def test_stations_at_the_templates_migrations_are_skipped_and_one_behind_is_migrated(
    debra, pingla, migrated, capsys
):
    with connection.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM "{pingla.schema_name}".django_migrations WHERE app = %s AND name = %s',  # noqa: S608
            [APP, NAME],
        )
    call_command("migrate_schemas", tenant=True, verbosity=1)
    assert migrated == [settings.TENANT_BASE_SCHEMA, pingla.schema_name]
    assert _applied(pingla.schema_name)
    assert "migrating the other 1." in capsys.readouterr().out


def test_the_standard_executor_still_enters_every_station(debra, pingla, migrated):
    call_command("migrate_schemas", tenant=True, executor="standard", verbosity=0)
    assert {debra.schema_name, pingla.schema_name} <= set(migrated)
