from __future__ import annotations

import datetime
import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from stations import services
from stations.models import Subdivision


class Command(BaseCommand):
    help = "Create a police station with its own schema, ready to use."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="URL name, e.g. debra (pages under /station/debra/)")
        parser.add_argument("--name", required=True, help="Name in English")
        parser.add_argument("--name-bn", default="", help="Name in Bengali")
        parser.add_argument(
            "--subdivision", required=True, help="Subdivision name (created if new)"
        )
        parser.add_argument("--district", default="", help="District, for a new subdivision")
        parser.add_argument("--address", default="")
        parser.add_argument("--phone", default="")
        parser.add_argument("--cutoff", default="", help="Roster cut-off, HH:MM (default 08:30)")

    def handle(self, *args: object, **options: object) -> None:
        cutoff = None
        if options["cutoff"]:
            try:
                cutoff = datetime.time.fromisoformat(str(options["cutoff"]))
            except ValueError as exc:
                raise CommandError(f"--cutoff must be HH:MM: {exc}") from exc
        subdivision, _ = Subdivision.objects.get_or_create(
            name=options["subdivision"], defaults={"district": options["district"] or "-"}
        )
        started = time.perf_counter()
        try:
            station = services.station_create(
                slug=str(options["slug"]),
                name=str(options["name"]),
                name_bn=str(options["name_bn"]),
                subdivision=subdivision,
                address=str(options["address"]),
                phone=str(options["phone"]),
                roster_cutoff=cutoff,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {station.name} (schema {station.schema_name}) in {elapsed:.2f} s: "
                f"/station/{station.slug}/"
            )
        )
