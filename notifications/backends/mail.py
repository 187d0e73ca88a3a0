"""Email through Django's configured email backend (console in development, SMTP in production)."""

from __future__ import annotations

import smtplib
from email.utils import make_msgid
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from . import PermanentDeliveryError, TransientDeliveryError

if TYPE_CHECKING:
    from notifications.catalogue import Rendered
    from notifications.models import Message


class EmailBackend:
    def is_available(self) -> bool:
        return bool(settings.EMAIL_BACKEND)

    def address(self, user: object) -> str:
        return getattr(user, "email", "") or ""

    def send(self, *, message: Message, rendered: Rendered, address: str) -> str:
        message_id = make_msgid(domain=urlsplit(settings.SITE_URL).hostname or "localhost")
        email = EmailMessage(
            subject=rendered.subject,
            body=rendered.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[address],
            headers={"Message-ID": message_id},
            connection=get_connection(fail_silently=False),
        )
        try:
            email.send()
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
            raise PermanentDeliveryError(f"Mail server refused: {exc}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientDeliveryError(f"Mail server: {exc}") from exc
        return message_id
