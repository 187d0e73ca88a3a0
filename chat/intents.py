"""What a message asks for: a keyword typed on any phone, a button or list row tapped in
WhatsApp, a shared location, or a code that links the phone.

Typed (SMS or WhatsApp, any case; Bengali words where people use them):

    STATUS | স্ট্যাটাস                      your next escort or run
    ACK R7 | START R7 | CHECKIN R7 | DONE R7 a run of yours (R and the number are optional
                                             when only one run fits); DONE says every agent
                                             on it reached the deposit point
    COPY [TODAY|TOMORROW] | SAME ...         the branch's roster as last time
    NONE [TODAY|TOMORROW] | NO COLLECTION    no collection that day
    SOS ... | বিপদ ...                        an SOS for your current trip
    STOP | বন্ধ ,  START                     no more messages on this channel, and back
    HELP | ? | সাহায্য                       what you can send
    <8 digits>                               the code from your profile page: links this phone

Buttons and list rows carry ids `<action>:<station schema>:<reference>`, e.g.
`ack:debra:run:7` or `copy:debra:roster:3:2026-12-01` (the templates' quick-reply buttons send
the same, see notifications.catalogue.button_payload), so a tap names its station and object;
whether the sender may act on it is decided afresh by the handlers.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .payloads import BUTTON, LIST, LOCATION, TEXT, Incoming

# The actions a message can ask for. "done!" is a Complete already confirmed.
ACK, START, CHECKIN, DONE, DONE_CONFIRMED, RUN = "ack", "start", "checkin", "done", "done!", "run"
COPY, NONE = "copy", "none"
SOS, LOCATION_SHARED = "sos", "location"
STATUS, HELP, STOP, LINK = "status", "help", "stop", "link"
BUTTON_ACTIONS = frozenset(
    {ACK, START, CHECKIN, DONE, DONE_CONFIRMED, RUN, COPY, NONE, STATUS, HELP}
)


@dataclass(frozen=True)
class Intent:
    action: str
    # From a button or list row: the station and what it is about ("run:7").
    schema: str = ""
    ref: str = ""
    # Typed: a run's number, or the day a roster action is for ("today", "tomorrow").
    number: int | None = None
    day: str = ""
    code: str = ""
    latitude: float | None = None
    longitude: float | None = None
    typed: bool = False


_RUN_WORDS = {
    "ACK": ACK,
    "OK": ACK,
    "START": START,
    "CHECKIN": CHECKIN,
    "CHECK IN": CHECKIN,
    "CHECK-IN": CHECKIN,
    "DONE": DONE,
    "COMPLETE": DONE,
    "END": DONE,
}
_RUN = re.compile(r"^(ACK|OK|START|CHECK[ -]?IN|DONE|COMPLETE|END)(?:\s+R?\s*(\d{1,9}))?$")
_ROSTER = re.compile(
    r"^(COPY|SAME(?: AS LAST TIME)?|NONE|NO COLLECTION|NO TRIPS)(?:\s+(TODAY|TOMORROW))?$"
)
_CODE = re.compile(r"(?<!\d)(\d{4})[\s-]?(\d{4})(?!\d)")
_WORDS = {
    "STATUS": STATUS,
    "স্ট্যাটাস": STATUS,
    "STOP": STOP,
    "UNSUBSCRIBE": STOP,
    "বন্ধ": STOP,
    "HELP": HELP,
    "?": HELP,
    "MENU": HELP,
    "সাহায্য": HELP,
}
_SOS = re.compile(r"^(SOS|বিপদ)(?:\W|$)")


def _ascii_digits(text: str) -> str:
    """The digits of a keyboard's own numerals (a Bengali keyboard writes its own) as ASCII: the
    code and the run's number are the same whichever the phone typed."""
    return "".join(
        str(unicodedata.decimal(char)) if char.isdecimal() and not char.isascii() else char
        for char in text
    )


def _typed(text: str) -> Intent:
    words = " ".join(_ascii_digits(text).upper().replace("।", " ").split()).strip(" .!")
    if words in _WORDS:
        return Intent(_WORDS[words], typed=True)
    if _SOS.match(words):
        return Intent(SOS, typed=True)
    run = _RUN.match(words)
    if run:
        number = int(run.group(2)) if run.group(2) else None
        return Intent(_RUN_WORDS[run.group(1)], number=number, typed=True)
    roster = _ROSTER.match(words)
    if roster:
        action = COPY if roster.group(1).startswith(("COPY", "SAME")) else NONE
        return Intent(action, day=(roster.group(2) or "").lower(), typed=True)
    code = _CODE.search(words)
    if code:
        return Intent(LINK, code=code.group(1) + code.group(2), typed=True)
    return Intent(HELP, typed=True)


def _tapped(action_id: str) -> Intent:
    action, _, rest = action_id.partition(":")
    schema, _, ref = rest.partition(":")
    if action not in BUTTON_ACTIONS:
        return Intent(HELP)
    return Intent(action, schema=schema, ref=ref)


def intent_of(message: Incoming) -> Intent:
    if message.kind == LOCATION:
        return Intent(LOCATION_SHARED, latitude=message.latitude, longitude=message.longitude)
    if message.kind in (BUTTON, LIST) and message.action:
        return _tapped(message.action)
    if message.kind == TEXT:
        return _typed(message.text)
    return Intent(HELP)
