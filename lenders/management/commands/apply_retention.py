from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context

from lenders.retention import retention_apply
from stations.selectors import station_list_live


class Command(BaseCommand):
    help = (
        "Clear personal data older than each station's retention days (see lenders.retention) "
        "and say, per station, how many rows of each kind were cleared."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--station", action="append", help="Only this station slug")
        parser.add_argument("--dry-run", action="store_true", help="Count, change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        stations = station_list_live()
        if options["station"]:
            stations = stations.filter(slug__in=options["station"])
            unknown = set(options["station"]) - set(stations.values_list("slug", flat=True))
            if unknown:
                raise CommandError(f"No such station: {', '.join(sorted(unknown))}")
        dry_run = bool(options["dry_run"])
        verb = "would clear" if dry_run else "cleared"
        for station in stations:
            with tenant_context(station):
                report = retention_apply(dry_run=dry_run)
            self.stdout.write(
                f"{station.slug}: before {report.before}: {verb} "
                + "".join(f"{count} {name}, " for name, count in report.cleared)
                + f"{report.audit_records} audit records, {report.messages} messages"
                + "".join(f", {count} {name}" for name, count in report.purged)
            )
