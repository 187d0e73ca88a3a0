from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StationsConfig(AppConfig):
    name = "stations"
    verbose_name = _("Stations")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from . import models

        auditlog.register(models.User, exclude_fields=["password", "last_login"])
        for model in (models.StationRole, models.SubdivisionRole, models.Station):
            auditlog.register(model)
