from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    """The police incident register and field agents' SOS alerts, beside the lender side they
    refer to (areas, branches, agents, trips)."""

    name = "incidents"
    verbose_name = _("Incidents")

    def ready(self) -> None:
        from stations import stats

        from . import retention
        from . import stats as incident_stats

        stats.register(incident_stats.figures)
        retention.register()
