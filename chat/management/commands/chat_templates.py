"""Print the SMS (DLT) texts of the conversation's replies, to register once.

    python manage.py chat_templates

Register each with the DLT platform (variables as {#var#}) and put the id it gets into
SMS_DLT_TEMPLATE_IDS as kind.language=id, beside the outbox's own (notification_templates).
WhatsApp replies need no approval: they are free-form, inside the 24 hours after the person's
message; only their button titles are listed.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils import translation

from chat import replies
from chat.conversation import BUTTON_TITLES
from notifications import catalogue


class Command(BaseCommand):
    help = "Print the DLT texts of the WhatsApp and SMS conversation's replies."

    def handle(self, *args: object, **options: object) -> None:
        for kind in sorted(replies.KINDS):
            if kind in replies.WHATSAPP_ONLY:
                continue
            slots = ", ".join(replies.sms_slots(kind, "en")) or "-"
            self.stdout.write(f"## {kind}  ({slots})")
            for language in catalogue.languages():
                self.stdout.write(f"{kind}.{language} SMS (DLT):")
                self.stdout.write(f"  {replies.sms_registration_text(kind, language)}")
            self.stdout.write("")
        self.stdout.write("## WhatsApp reply buttons (at most 20 characters)")
        for language in catalogue.languages():
            with translation.override(language):
                titles = " | ".join(str(title) for title in BUTTON_TITLES.values())
            self.stdout.write(f"{language}: {titles}")
