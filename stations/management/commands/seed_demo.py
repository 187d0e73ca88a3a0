from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand
from django_tenants.utils import tenant_context

from lenders import demo as lenders_demo
from stations import demo


class Command(BaseCommand):
    help = "Load Kharagpur subdivision's five stations with demo people and data (idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        password = settings.DEMO_PASSWORD
        logins = [(login.username, login.what) for login in demo.seed(password=password)]
        for station in demo.demo_stations():
            with tenant_context(station):
                logins += lenders_demo.seed(station=station, password=password)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Logins (password: {password}):"))
        for username, what in logins:
            self.stdout.write(f"  {username:<24} {what}")
