"""The reply texts: every kind in every language, within WhatsApp's and DLT's limits, and
never a cash figure."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.utils import translation

from chat import replies
from chat.conversation import BUTTON_TITLES
from chat.intents import intent_of
from chat.payloads import Incoming
from notifications.catalogue import BUTTON_TITLE_MAX, SMS_VARIABLE_MAX, TEMPLATE_BUTTONS

LANGUAGES = ("en", "bn")


def _sample(kind: str) -> replies.Reply:
    values = {name: f"{name} value " * 6 for name in replies.KINDS[kind] if name != "link"}
    return replies.Reply(kind, {**values, "link": "/station/debra/escorts/my-day/"})


@pytest.mark.parametrize("kind", sorted(replies.KINDS))
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_reply_has_its_text_and_sms_in_each_language(kind, language):
    reply = _sample(kind)
    text = replies.text(reply, language)
    assert text.startswith("Escort Portal:" if language == "en" else "এসকর্ট পোর্টাল:")
    if kind in replies.WHATSAPP_ONLY:
        return
    message, variables = replies.sms(reply, language)
    assert all(len(v) <= SMS_VARIABLE_MAX for v in variables if not v.startswith("http"))
    assert message.count("{") == 0
    registered = replies.sms_registration_text(kind, language)
    assert registered.count("{#var#}") == len(variables)


def test_a_reply_refuses_a_cash_figure():
    with pytest.raises(ValueError, match="cash"):
        replies.Reply("chat_refused", {"reason": "carrying Rs 2 lakh"})


@pytest.mark.parametrize("language", LANGUAGES)
def test_button_titles_fit_whatsapps_twenty_characters(language):
    with translation.override(language):
        titles = [str(t) for t in [*BUTTON_TITLES.values(), *TEMPLATE_BUTTONS.values()]]
        titles.append(str(replies.CHOOSE_TITLE))
    assert all(len(title) <= BUTTON_TITLE_MAX for title in titles), titles
    if language == "bn":
        assert not any(re.fullmatch(r"[A-Za-z ,]+", title) for title in titles), titles


@pytest.mark.parametrize(
    ("text", "action", "number", "day"),
    [
        ("status", "status", None, ""),
        ("  Ack r7 ", "ack", 7, ""),
        ("START 12", "start", 12, ""),
        ("done R3.", "done", 3, ""),
        ("complete", "done", None, ""),
        ("SOS robbers near the bridge", "sos", None, ""),
        ("বিপদ!", "sos", None, ""),
        ("copy tomorrow", "copy", None, "tomorrow"),
        ("same as last time", "copy", None, ""),
        ("No collection today", "none", None, "today"),
        ("STOP", "stop", None, ""),
        ("বন্ধ", "stop", None, ""),
        ("good morning sir", "help", None, ""),
        ("Escort Portal code 4827 1936: I agree", "link", None, ""),
    ],
)
def test_typed_keywords(text, action, number, day):
    intent = intent_of(Incoming("sms", "x", "+919800000000", "text", text=text))
    assert (intent.action, intent.number, intent.day) == (action, number, day)


def test_a_button_id_names_its_station_and_object_and_an_unknown_one_is_help():
    tapped = intent_of(Incoming("whatsapp", "x", "+91", "button", action="ack:debra:run:7"))
    assert (tapped.action, tapped.schema, tapped.ref) == ("ack", "debra", "run:7")
    forged = intent_of(Incoming("whatsapp", "x", "+91", "button", action="drop:debra:all"))
    assert forged.action == "help"


def test_the_dlt_texts_are_printed_for_registration(capsys):
    call_command("chat_templates")
    printed = capsys.readouterr().out
    assert "chat_run.en SMS (DLT):" in printed and "{#var#}" in printed
    assert "chat_run_confirm" not in printed  # WhatsApp only
