"""WhatsApp through the WhatsApp Business Cloud API: approved template messages only.

    POST {WHATSAPP_API_URL}/{WHATSAPP_PHONE_NUMBER_ID}/messages
    Authorization: Bearer WHATSAPP_TOKEN
    {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "919876543210",
     "type": "template",
     "template": {"name": ..., "language": {"code": "en"|"bn"},
                  "components": [{"type": "body", "parameters": [{"type": "text", ...}]}]}}

The answer names the message in messages[0].id. The template name is the message kind unless
WHATSAPP_TEMPLATE_NAMES maps it; its body in each language is that language's SMS text with the
variables numbered {{1}}, {{2}}, ... in order (`manage.py notification_templates` prints it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

from .http import TRANSIENT_STATUSES, post_json
from .phones import e164

if TYPE_CHECKING:
    from notifications.catalogue import Rendered
    from notifications.models import Message

# Cloud API error codes worth another try: API/service hiccups, throttling, rate limits.
TRANSIENT_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131056, 133004})


def _transient(status: int, data: dict) -> bool:
    code = (data.get("error") or {}).get("code")
    return status in TRANSIENT_STATUSES or code in TRANSIENT_CODES


def template_name(kind: str) -> str:
    return settings.WHATSAPP_TEMPLATE_NAMES.get(kind, kind)


class WhatsAppCloudBackend:
    def is_available(self) -> bool:
        return bool(settings.WHATSAPP_API_URL)

    def address(self, user: object) -> str:
        return e164(getattr(user, "phone", ""))

    def send(self, *, message: Message, rendered: Rendered, address: str) -> str:
        url = (
            f"{settings.WHATSAPP_API_URL.rstrip('/')}/{settings.WHATSAPP_PHONE_NUMBER_ID}/messages"
        )
        payload = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": address.lstrip("+"),
            "type": "template",
            "template": {
                "name": template_name(message.kind),
                "language": {"code": message.language},
                "components": [
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "text": value} for value in rendered.parameters
                        ],
                    }
                ],
            },
        }
        answer = post_json(
            url,
            payload,
            headers={"Authorization": f"Bearer {settings.WHATSAPP_TOKEN}"},
            is_transient=_transient,
        )
        messages = answer.data.get("messages") or [{}]
        return str(messages[0].get("id", ""))
