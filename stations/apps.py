from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StationsConfig(AppConfig):
    name = "stations"
    verbose_name = _("Stations")

    def ready(self) -> None:
        from django.core.management.commands import makemigrations
        from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand

        # pgtrigger gives makemigrations and Django's migrate an autodetector that knows
        # triggers; django-tenants' migrate names Django's plain one, which Django's check
        # refuses. It runs Django's migrate in each schema, so they are the same in fact.
        MigrateSchemasCommand.autodetector = makemigrations.Command.autodetector
