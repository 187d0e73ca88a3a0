"""What the providers post: checking it is theirs, and reading it into plain values.

WhatsApp (the Cloud API's webhook) posts JSON signed with the app secret:

    X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>
    {"object": "whatsapp_business_account",
     "entry": [{"changes": [{"field": "messages", "value": {
         "messages": [{"from": "919876543210", "id": "wamid...", "timestamp": "1764559800",
                       "type": "text", "text": {"body": "STATUS"}}],
         "statuses": [{"id": "wamid...", "status": "read", "timestamp": "...",
                       "recipient_id": "...", "biz_opaque_callback_data": "...",
                       "errors": [...]}]}}]}]}

A message is a text, a tap on a template's quick-reply button (`button.payload`), a tap on a
reply button or a list row (`interactive.button_reply.id`, `interactive.list_reply.id`), a
shared location, or something else (a photo, a voice note), which is answered with help.

The SMS gateway posts one message per request, as JSON or a form, with the shared secret in
`X-Inbound-Secret`: an id, the sender's number and the text, under the names below (gateways
differ; the first name present wins).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from notifications.backends.phones import e164

TEXT, BUTTON, LIST, LOCATION, OTHER = "text", "button", "list", "location", "other"
# Longer texts are cut: no command is longer, and a stored body stays small.
TEXT_MAX = 500


@dataclass(frozen=True)
class Incoming:
    """One message from a phone, as the handlers read it."""

    channel: str
    provider_id: str
    phone: str  # E.164
    kind: str
    text: str = ""
    # The id of the button or list row tapped (ours: see chat.intents).
    action: str = ""
    latitude: float | None = None
    longitude: float | None = None
    sent_at: datetime.datetime | None = None

    def as_data(self) -> dict:
        """JSON values for a task's arguments."""
        data = asdict(self)
        data["sent_at"] = self.sent_at.isoformat() if self.sent_at else None
        return data

    @classmethod
    def from_data(cls, data: Mapping) -> Incoming:
        values = dict(data)
        sent_at = values.get("sent_at")
        values["sent_at"] = parse_datetime(sent_at) if sent_at else None
        return cls(**values)

    @property
    def content(self) -> dict:
        """What is stored until the message is processed."""
        content: dict = {}
        if self.text:
            content["text"] = self.text
        if self.action:
            content["action"] = self.action
        if self.latitude is not None and self.longitude is not None:
            content["latitude"], content["longitude"] = self.latitude, self.longitude
        return content


@dataclass(frozen=True)
class StatusReport:
    """WhatsApp's later word on a message the portal sent."""

    provider_id: str
    status: str  # sent, delivered, read, failed
    at: datetime.datetime
    # What the portal put in biz_opaque_callback_data when it sent the message.
    reference: str = ""
    error: str = ""

    def as_data(self) -> dict:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return data

    @classmethod
    def from_data(cls, data: Mapping) -> StatusReport:
        values = dict(data)
        values["at"] = parse_datetime(values["at"]) or timezone.now()
        return cls(**values)


def signature_valid(*, body: bytes, header: str, secret: str) -> bool:
    """Whether `header` (X-Hub-Signature-256) is the app secret's signature of `body`."""
    if not secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    # As bytes: compare_digest refuses a str with non-ASCII characters, which anyone can send.
    return hmac.compare_digest(expected.encode(), header.removeprefix("sha256=").encode())


def secret_valid(*, given: str, secret: str) -> bool:
    return bool(secret) and hmac.compare_digest(given.encode(), secret.encode())


def _when(timestamp: object) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromtimestamp(int(str(timestamp)), tz=datetime.UTC)
    except (TypeError, ValueError, OverflowError, OSError):  # not a time, or past any calendar
        return None


def _text(value: object) -> str:
    """A text field of a message, cut to TEXT_MAX and without NUL characters: any phone can send
    one, and PostgreSQL refuses to store it, so the message would go unanswered."""
    return str(value).replace("\x00", "")[:TEXT_MAX]


