from __future__ import annotations

import datetime

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone
from django_tenants.utils import tenant_context

from stations import demo, stats


class Command(BaseCommand):
    help = "Load Kharagpur subdivision's five stations with demo people and data (idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        password = settings.DEMO_PASSWORD
        logins = [(login.username, login.what) for login in demo.seed(password=password)]
        for station in demo.demo_stations():
            with tenant_context(station):
                for seed in demo.station_seeds:
                    logins += seed(station=station, password=password)
                # Demo rows are written directly, so count them once for the dashboard.
                today = timezone.localdate()
                for date in (today, today + datetime.timedelta(days=1)):
                    stats.refresh(date=date)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Logins (password: {password}):"))
        for username, what in logins:
            self.stdout.write(f"  {username:<24} {what}")
