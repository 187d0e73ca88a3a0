"""Issue a second-factor enrolment code from the server: for the first platform admin, or an
officer-in-charge, who have nobody in the portal above them to issue one."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from stations import services
from stations.models import User


class Command(BaseCommand):
    help = (
        "Print a one-time code with which USERNAME sets up their authenticator app at "
        "/accounts/two-factor/. With --reset, their current authenticator and recovery codes "
        "stop working and their sessions end (a lost phone)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--reset", action="store_true")

    def handle(self, *args: object, **options: object) -> None:
        user = User.objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {options['username']}.")
        issue = services.second_factor_reset if options["reset"] else services.enrolment_code_issue
        code = issue(user=user, by=None)
        self.stdout.write(code)
