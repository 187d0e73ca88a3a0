from django.apps import AppConfig


class AuditBenchConfig(AppConfig):
    name = "benchmarks.audit"
    label = "audit_bench"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from . import models

        auditlog.register(models.LoggedEntry, exclude_fields=models.UNTRACKED)
