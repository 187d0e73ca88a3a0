from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from stations import demo


class Command(BaseCommand):
    help = "Load Kharagpur subdivision's five stations with demo people and data (idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        password = settings.DEMO_PASSWORD
        logins = demo.seed(password=password)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Logins (password: {password}):"))
        for login in logins:
            self.stdout.write(f"  {login.username:<24} {login.what}")
