from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LendersConfig(AppConfig):
    name = "lenders"
    verbose_name = _("Lenders")

    def ready(self) -> None:
        from stations import stats

        from . import stats as lender_stats

        stats.register(lender_stats.figures)

        from auditlog.registry import auditlog

        from . import models

        for model in (
            models.LenderBranch,
            models.BranchMember,
            models.CollectionArea,
            models.Roster,
            models.RosterEntry,
            models.Incident,
            models.SosAlert,
        ):
            auditlog.register(model)
        auditlog.register(models.BranchApiKey, exclude_fields=["hashed_key"])
        auditlog.register(models.FieldAgent, exclude_fields=["photo"])
