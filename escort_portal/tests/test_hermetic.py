"""The test settings: nothing in a developer's environment changes what the suite sees."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from django.conf import settings

# Every variable .env.example lists that a developer may set, each to a value unlike its default.
# DATABASE_URL is left alone (it says where PostgreSQL is), as are the TEST_* variables, which
# exist to be set.
A_DEVELOPERS_ENVIRONMENT = {
    "SECRET_KEY": "a-developers-key",
    "DEBUG": "true",
    "ALLOWED_HOSTS": "dev.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://dev.example.org",
    "SITE_URL": "http://localhost:8123",
    "DATABASE_CONN_MAX_AGE": "5",
    "REDIS_URL": "redis://127.0.0.1:6379/14",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/14",
    "CELERY_RESULT_BACKEND": "redis://127.0.0.1:6379/14",
    "CELERY_TASK_DEFAULT_QUEUE": "a_developers_queue",
    "CELERY_DB_REUSE_MAX": "3",
    "WORKER_HEARTBEAT_STALE_SECONDS": "7",
    "BUILD_GRACE_SECONDS": "9",
    "DATABASE_APP_ROLE": "a_developers_role",
    "DATABASE_APP_PASSWORD": "a-developers-password",
    "TIME_ZONE": "UTC",
    "PUBLIC_SCHEMA_URLCONF": "benchmarks.load.urls",
    "MEDIA_ROOT": "/srv/a-developers-media",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "EMAIL_HOST": "mail.example.org",
    "EMAIL_PORT": "587",
    "EMAIL_HOST_USER": "someone",
    "EMAIL_HOST_PASSWORD": "secret",
    "EMAIL_USE_TLS": "true",
    "DEFAULT_FROM_EMAIL": "someone@example.org",
    "DEMO_PASSWORD": "another-password",
    "INCIDENT_RAISES_RISK_DAYS": "2",
    "LOG_LEVEL": "DEBUG",
    "SMS_GATEWAY_URL": "https://sms.example.org/send",
    "SMS_GATEWAY_KEY": "key",
    "SMS_SENDER_ID": "DEVSMS",
    "SMS_DLT_ENTITY_ID": "1",
    "SMS_DLT_TEMPLATE_IDS": "sos.en=2",
    "WHATSAPP_API_URL": "https://graph.example.org",
    "WHATSAPP_PHONE_NUMBER_ID": "3",
    "WHATSAPP_TOKEN": "token",
    "WHATSAPP_TEMPLATE_NAMES": "sos=other",
    "WHATSAPP_APP_SECRET": "a-developers-app-secret",
    "WHATSAPP_VERIFY_TOKEN": "a-developers-token",
    "WHATSAPP_BUSINESS_NUMBER": "+919999999999",
    "SMS_INBOUND_SECRET": "a-developers-inbound-secret",
    "SMS_INBOUND_NUMBER": "+919999999998",
    "CHAT_LINK_CODE_MINUTES": "1",
    "CHAT_KEEP_DAYS": "2",
    "NOTIFICATIONS_EMAIL_BACKEND": "notifications.backends.sms.HttpSmsBackend",
    "NOTIFICATIONS_SMS_BACKEND": "notifications.backends.mail.EmailBackend",
    "NOTIFICATIONS_WHATSAPP_BACKEND": "notifications.backends.mail.EmailBackend",
    "NOTIFICATIONS_HTTP_TIMEOUT": "30",
    "NOTIFICATIONS_MAX_ATTEMPTS": "2",
    "NOTIFICATIONS_RETRY_BASE_SECONDS": "1",
    "NOTIFICATIONS_RETRY_MAX_SECONDS": "2",
    "NOTIFICATIONS_SENDING_TIMEOUT_SECONDS": "3",
    "NOTIFICATIONS_SWEEP_SECONDS": "4",
    "NOTIFICATIONS_SWEEP_GRACE_SECONDS": "5",
    "NOTIFICATIONS_SWEEP_BATCH": "6",
    "OTP_REQUIRED": "false",
    "AXES_FAILURE_LIMIT": "50",
    "AXES_COOLOFF_MINUTES": "1",
    "SESSION_IDLE_SECONDS": "60",
    "RATE_LIMIT_LOGIN": "1000/m",
    "RATE_LIMIT_SIGNUP": "1000/m",
    "RATE_LIMIT_UPLOAD": "1000/m",
    "RATE_LIMIT_API": "1000/m",
    "CACHE_URL": "redis://127.0.0.1:6379/14",
    "SECURE_SSL_REDIRECT": "false",
    "SECURE_HSTS_SECONDS": "0",
}

# Prints every setting and what the Celery app will connect to, as the suite would see them.
SEEN_BY_THE_SUITE = """
import json
import django
from django.conf import settings
django.setup()
from escort_portal.celery import app
seen = {name: getattr(settings, name) for name in dir(settings) if name.isupper()}
seen["celery"] = [app.conf.broker_url, app.conf.result_backend, app.conf.task_default_queue]
print(json.dumps(seen, default=str))
"""


def _seen(environment: dict[str, str]) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", SEEN_BY_THE_SUITE],
        env={**environment, "DJANGO_SETTINGS_MODULE": "escort_portal.settings.test"},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout)


def test_a_developers_environment_changes_no_setting_the_suite_sees():
    plain = {k: v for k, v in os.environ.items() if k not in A_DEVELOPERS_ENVIRONMENT}
    expected = _seen(plain)
    seen = _seen({**plain, **A_DEVELOPERS_ENVIRONMENT})
    changed = {name: seen[name] for name in expected if seen[name] != expected[name]}
    assert changed == {}
    assert expected["celery"][0] == settings.CELERY_BROKER_URL