def _number(value: object) -> float | None:
    """A coordinate, or None; "NaN" and "Infinity" read as floats but are no place (and
    PostgreSQL's JSON refuses them, so the message would go unanswered)."""
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _dict(value: object) -> Mapping:
    """A part of the provider's JSON that should be an object; anything else reads as empty:
    what cannot be read is left, and the rest of the delivery still taken."""
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _whatsapp_message(raw: Mapping) -> Incoming | None:
    phone = e164(f"+{raw.get('from', '')}")
    provider_id = _text(raw.get("id", ""))[:200]
    if not phone or not provider_id:
        return None
    kind = raw.get("type")
    fields: dict = {}
    if kind == "text":
        fields = {"kind": TEXT, "text": _text(_dict(raw.get("text")).get("body", ""))}
    elif kind == "button":  # a template's quick-reply button
        button = _dict(raw.get("button"))
        fields = {
            "kind": BUTTON,
            "action": _text(button.get("payload", "")),
            "text": _text(button.get("text", "")),
        }
    elif kind == "interactive":
        interactive = _dict(raw.get("interactive"))
        reply_type = interactive.get("type")
        reply = _dict(interactive.get(reply_type)) if isinstance(reply_type, str) else {}
        fields = {
            "kind": LIST if reply_type == "list_reply" else BUTTON,
            "action": _text(reply.get("id", "")),
            "text": _text(reply.get("title", "")),
        }
    elif kind == "location":
        location = _dict(raw.get("location"))
        latitude, longitude = _number(location.get("latitude")), _number(location.get("longitude"))
        if latitude is None or longitude is None:
            fields = {"kind": OTHER}
        else:
            fields = {"kind": LOCATION, "latitude": latitude, "longitude": longitude}
    else:
        fields = {"kind": OTHER}
    return Incoming(
        channel="whatsapp",
        provider_id=provider_id,
        phone=phone,
        sent_at=_when(raw.get("timestamp")),
        **fields,
    )


def _error_text(raw: Mapping) -> str:
    parts = []
    for error in _list(raw.get("errors")):
        error = _dict(error)
        details = _dict(error.get("error_data")).get("details", "")
        parts.append(
            " ".join(str(p) for p in (error.get("code", ""), error.get("title", ""), details) if p)
        )
    return "WhatsApp: " + "; ".join(parts) if parts else "WhatsApp: failed"


def whatsapp_events(
    data: object, *, phone_number_id: str = ""
) -> tuple[list[Incoming], list[StatusReport]]:
    """The messages and status reports of one webhook POST to the portal's number
    (`phone_number_id`; another number of the same business account is not ours); anything
    else in it is ignored."""
    messages: list[Incoming] = []
    statuses: list[StatusReport] = []
    if not isinstance(data, dict):
        return messages, statuses
    for entry in _list(data.get("entry")):
        for change in _list(_dict(entry).get("changes")):
            value = _dict(_dict(change).get("value"))
            number = str(_dict(value.get("metadata")).get("phone_number_id", ""))
            if phone_number_id and number and number != phone_number_id:
                continue
            for raw in _list(value.get("messages")):
                message = _whatsapp_message(_dict(raw))
                if message is not None:
                    messages.append(message)
            for raw in _list(value.get("statuses")):
                raw = _dict(raw)
                if not raw.get("id") or not raw.get("status"):
                    continue
                statuses.append(
                    StatusReport(
                        provider_id=str(raw["id"])[:200],
                        status=str(raw["status"]),
                        at=_when(raw.get("timestamp")) or timezone.now(),
                        reference=str(raw.get("biz_opaque_callback_data", ""))[:200],
                        error=_error_text(raw) if raw["status"] == "failed" else "",
                    )
                )
    return messages, statuses


SMS_ID = ("id", "message_id", "msgid", "uuid", "request_id")
SMS_FROM = ("from", "sender", "mobile", "msisdn", "phone")
SMS_TEXT = ("text", "message", "content", "body", "msg")
SMS_TIME = ("received_at", "timestamp", "time")


def _first(fields: Mapping, names: tuple[str, ...]) -> str:
    for name in names:
        value = fields.get(name)
        if value not in (None, ""):
            return str(value)
    return ""


def sms_incoming(fields: Mapping) -> Incoming | None:
    """The message of an SMS gateway's inbound POST, or None when it lacks an id or sender."""
    # Indian gateways send 919876543210, 9876543210 or +919876543210: all read as +91...
    phone = e164(_first(fields, SMS_FROM))
    provider_id = _text(_first(fields, SMS_ID))[:200]
    if not phone or not provider_id:
        return None
    return Incoming(
        channel="sms",
        provider_id=provider_id,
        phone=phone,
        kind=TEXT,
        text=_text(_first(fields, SMS_TEXT)),
        sent_at=_sms_time(_first(fields, SMS_TIME)),
    )


def _sms_time(when: str) -> datetime.datetime | None:
    """Seconds since 1970 or an ISO time; None for anything else (a 13th month, say)."""
    if when.isdecimal():
        return _when(when)
    try:
        return parse_datetime(when) if when else None
    except ValueError:
        return None
