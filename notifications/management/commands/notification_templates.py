"""Print the SMS and WhatsApp templates to register, one per message kind and language.

    python manage.py notification_templates [--kind sos]

SMS: the text for the DLT platform, variables as {#var#}; put the id it gets into
SMS_DLT_TEMPLATE_IDS as kind.language=id. WhatsApp: the body for a template named as the kind
(or as WHATSAPP_TEMPLATE_NAMES says), parameters as {{1}}, {{2}}, ...; a kind with buttons also
needs `<kind>_actions`, the same body with the buttons listed (quick replies, in this order,
then a URL button SITE_URL/{{1}}). Register every template in the Utility category.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import translation

from notifications import catalogue


class Command(BaseCommand):
    help = "Print the SMS (DLT) and WhatsApp templates to register for every message kind."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", choices=sorted(catalogue.KINDS))

    def handle(self, *args: object, kind: str | None = None, **options: object) -> None:
        for name in [kind] if kind else sorted(catalogue.KINDS):
            variables = ", ".join(catalogue.KINDS[name].variables)
            self.stdout.write(f"## {name}  ({variables})")
            for language in catalogue.languages():
                self.stdout.write(f"{name}.{language} SMS (DLT):")
                self.stdout.write(f"  {catalogue.sms_registration_text(name, language)}")
                self.stdout.write(f"{name}.{language} WhatsApp body:")
                self.stdout.write(f"  {catalogue.whatsapp_registration_text(name, language)}")
                spec = catalogue.KINDS[name]
                if spec.has_actions:
                    with translation.override(language):
                        buttons = [str(catalogue.TEMPLATE_BUTTONS[code]) for code in spec.buttons]
                        if spec.link_button:
                            link = settings.SITE_URL.rstrip("/") + "/{{1}}"
                            buttons.append(f"{catalogue.TEMPLATE_BUTTONS['link']} -> {link}")
                    self.stdout.write(f"{name}_actions.{language} buttons: {' | '.join(buttons)}")
            self.stdout.write("")
