"""The message kinds, their variables and their template files.

Each kind has, per language, three files under `templates/notifications/messages/`:

- `<kind>.<lang>.subject.txt`: one line, the email subject and the inbox title;
- `<kind>.<lang>.txt`: the body for the inbox and email;
- `<kind>.<lang>.sms.txt`: the short text for SMS. Indian DLT rules allow only registered
  templates whose variable parts are `{#var#}` slots, so this file is fixed text with nothing
  but `{{ variable }}` of the kind's own variables. WhatsApp sends the same variables, in the
  order the text uses them, as the parameters of its approved template.

Messages carry a reference, a time, a meeting point and someone to call, never cash figures
and never another branch's details; the rest sits behind the login at `link`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings
from django.template import Context, Engine
from django.utils.translation import gettext_lazy as _

from escort_portal.exports import message_text
from escort_portal.formats import native_digits

from .models import Kind

MESSAGES_DIR = Path(__file__).resolve().parent / "templates" / "notifications" / "messages"
# DLT allows at most 30 characters in one variable; the link is registered as a URL variable.
SMS_VARIABLE_MAX = 30
# The longest a person's or branch's name may run in a subject line.
SUBJECT_VARIABLE_MAX = 60
UNBOUNDED_VARIABLES = frozenset({"link"})
# Counts, dates and times a person reads: the inbox and email write them in the reader's numerals.
# SMS and WhatsApp keep ASCII digits, as DLT's registered slots and the replies read back need;
# references, phone numbers and coordinates stay as typed and dialled everywhere.
NUMBER_VARIABLES = frozenset(
    {
        "date",
        "time",
        "cutoff",
        "minutes",
        "since",
        "runs",
        "uncovered",
        "stations",
        "rosters",
        "incidents",
        "accuracy_m",
        "located_at",
    }
)

# Text that would put money into a message. Cash bands and amounts stay behind the login.
CASH_PATTERN = re.compile(
    r"₹|\bRs\.?\s*\d|\bINR\b|\brupees?\b|টাকা|\blakhs?\b|\blacs?\b|লাখ|\bcrores?\b|কোটি",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class KindSpec:
    # Every variable each SMS text must use once. `link` is made from the context's `path`.
    variables: tuple[str, ...]
    # Shown in the inbox and email only, never in SMS or WhatsApp.
    optional: tuple[str, ...] = ()
    # WhatsApp quick-reply buttons (codes of TEMPLATE_BUTTONS) the message carries when its
    # context names what they act on (`chat_ref`), and whether it also has a button opening
    # the message's link. Such a message is its own approved template, `<kind>_actions`.
    buttons: tuple[str, ...] = ()
    link_button: bool = False

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(name for name in self.variables if name != "link")

    @property
    def has_actions(self) -> bool:
        return bool(self.buttons or self.link_button)


_ESCORT = ("reference", "agents", "date", "time", "meeting_point", "contact", "phone", "link")

# The titles of the templates' quick-reply and link buttons, at most 20 characters in every
# language (WhatsApp's limit). A tap comes back to the webhook with the button's payload,
# `<code>:<station schema>:<chat_ref>` (`button_payload`).
TEMPLATE_BUTTONS = {
    "ack": _("Acknowledge"),
    "copy": _("Same as last time"),
    "none": _("No collection"),
    "link": _("Open the form"),
}
BUTTON_TITLE_MAX = 20

KINDS: dict[str, KindSpec] = {
    Kind.BRANCH_APPROVED: KindSpec(("branch", "station", "link"), optional=("station_bn",)),
    Kind.BRANCH_REJECTED: KindSpec(
        ("branch", "station", "link"), optional=("reason", "station_bn")
    ),
    Kind.ROSTER_REMINDER: KindSpec(
        ("date", "cutoff", "station", "link"),
        optional=("chat_ref", "station_bn"),
        buttons=("copy", "none"),
        link_button=True,
    ),
    Kind.SHEET_DRAFT_READY: KindSpec(("date", "runs", "uncovered", "link")),
    # A team leader's copy carries Acknowledge; a branch's copy has no chat_ref and no button.
    Kind.SHEET_PUBLISHED: KindSpec(
        _ESCORT, optional=("chat_ref", "meeting_point_bn", "contact_bn"), buttons=("ack",)
    ),
    Kind.SHEET_CHANGED: KindSpec(
        _ESCORT, optional=("chat_ref", "meeting_point_bn", "contact_bn"), buttons=("ack",)
    ),
    Kind.RUN_OVERDUE: KindSpec(
        ("reference", "time", "meeting_point", "link"),
        optional=("contact", "phone", "meeting_point_bn", "contact_bn"),
    ),
    Kind.RUN_NOT_ACKNOWLEDGED: KindSpec(
        ("reference", "time", "meeting_point", "contact", "phone", "link"),
        optional=("meeting_point_bn", "contact_bn"),
    ),
    Kind.RUN_SILENT: KindSpec(
        ("reference", "minutes", "since", "contact", "phone", "link"), optional=("contact_bn",)
    ),
    Kind.TRIP_UNESCORTED: KindSpec(("agents", "date", "time", "reason", "phone", "link")),
    Kind.SOS: KindSpec(
        ("reference", "time", "place", "name", "phone", "link"),
        optional=("place_bn", "latitude", "longitude", "accuracy_m", "located_at"),
    ),
    Kind.INCIDENT_RECORDED: KindSpec(
        ("reference", "time", "place", "link"), optional=("place_bn",)
    ),
    Kind.SDPO_DAILY_SUMMARY: KindSpec(
        ("date", "stations", "rosters", "runs", "uncovered", "incidents", "link")
    ),
}

_engine = Engine(
    dirs=[str(MESSAGES_DIR)],
    autoescape=False,
    loaders=[
        ("django.template.loaders.cached.Loader", ["django.template.loaders.filesystem.Loader"])
    ],
)


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    sms: str
    # The SMS text's variable values in the order they appear in it: the DLT slots.
    parameters: tuple[str, ...]
    # The same values for the WhatsApp template's {{1}}, {{2}}, ...: one line each, but not cut
    # to the DLT slot's length, which is no rule of WhatsApp's.
    whatsapp_parameters: tuple[str, ...] = ()


def languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def template_name(kind: str, language: str, part: str) -> str:
    suffix = {"subject": ".subject.txt", "body": ".txt", "sms": ".sms.txt"}[part]
    return f"{kind}.{language}{suffix}"


def link_for(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + (path or "/")


def context_check(kind: str, context: dict) -> None:
    """Raise ValueError unless `context` suits `kind`: known kind, every variable, JSON values
    only, a portal path, and nothing that looks like money."""
    spec = KINDS.get(kind)
    if spec is None:
        raise ValueError(f"Unknown message kind {kind!r}.")
    missing = [name for name in spec.required if context.get(name) in (None, "")]
    if missing:
        raise ValueError(f"Message kind {kind!r} needs {', '.join(missing)}.")
    allowed = {*spec.required, *spec.optional, "path"}
    unknown = sorted(set(context) - allowed)
    if unknown:
        raise ValueError(f"Message kind {kind!r} does not take {', '.join(unknown)}.")
    try:
        text = json.dumps(context, ensure_ascii=False)
    except TypeError as exc:
        raise ValueError(f"Message context must be JSON: {exc}") from exc
    if CASH_PATTERN.search(text):
        raise ValueError("Messages carry no cash figures.")
    path = context.get("path", "")
    if path and (not isinstance(path, str) or not path.startswith("/") or path.startswith("//")):
        raise ValueError("The message's path must be a path on the portal, starting with '/'.")


def button_payload(code: str, schema_name: str, chat_ref: str) -> str:
    """What a template's quick-reply button sends back when tapped (see TEMPLATE_BUTTONS)."""
    return f"{code}:{schema_name}:{chat_ref}"


