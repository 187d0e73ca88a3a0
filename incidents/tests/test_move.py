"""A station whose incidents and SOS alerts were written while they were part of `lenders` keeps
them, and their audit trail, once migrated: the move renames nothing but triggers and content
types, and the triggers then answer to the new app's names."""

from __future__ import annotations

import hashlib

import pgtrigger
import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from incidents import selectors, services
from incidents.models import Incident, SosAlert
from lenders.tests.factories import EntryFactory
from stations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

AT_MAIN = [("lenders", "0010_roster_no_collection"), ("incidents", None)]
MOVED = [("incidents", "0001_initial")]
TABLES = ["lenders_incident", "lenders_incidentevent", "lenders_sosalert", "lenders_sosalertevent"]


def _migrate(targets: list) -> MigrationExecutor:
    # Foreign keys are checked at commit; PostgreSQL refuses to change the triggers of a table
    # with checks pending, so run them now.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor


def _triggers() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = ANY(%s) AND NOT t.tgisinternal ORDER BY 1, 2",
            [connection.schema_name, TABLES],
        )
        return cursor.fetchall()


def _pgids(app_label: str) -> list[tuple[str, str]]:
    """The triggers pgtrigger names after `<app_label>.<Model>:<trigger>`."""
    found = []
    for model in (Incident, SosAlert, Incident.pgh_event_model, SosAlert.pgh_event_model):
        for trigger in model._meta.triggers:
            uri = f"{app_label}.{model._meta.object_name}:{trigger.name}"
            digest = hashlib.sha1(uri.encode(), usedforsecurity=False).hexdigest()[:5]
            found.append((model._meta.db_table, f"pgtrigger_{trigger.name}_{digest}"))
    return sorted(found)


def test_a_station_migrated_from_lenders_keeps_its_incidents_sos_and_trail(in_debra):
    entry = EntryFactory(roster__date=timezone.localdate(), roster__status="filed")
    officer = UserFactory()

    old = _migrate(AT_MAIN).loader.project_state(AT_MAIN[0]).apps
    assert _triggers() == _pgids("lenders")
    content_type, _ = ContentType.objects.get_or_create(app_label="lenders", model="incident")
    incident = old.get_model("lenders", "Incident").objects.create(
        occurred_at=timezone.now(),
        kind="sos",
        status="open",
        area_id=entry.area_id,
        agent_id=entry.agent_id,
        reported_by_id=officer.pk,
        narrative="SOS pressed by the field agent.",
    )
    alert = old.get_model("lenders", "SosAlert").objects.create(
        entry_id=entry.pk, raised_by_id=officer.pk, incident_id=incident.pk, latitude="22.37"
    )

    _migrate(MOVED)

    assert _triggers() == _pgids("incidents")
    moved = SosAlert.objects.select_related("incident").get(pk=alert.pk)
    assert moved.incident.narrative == "SOS pressed by the field agent."
    assert list(selectors.sos_list_open()) == [moved]
    assert Incident.pgh_event_model.objects.filter(pgh_obj_id=incident.pk).count() == 1
    services.sos_acknowledge(alert=moved, by=officer)
    # One event for one change: the trigger under the old name is gone, not doubled.
    assert SosAlert.pgh_event_model.objects.filter(pgh_obj_id=alert.pk).count() == 2
    # The retention job passes the triggers by their names in the new app.
    with pgtrigger.ignore("incidents.Incident:update_update"):
        Incident.objects.filter(pk=incident.pk).update(narrative="")
    assert Incident.pgh_event_model.objects.filter(pgh_obj_id=incident.pk).count() == 1
    assert ContentType.objects.filter(app_label="incidents", model="incident").get().pk == (
        content_type.pk
    )
