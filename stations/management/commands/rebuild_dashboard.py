from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django_tenants.utils import tenant_context

from stations import stats
from stations.selectors import station_list_live


class Command(BaseCommand):
    help = "Recount the SDPO dashboard's figures from the station schemas for a range of dates."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="start", help="First date, YYYY-MM-DD (default today)")
        parser.add_argument("--to", dest="end", help="Last date, YYYY-MM-DD (default --from)")
        parser.add_argument("--station", action="append", help="Only this station slug")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            start = datetime.date.fromisoformat(
                options["start"] or timezone.localdate().isoformat()
            )
            end = datetime.date.fromisoformat(options["end"]) if options["end"] else start
        except ValueError as exc:
            raise CommandError(f"Dates are YYYY-MM-DD: {exc}") from exc
        if end < start:
            raise CommandError("--to is before --from")
        stations = station_list_live()
        if options["station"]:
            stations = stations.filter(slug__in=options["station"])
        days = (end - start).days + 1
        for station in stations:
            with tenant_context(station):
                for offset in range(days):
                    stats.refresh(date=start + datetime.timedelta(days=offset))
            self.stdout.write(f"{station.slug}: {days} day(s) recounted")
