"""The created/updated stamp fields are declared once, in `escort_portal.stamps`."""

from __future__ import annotations

from django.apps import apps
from pghistory.models import Event

from escort_portal.stamps import CreatedStamp, FiledStamp, UpdatedStamp

# An API key must always have a maker and labels its date "created": it keeps its own fields.
OWN_STAMP = {"lenders.BranchApiKey"}


def _models_with(field_name):
    for model in apps.get_models():
        if model._meta.app_label in {"stations", "lenders", "escorts", "notifications"}:
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
