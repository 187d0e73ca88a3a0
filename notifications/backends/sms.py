"""SMS through an HTTP gateway, under India's DLT rules.

Every SMS is a registered template: the gateway gets the DLT template id of the message's kind
and language, the principal entity id, the sender id, the text exactly as registered with only
the variable slots filled in, and the slots' values in order. The request:

    POST SMS_GATEWAY_URL
    Authorization: Bearer SMS_GATEWAY_KEY
    {"sender": ..., "to": "919876543210", "entity_id": ..., "template_id": ...,
     "message": ..., "variables": [...], "unicode": true|false, "reference": "<schema>-<id>"}

and a 2xx answer whose JSON carries the gateway's id in "id", "message_id" or "request_id".
`reference` lets a gateway that deduplicates drop a resend after a crash. A gateway with a
different shape gets its own class in NOTIFICATIONS_BACKENDS. A number whose owner sent "STOP"
by SMS (stations.ChatContact.sms_stopped) gets none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

from stations.db import connection
from stations.models import ChatContact

from . import PermanentDeliveryError
from .http import post_json
from .phones import e164

if TYPE_CHECKING:
    from notifications.catalogue import Rendered
    from notifications.models import Message


def dlt_template_id(kind: str, language: str) -> str:
    ids = settings.SMS_DLT_TEMPLATE_IDS
    return ids.get(f"{kind}.{language}") or ids.get(kind, "")


class HttpSmsBackend:
    def is_available(self) -> bool:
        return bool(settings.SMS_GATEWAY_URL)

    def address(self, user: object) -> str:
        number = e164(getattr(user, "phone", ""))
        # "STOP" sent by SMS from this very number ends the portal's SMS to it.
        if number and ChatContact.objects.filter(phone=number, sms_stopped=True).exists():
            return ""
        return number

    def send(self, *, message: Message, rendered: Rendered, address: str) -> str:
        template_id = dlt_template_id(message.kind, message.language)
        if not template_id:
            raise PermanentDeliveryError(
                f"No DLT template id for {message.kind}.{message.language} in SMS_DLT_TEMPLATE_IDS."
            )
        payload = {
            "sender": settings.SMS_SENDER_ID,
            "to": address.lstrip("+"),
            "entity_id": settings.SMS_DLT_ENTITY_ID,
            "template_id": template_id,
            "message": rendered.sms,
            "variables": list(rendered.parameters),
            "unicode": not rendered.sms.isascii(),
            "reference": f"{connection.schema_name}-{message.pk}",
        }
        answer = post_json(
            settings.SMS_GATEWAY_URL,
            payload,
            headers={"Authorization": f"Bearer {settings.SMS_GATEWAY_KEY}"},
        )
        data = answer.data
        return str(data.get("id") or data.get("message_id") or data.get("request_id") or "")
