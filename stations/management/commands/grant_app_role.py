"""Give the portal's database role its rights in every schema (run as the schema's owner)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from stations.db_roles import app_role_create, app_role_grant


class Command(BaseCommand):
    help = (
        "Grant the role web, worker and beat connect as (DATABASE_APP_ROLE, or ROLE) what the "
        "portal needs in every schema: no DDL, and the audit trail's event tables append-only."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("role", nargs="?", default="")
        parser.add_argument(
            "--create-role",
            action="store_true",
            help="Make the role first if it is missing, with DATABASE_APP_PASSWORD as password.",
        )

    def handle(self, *args: object, **options: object) -> None:
        role = str(options["role"] or settings.DATABASE_APP_ROLE)
        if not role:
            raise CommandError("Name the role, or set DATABASE_APP_ROLE.")
        if options["create_role"]:
            made = app_role_create(role=role, password=settings.DATABASE_APP_PASSWORD)
            self.stdout.write(f"{'Made' if made else 'Found'} the role {role}.")
        schemas = app_role_grant(role=role)
        self.stdout.write(f"Granted {role} its rights in {len(schemas)} schemas.")
