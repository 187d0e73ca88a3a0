"""Who did it, one way: a service takes `by` only to write it on the row it changes (a stamp
such as `updated_by`); for everything else the audit trail's context is the one record."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.conf import settings

from escorts.models import EscortTeam
from escorts.tests.factories import TeamFactory
from stations.models import StationRole
from stations.routing import station_reverse
from stations.tests.factories import StationRoleFactory

APPS = ("stations", "lenders", "incidents", "escorts", "notifications", "chat")


def _functions_taking_by_they_never_read():
    for app in APPS:
        for path in sorted((Path(settings.BASE_DIR) / app).rglob("*.py")):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                params = {a.arg for a in node.args.args + node.args.kwonlyargs}
                read = any(
                    isinstance(n, ast.Name) and n.id == "by" and isinstance(n.ctx, ast.Load)
                    for n in ast.walk(node)
                )
                if "by" in params and not read:
                    yield f"{path.relative_to(settings.BASE_DIR)}:{node.lineno} {node.name}"


def test_no_service_takes_a_person_it_does_not_write():
    assert list(_functions_taking_by_they_never_read()) == []


@pytest.mark.django_db
def test_a_delete_through_the_page_records_who_did_it_in_the_trail(in_debra, client_for):
    oc = StationRoleFactory(station=in_debra, role=StationRole.Role.OFFICER_IN_CHARGE).user
    team = TeamFactory()
    response = client_for(oc).post(station_reverse(in_debra, "escorts:team_delete", team.pk))

    assert response.status_code == 302
    assert not EscortTeam.objects.filter(pk=team.pk).exists()
    deleted = EscortTeam.pgh_event_model.objects.get(pgh_obj_id=team.pk, pgh_label="delete")
    assert deleted.pgh_context["user"] == oc.pk
