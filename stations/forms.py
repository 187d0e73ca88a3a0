from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from .selectors import AUDIT_MAX_PAGES


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

    def __init__(self, *args: Any, models: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["model"]).choices = [("", _("Everything")), *models]

    def filters(self) -> dict[str, Any]:
        """The filters given; none when the form is not valid."""
        if not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v}

    def page_number(self) -> int:
        """The page asked for, up to the trail's deepest; 1 for anything else."""
        page = str(self.data.get("page", ""))
        return min(int(page), AUDIT_MAX_PAGES) if page.isdigit() and int(page) > 0 else 1


class TokenForm(forms.Form):
    token = forms.RegexField(
        label=_("6-digit code from your authenticator app"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": _("Enter the 6 digits your authenticator app shows.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )
