"""Settings of the audit-library benchmark: a plain PostgreSQL database of its own with both
libraries installed side by side, and nothing else of the portal."""

import environ

env = environ.Env()

SECRET_KEY = "audit-benchmark"
USE_TZ = True
TIME_ZONE = "Asia/Kolkata"
DATABASES = {
    "default": env.db(
        "BENCH_AUDIT_DATABASE_URL",
        default="postgres://postgres@127.0.0.1:5432/escort_portal_audit",
    )
}
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "auditlog",
    "pgtrigger",
    "pghistory",
    "benchmarks.audit.apps.AuditBenchConfig",
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
