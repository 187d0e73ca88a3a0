from django.apps import AppConfig
from django.db.models.signals import post_migrate
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
        post_migrate.connect(_snapshot_template_after_migrating)


def _snapshot_template_after_migrating(sender: AppConfig, using: str, **kwargs: object) -> None:
    """Stations are created from a snapshot of the template; take it as soon as the template
    is migrated, so the first station after a deployment does not pay for it."""
    from django.apps import apps
    from django.conf import settings
    from django.contrib.contenttypes.management import create_contenttypes
    from django.db import connections

    from stations import schemas

    if getattr(connections[using], "schema_name", None) != settings.TENANT_BASE_SCHEMA:
        return
    migrated = [config for config in apps.get_app_configs() if config.models_module]
    if sender is not migrated[-1]:
        return
    # Content types are made by post_migrate receivers too, some of them after this one: make
    # them all now (they are made once), so the snapshot has them.
    for config in migrated:
        create_contenttypes(config, verbosity=0, using=using)
    schemas.snapshot_take()