def render(kind: str, language: str, context: dict) -> Rendered:
    spec = KINDS[kind]
    if language not in languages():
        language = settings.LANGUAGE_CODE
    # A name the context also has in the reader's language ("place_bn" beside "place") is
    # written in it.
    values = {
        name: str(context.get(f"{name}_{language}") or value)
        for name, value in context.items()
        if name not in ("path", "chat_ref")
    }
    values["link"] = link_for(context.get("path", ""))
    # Names typed by people (a branch, an agent) reach a subject line and an SMS as one line of
    # plain text, cut short, so they cannot break the line or fill the message.
    line_values = {
        name: value
        if name in UNBOUNDED_VARIABLES
        else message_text(value, limit=SUBJECT_VARIABLE_MAX)
        for name, value in values.items()
    }
    # The inbox and email write counts, dates and times in the reader's numerals.
    read_values, read_line_values = (
        {
            name: native_digits(value, language) if name in NUMBER_VARIABLES else value
            for name, value in source.items()
        }
        for source in (values, line_values)
    )
    sms_values = {
        name: value if name in UNBOUNDED_VARIABLES else value[:SMS_VARIABLE_MAX]
        for name, value in line_values.items()
        if name in spec.variables
    }

    def text(part: str, data: dict) -> str:
        template = _engine.get_template(template_name(kind, language, part))
        return template.render(Context(data, autoescape=False)).strip()

    return Rendered(
        subject=" ".join(text("subject", read_line_values).split()),
        body=text("body", read_values),
        sms=text("sms", sms_values),
        parameters=tuple(sms_values[name] for name in sms_variable_order(kind, language)),
        whatsapp_parameters=tuple(line_values[name] for name in sms_variable_order(kind, language)),
    )


_VARIABLE = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@cache
def _sms_source(kind: str, language: str) -> str:
    return (MESSAGES_DIR / template_name(kind, language, "sms")).read_text().strip()


@cache
def sms_variable_order(kind: str, language: str) -> tuple[str, ...]:
    """The kind's variables in the order this language's SMS text uses them."""
    return tuple(_VARIABLE.findall(_sms_source(kind, language)))


def sms_registration_text(kind: str, language: str) -> str:
    """The SMS template as it is registered on the DLT platform, with `{#var#}` slots."""
    return _VARIABLE.sub("{#var#}", _sms_source(kind, language))


def whatsapp_registration_text(kind: str, language: str) -> str:
    """The SMS text with WhatsApp's numbered parameters, for the template's approval."""
    counter = iter(range(1, 100))
    return _VARIABLE.sub(lambda _match: f"{{{{{next(counter)}}}}}", _sms_source(kind, language))
