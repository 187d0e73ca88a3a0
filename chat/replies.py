"""The portal's replies in a conversation, and how each goes out on WhatsApp and by SMS.

Each reply kind has, per language, a text under `chat/templates/chat/replies/`:
`<kind>.<lang>.txt`, fixed words and `{{ variable }}` slots only, so that its SMS is a
registered DLT template (`manage.py chat_templates` prints them, with `{#var#}` slots). An
SMS fills each slot with at most `SMS_VARIABLE_MAX` characters; where a slot needs more (a
service's reason), the SMS text has its own file, `<kind>.<lang>.sms.txt`, whose slots `name_1`,
`name_2`, ... take the value in pieces. WhatsApp sends the same text with the values whole,
followed by the reply's `details` (one line each), and with reply buttons or a list when the
reply has them: free-form messages, allowed only inside the 24 hours after the person's own
message (chat.services checks the window).

Like the outbox's messages: a reference, a time, a meeting point and someone to call, never a
cash figure or another branch's details.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from django.conf import settings
from django.template import Context, Engine
from django.utils.translation import gettext_lazy as _

from escort_portal.exports import message_text
from notifications.backends.sms import dlt_template_id
from notifications.catalogue import BUTTON_TITLE_MAX, CASH_PATTERN, SMS_VARIABLE_MAX, link_for

REPLIES_DIR = Path(__file__).resolve().parent / "templates" / "chat" / "replies"

# Every reply kind and the variables its text uses. `link` is a URL (SITE_URL + a path).
KINDS: dict[str, tuple[str, ...]] = {
    "chat_stranger": ("link",),
    "chat_linked": ("name",),
    "chat_wrong_code": ("link",),
    "chat_stopped": (),
    "chat_resumed": (),
    "chat_help": (),
    "chat_run": ("reference", "state", "time", "meeting_point", "agents", "link"),
    "chat_run_confirm": ("reference", "agents"),
    "chat_checked_in": ("reference", "time", "minutes"),
    "chat_choose_run": (),
    "chat_choose_branch": (),
    "chat_escort": (
        "reference",
        "agents",
        "date",
        "time",
        "meeting_point",
        "contact",
        "phone",
        "link",
    ),
    "chat_unescorted": ("agents", "date", "time", "reason", "phone", "link"),
    "chat_unescorted_no_phone": ("agents", "date", "time", "reason", "link"),
    "chat_not_published": ("trips", "date", "cutoff", "link"),
    "chat_nothing": (),
    "chat_station": ("station", "date", "state", "runs", "acknowledged", "sos", "link"),
    "chat_sos": ("reference", "time", "phone"),
    "chat_sos_located": ("reference", "time", "phone"),
    "chat_sos_no_trip": ("phone",),
    "chat_sos_no_trip_112": (),
    "chat_refused": ("reason",),
    "chat_roster_copied": ("branch", "date", "copied", "skipped", "link"),
    "chat_roster_none": ("branch", "date", "cutoff", "link"),
}
# Sent only on WhatsApp (they ask for a tap); no SMS template is registered for them.
# A location comes only through WhatsApp, so the SOS that has it is answered only there.
WHATSAPP_ONLY = frozenset(
    {"chat_run_confirm", "chat_choose_run", "chat_choose_branch", "chat_sos_located"}
)
UNBOUNDED = frozenset({"link"})
# WhatsApp's own limits.
BODY_MAX = 1024
TEXT_BODY_MAX = 4096
LIST_TITLE_MAX = 24
LIST_DESCRIPTION_MAX = 72
LIST_ROWS_MAX = 10
BUTTONS_MAX = 3
# The list's button, rendered in the reader's language (the caller sets it).
CHOOSE_TITLE = _("Choose")

_engine = Engine(
    dirs=[str(REPLIES_DIR)],
    autoescape=False,
    loaders=[
        ("django.template.loaders.cached.Loader", ["django.template.loaders.filesystem.Loader"])
    ],
)
_SLOT = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@dataclass(frozen=True)
class Button:
    id: str
    title: str


@dataclass(frozen=True)
class Choice:
    id: str
    title: str
    description: str = ""


@dataclass
class Reply:
    kind: str
    values: dict[str, str] = field(default_factory=dict)
    # WhatsApp only: more lines under the text (each trip of a copied roster, other runs).
    details: list[str] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    choices: list[Choice] = field(default_factory=list)
    # What came of the message, stored on it for the people who read the log.
    outcome: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Unknown reply kind {self.kind!r}.")
        missing = [name for name in KINDS[self.kind] if name != "link" and name not in self.values]
        if missing:
            raise ValueError(f"Reply {self.kind!r} needs {', '.join(missing)}.")
        text = " ".join([*self.values.values(), *self.details])
        if CASH_PATTERN.search(text):
            raise ValueError("Replies carry no cash figures.")


def template_name(kind: str, language: str, *, sms: bool = False) -> str:
    return f"{kind}.{language}{'.sms' if sms else ''}.txt"


@cache
def _own_sms(kind: str, language: str) -> bool:
    return (REPLIES_DIR / template_name(kind, language, sms=True)).exists()


@cache
def _source(kind: str, language: str, sms: bool) -> str:
    name = template_name(kind, language, sms=sms and _own_sms(kind, language))
    return (REPLIES_DIR / name).read_text().strip()


def _render(name: str, values: dict[str, str]) -> str:
    return _engine.get_template(name).render(Context(values, autoescape=False)).strip()


def _language(language: str) -> str:
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _values(reply: Reply) -> dict[str, str]:
    values = {name: str(value) for name, value in reply.values.items() if name != "link"}
    values["link"] = link_for(reply.values.get("link", ""))
    return values


def text(reply: Reply, language: str) -> str:
    """The reply as WhatsApp shows it: the text with whole values, then the details."""
    language = _language(language)
    body = _render(template_name(reply.kind, language), _values(reply))
    return "\n".join([body, *reply.details]) if reply.details else body


def sms_slots(kind: str, language: str) -> tuple[str, ...]:
    """The slots of the kind's SMS text, in order: the DLT template's {#var#}s."""
    return tuple(_SLOT.findall(_source(kind, _language(language), True)))


def sms(reply: Reply, language: str) -> tuple[str, list[str]]:
    """The reply as an SMS: the registered text with each slot's value cut to the DLT limit,
    and the values in slot order."""
    language = _language(language)
    whole = _values(reply)
    filled: dict[str, str] = {}
    for slot in sms_slots(reply.kind, language):
        if slot in UNBOUNDED:
            filled[slot] = whole[slot]
            continue
        name, _, piece = slot.rpartition("_")
        if name and piece.isdigit() and name in whole and slot not in whole:
            # A long value over several slots: piece 1 is its first SMS_VARIABLE_MAX characters.
            start = (int(piece) - 1) * SMS_VARIABLE_MAX
            filled[slot] = message_text(whole[name], limit=10_000)[start : start + SMS_VARIABLE_MAX]
        else:
            filled[slot] = message_text(whole.get(slot, ""), limit=SMS_VARIABLE_MAX)
    name = template_name(reply.kind, language, sms=_own_sms(reply.kind, language))
    return _render(name, filled), [filled[slot] for slot in sms_slots(reply.kind, language)]


def sms_registration_text(kind: str, language: str) -> str:
    return _SLOT.sub("{#var#}", _source(kind, _language(language), True))


def whatsapp_payload(reply: Reply, language: str) -> dict:
    """The Cloud API message body (without `to`) for the reply."""
    body = text(reply, language)
    if reply.choices:
        rows = [
            {
                "id": choice.id,
                "title": choice.title[:LIST_TITLE_MAX],
                **(
                    {"description": choice.description[:LIST_DESCRIPTION_MAX]}
                    if choice.description
                    else {}
                ),
            }
            for choice in reply.choices[:LIST_ROWS_MAX]
        ]
        return {
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": body[:BODY_MAX]},
                "action": {
                    "button": str(CHOOSE_TITLE)[:BUTTON_TITLE_MAX],
                    "sections": [{"title": str(CHOOSE_TITLE)[:LIST_TITLE_MAX], "rows": rows}],
                },
            },
        }
    if reply.buttons:
        return {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": body[:BODY_MAX]},
                "action": {
                    "buttons": [
                        {
                            "type": "reply",
                            "reply": {"id": b.id, "title": b.title[:BUTTON_TITLE_MAX]},
                        }
                        for b in reply.buttons[:BUTTONS_MAX]
                    ]
                },
            },
        }
    return {"type": "text", "text": {"body": body[:TEXT_BODY_MAX], "preview_url": False}}


def sms_payload(reply: Reply, language: str) -> dict | None:
    """The SMS gateway's request body (without `to` and `reference`), or None when the kind
    has no SMS or no DLT template id is configured for it."""
    language = _language(language)
    if reply.kind in WHATSAPP_ONLY:
        return None
    template_id = dlt_template_id(reply.kind, language)
    if not template_id:
        return None
    message, variables = sms(reply, language)
    return {
        "sender": settings.SMS_SENDER_ID,
        "entity_id": settings.SMS_DLT_ENTITY_ID,
        "template_id": template_id,
        "message": message,
        "variables": variables,
        "unicode": not message.isascii(),
    }
