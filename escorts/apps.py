from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EscortsConfig(AppConfig):
    name = "escorts"
    verbose_name = _("Escorts")

    def ready(self) -> None:
        from stations import demo, stats

        from . import demo as escort_demo
        from . import stats as escort_stats

        stats.register(escort_stats.figures)
        demo.register(escort_demo.seed)
