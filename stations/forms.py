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
        return min(int(page), AUDIT_MAX_PAGES) if page.isdecimal() and int(page) > 0 else 1


class TokenForm(forms.Form):
    token = forms.RegexField(
        label=_("6-digit code from your authenticator app, or a recovery code"),
        # A recovery code is django-otp's static token: 8 letters and digits 2-7.
        regex=r"^\s*(\d{6}|[A-Za-z2-7]{8})\s*$",
        error_messages={
            "invalid": _("Enter the 6 digits your authenticator app shows, or a recovery code.")
        },
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )


class EnrolmentForm(forms.Form):
    """The code the officer-in-charge gave, with the password again: a password alone does not
    set up a second factor."""

    code = forms.CharField(label=_("Enrolment code from your officer-in-charge"), max_length=20)
    password = forms.CharField(label=_("Your password"), widget=forms.PasswordInput, strip=False)
