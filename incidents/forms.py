"""The incident register's forms, a branch's report and the SOS button's hidden location."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any, cast

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lenders.models import CollectionArea, FieldAgent, LenderBranch

from .models import Incident

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def _helper(label: StrOrPromise) -> FormHelper:
    helper = FormHelper()
    helper.add_input(Submit("submit", label, css_class="w-100 w-md-auto"))
    return helper


class _DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


class IncidentForm(forms.ModelForm):
    class Meta:
        model = Incident
        fields = [
            "occurred_at",
            "kind",
            "area",
            "place",
            "branch",
            "agent",
            "cash_band",
            "fir_number",
            "narrative",
        ]
        widgets = {"occurred_at": _DateTimeInput(), "narrative": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["area"]).queryset = CollectionArea.objects.filter(
            status=CollectionArea.Status.ACTIVE
        )
        cast(
            forms.ModelChoiceField, self.fields["agent"]
        ).queryset = FieldAgent.objects.select_related("branch")
        self.helper = _helper(_("Save incident"))


class BranchIncidentForm(forms.ModelForm):
    """What a branch can tell the station about an incident involving its people."""

    kind = forms.ChoiceField(
        label=_("What happened"),
        choices=[c for c in Incident.Kind.choices if c[0] != Incident.Kind.SOS],
    )

    class Meta:
        model = Incident
        fields = ["occurred_at", "kind", "area", "place", "agent", "cash_band", "narrative"]
        widgets = {"occurred_at": _DateTimeInput(), "narrative": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args: Any, branch: LenderBranch, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["area"]).queryset = CollectionArea.objects.filter(
            status=CollectionArea.Status.ACTIVE
        )
        cast(forms.ModelChoiceField, self.fields["agent"]).queryset = FieldAgent.objects.filter(
            branch=branch
        )
        self.helper = _helper(_("Send to the station"))


# The largest accuracy kept for a position, in metres (as escorts.services keeps it).
MAX_ACCURACY_M = 1_000_000


class SosForm(forms.Form):
    """Filled by the phone's location when the browser gives it; empty is fine."""

    latitude = forms.FloatField(
        required=False, min_value=-90, max_value=90, widget=forms.HiddenInput
    )
    longitude = forms.FloatField(
        required=False, min_value=-180, max_value=180, widget=forms.HiddenInput
    )
    accuracy_m = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
    # The position's own time, in milliseconds since 1970 as the browser gives it.
    located_ms = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def clean_accuracy_m(self) -> int | None:
        value = self.cleaned_data["accuracy_m"]
        # Held to what the escorts' positions keep (and the column holds): a figure beyond it
        # says only "far off", and must not cost the SOS.
        return None if value is None else min(value, MAX_ACCURACY_M)

    def clean_located_ms(self) -> datetime.datetime | None:
        value = self.cleaned_data["located_ms"]
        if value is None:
            return None
        try:
            located = datetime.datetime.fromtimestamp(value / 1000, tz=datetime.UTC)
        except (OverflowError, OSError, ValueError):  # beyond any calendar
            return None
        # A phone clock far off is no time at all; the SOS goes without it.
        return located if abs(timezone.now() - located) < datetime.timedelta(hours=1) else None
