from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EscortsConfig(AppConfig):
    name = "escorts"
    verbose_name = _("Escorts")

    def ready(self) -> None:
        from lenders import retention
        from stations import demo, stats

        from . import demo as escort_demo
        from . import services
        from . import stats as escort_stats

        stats.register(escort_stats.figures)
        demo.register(escort_demo.seed)
        retention.register_purge("escort positions and check-ins", services.run_signs_purge)
