"""Form helpers shared by every app."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError


def add_service_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Show a service's errors on the fields they name and the rest above the form, so the
    form keeps what was typed and says what to fix."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def service_error_text(exc: ValidationError) -> str:
    """A service's errors as one line, for a page that shows them as a message, not on a form."""
    return " ".join(exc.messages)
