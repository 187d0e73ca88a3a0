"""WhatsApp through the WhatsApp Business Cloud API: approved template messages only.

    POST {WHATSAPP_API_URL}/{WHATSAPP_PHONE_NUMBER_ID}/messages
    Authorization: Bearer WHATSAPP_TOKEN
    {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "919876543210",
     "type": "template",
     "template": {"name": ..., "language": {"code": "en"|"bn"},
                  "components": [{"type": "body", "parameters": [{"type": "text", ...}]},
                                 {"type": "button", "sub_type": "quick_reply", ...}]},
     "biz_opaque_callback_data": "m:<schema>:<message id>"}

The answer names the message in messages[0].id. The template name is the message kind unless
WHATSAPP_TEMPLATE_NAMES maps it; its body in each language is that language's SMS text with the
variables numbered {{1}}, {{2}}, ... in order (`manage.py notification_templates` prints it). A
message whose context names what its buttons act on (`chat_ref`) is the kind's `_actions`
template, with quick-reply buttons whose payloads come back to the conversation webhook.

A message goes only to the number its recipient linked from their own phone and only while
they agree to WhatsApp messages (`stations.ChatContact`): "STOP" from that phone ends every
WhatsApp send at once, including those already queued. `biz_opaque_callback_data` comes back
in the delivery, read and failure callbacks and names the outbox row they are about.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

from stations.db import connection
from stations.models import ChatContact

from ..catalogue import KINDS, button_payload
from .http import TRANSIENT_STATUSES, post_json

if TYPE_CHECKING:
    from notifications.catalogue import Rendered
    from notifications.models import Message

# Cloud API error codes worth another try: API/service hiccups, throttling, rate limits.
TRANSIENT_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131056, 133004})


def _transient(status: int, data: dict) -> bool:
    code = (data.get("error") or {}).get("code")
    return status in TRANSIENT_STATUSES or code in TRANSIENT_CODES


def template_name(kind: str, *, actions: bool = False) -> str:
    name = f"{kind}_actions" if actions else kind
    return settings.WHATSAPP_TEMPLATE_NAMES.get(name, name)


def consenting_number(user: object) -> str:
    """The number `user` linked from their phone while they agree to WhatsApp, else ""."""
    user_id = getattr(user, "pk", None)
    if user_id is None:
        return ""
    contact = (
        ChatContact.objects.filter(user_id=user_id, whatsapp_consent=True)
        .values_list("phone", flat=True)
        .first()
    )
    return contact or ""


def callback_reference(message: Message) -> str:
    """What the status callbacks of this message carry back: its station and row."""
    return f"m:{connection.schema_name}:{message.pk}"


def _button_components(message: Message) -> list[dict]:
    spec = KINDS[message.kind]
    chat_ref = message.context.get("chat_ref", "")
    components: list[dict] = [
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": str(index),
            "parameters": [
                {
                    "type": "payload",
                    "payload": button_payload(code, connection.schema_name, chat_ref),
                }
            ],
        }
        for index, code in enumerate(spec.buttons)
    ]
    if spec.link_button:
        components.append(
            {
                "type": "button",
                "sub_type": "url",
                "index": str(len(spec.buttons)),
                # The approved button's URL is SITE_URL/{{1}}; this is the rest of the path.
                "parameters": [{"type": "text", "text": message.path.lstrip("/")}],
            }
        )
    return components


class WhatsAppCloudBackend:
    def is_available(self) -> bool:
        return bool(settings.WHATSAPP_API_URL)

    def address(self, user: object) -> str:
        return consenting_number(user)

    def send(self, *, message: Message, rendered: Rendered, address: str) -> str:
        url = (
            f"{settings.WHATSAPP_API_URL.rstrip('/')}/{settings.WHATSAPP_PHONE_NUMBER_ID}/messages"
        )
        actions = bool(message.context.get("chat_ref")) and KINDS[message.kind].has_actions
        components: list[dict] = [
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": value} for value in rendered.whatsapp_parameters
                ],
            }
        ]
        if actions:
            components += _button_components(message)
        payload = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": address.lstrip("+"),
            "type": "template",
            "template": {
                "name": template_name(message.kind, actions=actions),
                "language": {"code": message.language},
                "components": components,
            },
            "biz_opaque_callback_data": callback_reference(message),
        }
        answer = post_json(
            url,
            payload,
            headers={"Authorization": f"Bearer {settings.WHATSAPP_TOKEN}"},
            is_transient=_transient,
        )
        messages = answer.data.get("messages") or [{}]
        return str(messages[0].get("id", ""))
