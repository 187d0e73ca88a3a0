"""Every message kind renders in every language, within the content and DLT rules."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from escort_portal.formats import native_digits
from notifications import catalogue
from notifications.catalogue import CASH_PATTERN, KINDS, MESSAGES_DIR, NUMBER_VARIABLES
from notifications.models import Kind

from .samples import SAMPLES

LANGUAGES = ["en", "bn"]
BENGALI = re.compile(r"[\u0980-\u09FF]")
ANY_TAG = re.compile(r"\{%|\{\{(?!\s*\w+\s*\}\})|\|")


def test_every_kind_has_a_spec_and_all_its_files():
    assert set(KINDS) == set(Kind.values)
    expected = {
        catalogue.template_name(kind, language, part)
        for kind in KINDS
        for language in LANGUAGES
        for part in ("subject", "body", "sms")
    }
    assert expected == {path.name for path in MESSAGES_DIR.iterdir()}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_it_renders_every_kind_with_its_details_and_no_cash(kind, language):
    rendered = catalogue.render(kind, language, SAMPLES[kind])
    for text in (rendered.subject, rendered.body, rendered.sms):
        assert text
        assert not CASH_PATTERN.search(text), text
        assert "{{" not in text and "{%" not in text
    assert "\n" not in rendered.subject
    assert settings.SITE_URL + SAMPLES[kind]["path"] in rendered.body
    assert rendered.sms.endswith(rendered.parameters[-1])
    for name in KINDS[kind].variables:
        if name != "link":
            value = str(SAMPLES[kind][name])
            read = native_digits(value, language) if name in NUMBER_VARIABLES else value
            assert read in rendered.body
            assert value[:30] in rendered.sms
    if language == "bn":
        assert BENGALI.search(rendered.body) and BENGALI.search(rendered.sms)
    else:
        assert not BENGALI.search(rendered.body + rendered.sms)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_sms_templates_are_fixed_text_with_each_variable_once(kind, language):
    source = (MESSAGES_DIR / catalogue.template_name(kind, language, "sms")).read_text().strip()
    assert not ANY_TAG.search(source), "DLT templates allow variables only, no tags or filters"
    assert "\n" not in source
    used = re.findall(r"\{\{\s*(\w+)\s*\}\}", source)
    assert sorted(used) == sorted(KINDS[kind].variables)
    registered = catalogue.sms_registration_text(kind, language)
    assert registered.count("{#var#}") == len(KINDS[kind].variables)
    whatsapp = catalogue.whatsapp_registration_text(kind, language)
    assert re.findall(r"\{\{(\d+)\}\}", whatsapp) == [str(n) for n in range(1, len(used) + 1)]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_sms_parameters_follow_the_slots_of_each_languages_text(kind, language):
    rendered = catalogue.render(kind, language, SAMPLES[kind])
    text = catalogue.sms_registration_text(kind, language)
    for value in rendered.parameters:
        text = text.replace("{#var#}", value, 1)
    assert text == rendered.sms


def test_sms_variables_are_cut_to_the_dlt_limit_but_links_are_not():
    context = {**SAMPLES["sos"], "place": "A very long place name beyond thirty characters"}
    rendered = catalogue.render("sos", "en", context)
    assert "A very long place name beyond " in rendered.sms
    assert "thirty characters" not in rendered.sms
    assert "thirty characters" in rendered.body
    assert rendered.parameters[-1] == f"{settings.SITE_URL}/station/debra/escorts/sos/17/"


def test_the_optional_reason_shows_in_the_body_only():
    rendered = catalogue.render("branch_rejected", "en", SAMPLES["branch_rejected"])
    assert "Registration number not found" in rendered.body
    assert "Registration number" not in rendered.sms


@pytest.mark.parametrize(
    ("kind", "context", "error"),
    [
        ("no_such_kind", {}, "Unknown message kind"),
        ("sos", {**SAMPLES["sos"], "name": ""}, "needs name"),
        ("sos", {**SAMPLES["sos"], "amount": "50000"}, "does not take amount"),
        ("sos", {**SAMPLES["sos"], "place": "carrying ₹2,40,000"}, "no cash"),
        ("sos", {**SAMPLES["sos"], "place": "Rs. 50000 bag"}, "no cash"),
        ("sos", {**SAMPLES["sos"], "place": "দুই লাখ টাকা"}, "no cash"),
        ("sos", {**SAMPLES["sos"], "path": "https://evil.example/"}, "path on the portal"),
        ("sos", {**SAMPLES["sos"], "path": "//evil.example/"}, "path on the portal"),
        ("sos", {**SAMPLES["sos"], "time": object()}, "JSON"),
    ],
)
def test_it_refuses_a_context_that_breaks_the_rules(kind, context, error):
    with pytest.raises(ValueError, match=error):
        catalogue.context_check(kind, context)


def test_a_bengali_reader_reads_times_and_counts_in_bengali_digits_but_sms_keeps_ascii():
    context = {
        **SAMPLES["sos"],
        "latitude": "22.4301",
        "longitude": "87.3210",
        "accuracy_m": "35",
        "located_at": "11:01",
    }
    rendered = catalogue.render("sos", "bn", context)
    assert "১১:০২-এ এসওএস" in rendered.body
    assert "১১:০১-এ, ৩৫ মিটারের মধ্যে" in rendered.body
    # What is dialled, linked or quoted back stays as typed.
    assert "+919800000002" in rendered.body and "SOS-17" in rendered.body
    assert "mlat=22.4301&mlon=87.3210" in rendered.body
    assert "/station/debra/escorts/sos/17/" in rendered.body
    assert "11:02" in rendered.sms and "11:02" in rendered.whatsapp_parameters
    summary = catalogue.render("sdpo_daily_summary", "bn", SAMPLES["sdpo_daily_summary"])
    assert "৫টি থানা" in summary.body and "রোস্টার: ৪১" in summary.body


def test_an_english_reader_reads_ascii_digits():
    rendered = catalogue.render("sos", "en", SAMPLES["sos"])
    assert "SOS raised at 11:02." in rendered.body
    assert not re.findall("[০-৯]", rendered.subject + rendered.body)  # noqa: RUF001
