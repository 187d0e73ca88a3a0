"""Form helpers shared by every app."""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext as _

from escort_portal.formats import native_digits


def field_text(data: QueryDict, name: str) -> str:
    """A field a view reads without a form (a search box, a username): trimmed, and without NUL
    characters, which no stored text holds and which PostgreSQL refuses in a query (a form's
    CharField refuses them the same way)."""
    return data.get(name, "").replace("\x00", "").strip()


def date_from_query(request: HttpRequest, default: datetime.date) -> datetime.date:
    """The date in the address's `?date=`, or `default` when there is none; a date that is not
    one of the calendar (2026-02-30, abc) shows `default` with a warning that says so, so that
    its figures are not read as those of the day asked for."""
    typed = field_text(request.GET, "date")
    if not typed:
        return default
    try:
        return datetime.date.fromisoformat(typed)
    except ValueError:
        messages.warning(
            request,
            _("“%(typed)s” is not a date of the calendar: today is shown.") % {"typed": typed[:40]},
        )
        return default


def add_service_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Show a service's errors on the fields they name and the rest above the form, so the
    form keeps what was typed and says what to fix. Their params are written in the page's
    numerals, as `service_error_text` writes them."""
    for field, errors in exc.update_error_dict({}).items():
        form.add_error(
            field if field in form.fields else None,
            [ValidationError(service_error_text(error), code=error.code) for error in errors],
        )


def service_error_text(exc: ValidationError) -> str:
    """A service's errors as one line, for a page that shows them as a message, not on a form.
    The numbers and times an error carries as `params` are written in the page's numerals."""
    errors = (
        [error for field_errors in exc.error_dict.values() for error in field_errors]
        if hasattr(exc, "error_dict")
        else exc.error_list
    )
    return " ".join(_in_page_numerals(error) for error in errors)


def _in_page_numerals(error: ValidationError) -> str:
    if not error.params:
        return str(error.message)
    try:
        return str(error.message % {key: native_digits(v) for key, v in error.params.items()})
    except TypeError:
        # A plural (Django's own length checks among them) picks its form by the number itself,
        # and a `%d` wants one: the message is made with the numbers, then written in numerals.
        return native_digits(str(error.message % error.params))


def sent_error_text(exc: ValidationError) -> str:
    """A service's errors as one line, for a text sent by SMS or WhatsApp: its numbers and times
    in ASCII digits, whatever the reader's language."""
    return " ".join(exc.messages)
