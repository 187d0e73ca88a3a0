from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EscortsConfig(AppConfig):
    name = "escorts"
    verbose_name = _("Escorts")

    def ready(self) -> None:
        from stations import stats

        from . import stats as escort_stats

        stats.register(escort_stats.figures)

        from auditlog.registry import auditlog

        from . import models

        for model in (models.Officer, models.EscortTeam, models.TeamOffDuty, models.EscortRun):
            auditlog.register(model)
        # The build's progress fields change every few seconds; they are not decisions.
        auditlog.register(
            models.DutySheet, exclude_fields=["build_stage", "updated_at", "created_at"]
        )
