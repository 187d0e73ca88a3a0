"""A service's error reaches the page one way: `add_service_errors` on a form,
`service_error_text` in a message."""

from __future__ import annotations

import re
from pathlib import Path

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import translation

from escort_portal.forms import add_service_errors, sent_error_text, service_error_text


class NameForm(forms.Form):
    name = forms.CharField()


def _bound_form():
    form = NameForm(data={"name": "Kharagpur Town"})
    assert form.is_valid()
    return form


def test_a_service_error_naming_a_field_of_the_form_is_shown_on_that_field():
    form = _bound_form()
    add_service_errors(form, ValidationError({"name": "Give the area's name."}))
    assert form.errors == {"name": ["Give the area's name."]}


def test_a_service_error_naming_a_field_the_form_lacks_is_shown_above_the_form():
    form = _bound_form()
    add_service_errors(form, ValidationError({"into": "Choose an active area to merge into."}))
    assert form.non_field_errors() == ["Choose an active area to merge into."]


def test_a_service_error_naming_no_field_is_shown_above_the_form():
    form = _bound_form()
    add_service_errors(form, ValidationError("The entry is already on that run."))
    assert form.non_field_errors() == ["The entry is already on that run."]


def test_a_service_errors_numbers_on_a_form_are_written_in_the_pages_numerals():
    exc = ValidationError(
        {
            "name": ValidationError(
                "Out %(start)s-%(end)s.", code="clash", params={"start": "09:00", "end": "10:00"}
            ),
            "into": ValidationError("Wait %(minutes)s min.", params={"minutes": 36}),
        }
    )
    with translation.override("bn"):
        form = _bound_form()
        add_service_errors(form, exc)
        assert form.errors == {"name": ["Out ০৯:০০-১০:০০."], "__all__": ["Wait ৩৬ min."]}  # noqa: RUF001
        assert form.has_error("name", code="clash")
        plain = _bound_form()
        add_service_errors(plain, ValidationError("Wait %(minutes)s min.", params={"minutes": 8}))
        assert plain.non_field_errors() == ["Wait ৮ min."]
    with translation.override("en"):
        form = _bound_form()
        add_service_errors(form, exc)
        assert form.errors == {"name": ["Out 09:00-10:00."], "__all__": ["Wait 36 min."]}


def test_a_service_error_for_a_message_reads_as_one_line():
    exc = ValidationError(["The run must end after it starts.", "Choose a team."])
    assert service_error_text(exc) == "The run must end after it starts. Choose a team."


def test_a_service_errors_numbers_are_written_in_the_pages_numerals_but_sent_in_ascii():
    exc = ValidationError(
        [
            ValidationError(
                "Wait %(hours)s h %(minutes)s min.", params={"hours": 8, "minutes": 36}
            ),
            ValidationError({"team": "Choose a team."}),
        ]
    )
    with translation.override("bn"):
        assert service_error_text(exc) == "Wait ৮ h ৩৬ min. Choose a team."
        assert sent_error_text(exc) == "Wait 8 h 36 min. Choose a team."
    with translation.override("en"):
        assert service_error_text(exc) == "Wait 8 h 36 min. Choose a team."
    named = ValidationError({"team": ValidationError("Past %(time)s.", params={"time": "10:00"})})
    with translation.override("bn"):
        assert service_error_text(named) == "Past ১০:০০."  # noqa: RUF001


# The ways a view could show a service error without the helpers.
OTHER_WAYS = re.compile(r"add_error\(None, exc\)|\.join\(exc\.messages\)")


def test_no_view_shows_a_service_error_another_way():
    views = [
        path
        for app in ("stations", "lenders", "incidents", "escorts", "notifications", "chat")
        for path in (Path(settings.BASE_DIR) / app).rglob("*.py")
        if path.stem.startswith("views") or "views" in path.parent.parts
    ]
    assert views
    assert [str(p) for p in views if OTHER_WAYS.search(p.read_text())] == []


def test_a_plural_error_of_django_s_own_is_written_whole_in_the_pages_numerals():
    """Django's length checks choose their plural by the number: giving them the number as
    text made the page fail instead of saying what was wrong."""
    try:
        forms.CharField(max_length=200).clean("x" * 201)
    except ValidationError as exc:
        error = exc
    assert service_error_text(error) == (
        "Ensure this value has at most 200 characters (it has 201)."
    )
    with translation.override("bn"):
        text = service_error_text(error)
    assert "২০০" in text and "২০১" in text and not re.search(r"[0-9]", text)
