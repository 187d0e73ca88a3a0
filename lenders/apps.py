from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LendersConfig(AppConfig):
    name = "lenders"
    verbose_name = _("Lenders")

    def ready(self) -> None:
        from stations import demo, stats

        from . import demo as lender_demo
        from . import retention  # noqa: F401 - registers the roster entries' details to clear
        from . import stats as lender_stats

        stats.register(lender_stats.figures)
        demo.register(lender_demo.seed)
