from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class AuditFilterForm(forms.Form):
    model = forms.ChoiceField(label=_("What"), required=False)
    actor = forms.CharField(label=_("Who (username)"), required=False, max_length=150)
    search = forms.CharField(label=_("Record"), required=False, max_length=100)
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: object, models: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [("", _("Everything")), *models]
