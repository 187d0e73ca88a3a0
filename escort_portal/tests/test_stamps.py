"""The created/updated stamp fields are declared once, in `escort_portal.stamps`."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db.models import Q
from pghistory.models import Event

from escort_portal import audit
from escort_portal.stamps import CreatedStamp, FiledStamp, UpdatedStamp
from escorts.models import EscortTeam
from escorts.tests.factories import TeamFactory
from stations.tests.factories import UserFactory

# An API key must always have a maker and labels its date "created": it keeps its own fields.
OWN_STAMP = {"lenders.BranchApiKey"}


def _models_with(field_name):
    for model in apps.get_models():
        if model._meta.app_label in {
            "stations",
            "lenders",
            "incidents",
            "escorts",
            "notifications",
        }:
            # The audit trail's event tables copy the fields of the rows they record.
            if issubclass(model, Event):
                continue
            if field_name in {f.name for f in model._meta.get_fields()}:
                yield model


def test_every_model_stamped_with_its_maker_takes_the_stamp_from_one_place():
    own = {
        model._meta.label
        for model in _models_with("created_by")
        if not issubclass(model, CreatedStamp | FiledStamp)
    }
    assert own == OWN_STAMP


def test_every_model_stamped_with_its_last_editor_takes_the_stamp_from_one_place():
    own = {
        model._meta.label
        for model in _models_with("updated_by")
        if not issubclass(model, UpdatedStamp)
    }
    assert own == set()


@pytest.mark.django_db
def test_the_trail_lists_what_changed_before_who_stamped_the_row(in_debra):
    editor = UserFactory()
    team = TeamFactory(vehicle="Bolero WB-33-1234")
    team.vehicle = "Scorpio WB-33-9999"
    team.updated_by = editor
    team.save()

    newest = audit.rows(audit.trail({EscortTeam.pgh_event_model: Q()}, limit=1))[0]
    assert [change.field for change in newest.changes] == ["vehicle", "updated by"]
