"""The test suite: fast hashing, mail kept in memory, a Redis database of its own.

Hermetic: whatever a developer's shell or .env says (another SITE_URL, a development broker),
every value a test can see is pinned here. Only the TEST_* variables and DATABASE_URL's server
(the test database's name is TEST_DATABASE_NAME) come from the environment.
"""

from __future__ import annotations

import datetime
import os

from .base import *  # noqa: F403
from .base import BASE_DIR, CELERY_BEAT_SCHEDULE, DATABASES, REST_FRAMEWORK, env

# Celery reads CELERY_BROKER_URL, CELERY_RESULT_BACKEND and the like from os.environ before its
# settings, and django-environ's read_env has copied the .env file into os.environ: drop them,
# so the suite's tasks go to the test broker below and never to a developer's worker.
for _name in [name for name in os.environ if name.startswith("CELERY_")]:
    del os.environ[_name]

SECRET_KEY = "test-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
CSRF_TRUSTED_ORIGINS = []
SITE_URL = "http://testserver"
PUBLIC_SCHEMA_URLCONF = "escort_portal.urls_public"
TIME_ZONE = CELERY_TIMEZONE = "Asia/Kolkata"
MEDIA_ROOT = BASE_DIR / "media"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
EMAIL_HOST = "localhost"
EMAIL_PORT = 25
EMAIL_HOST_USER = ""
EMAIL_HOST_PASSWORD = ""
EMAIL_USE_TLS = False
DEFAULT_FROM_EMAIL = "Escort Portal <noreply@localhost>"
DEMO_PASSWORD = "escort-demo"
INCIDENT_RAISES_RISK_DAYS = 30
OTP_REQUIRED = True
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = datetime.timedelta(minutes=30)
SESSION_COOKIE_AGE = 2 * 60 * 60
SESSION_RENEW_SECONDS = 300
OTP_ENROLMENT_CODE_HOURS = 24
RATE_LIMITS = {"login": "10/m", "signup": "5/m", "upload": "20/m", "password_reset": "5/h"}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
}
# Tests must never hand tasks to a developer's running worker.
REDIS_URL = env("TEST_REDIS_URL", default="redis://127.0.0.1:6379/15")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_DEFAULT_QUEUE = env("TEST_CELERY_QUEUE", default="escort_portal_test")
# The planning queue follows the test queue, so a worker a test starts takes both.
CELERY_PLANNING_QUEUE = f"{CELERY_TASK_DEFAULT_QUEUE}_planning"
CELERY_TASK_QUEUES = {CELERY_TASK_DEFAULT_QUEUE: {}, CELERY_PLANNING_QUEUE: {}}
CELERY_TASK_ROUTES = {"escorts.duty_sheet_build": {"queue": CELERY_PLANNING_QUEUE}}
CELERY_DB_REUSE_MAX = 100
# The beat fault test sweeps every few seconds, so that it sees beat send jobs without waiting for
# the minute jobs.
CELERY_BEAT_SCHEDULE = {
    **CELERY_BEAT_SCHEDULE,
    "notifications-sweep": {
        **CELERY_BEAT_SCHEDULE["notifications-sweep"],
        "schedule": env.float("TEST_BEAT_SWEEP_SECONDS", default=60.0),
    },
}
WORKER_HEARTBEAT_STALE_SECONDS = 180
STATION_JOB_SWEEP_MINUTES = 60
BUILD_GRACE_SECONDS = 300
BUILD_QUEUE_SECONDS = 1800
# The suite connects as the owner; the app role's own tests make theirs on a server of their own.
DATABASE_APP_ROLE = ""
DATABASE_APP_PASSWORD = ""
DATABASES["default"]["CONN_MAX_AGE"] = 60
# Commits do not wait for the disk: a crash of the server is no case of the suite's, and on this
# machine's disk each commit waited a few milliseconds (building the test database commits
# hundreds of times, and the workers and the committing tests more).
_options = DATABASES["default"].setdefault("OPTIONS", {})
_options["options"] = f"{_options.get('options', '')} -c synchronous_commit=off".strip()
# Separate test databases let two checkouts run their suites side by side.
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default="test_escort_portal")}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Notifications: SMS and WhatsApp only towards a gateway a test starts on localhost, whatever a
# developer's .env says; fixed credentials and DLT template ids the tests check for.
SMS_GATEWAY_URL = env("TEST_SMS_GATEWAY_URL", default="")
SMS_GATEWAY_KEY = "test-sms-key"
SMS_SENDER_ID = "EPORTL"
SMS_DLT_ENTITY_ID = "1101000000000000001"
SMS_DLT_TEMPLATE_IDS = env.dict("TEST_SMS_DLT_TEMPLATE_IDS", default={})
WHATSAPP_API_URL = env("TEST_WHATSAPP_API_URL", default="")
WHATSAPP_PHONE_NUMBER_ID = "100000000000001"
WHATSAPP_TOKEN = "test-whatsapp-token"
WHATSAPP_TEMPLATE_NAMES = {}
NOTIFICATIONS_HTTP_TIMEOUT = 2.0
NOTIFICATIONS_BACKENDS = {
    "email": "notifications.backends.mail.EmailBackend",
    "sms": "notifications.backends.sms.HttpSmsBackend",
    "whatsapp": "notifications.backends.whatsapp.WhatsAppCloudBackend",
}
NOTIFICATIONS_MAX_ATTEMPTS = 6
NOTIFICATIONS_RETRY_BASE_SECONDS = 15.0
NOTIFICATIONS_RETRY_MAX_SECONDS = 600.0
NOTIFICATIONS_SENDING_TIMEOUT_SECONDS = 300
# A worker test sweeps at once (TEST_NOTIFICATIONS_SWEEP_GRACE_SECONDS=0).
NOTIFICATIONS_SWEEP_GRACE_SECONDS = env.int("TEST_NOTIFICATIONS_SWEEP_GRACE_SECONDS", default=30)
NOTIFICATIONS_SWEEP_BATCH = 500
# Chat: fixed secrets the tests sign their webhook payloads with.
WHATSAPP_APP_SECRET = "test-app-secret"
WHATSAPP_VERIFY_TOKEN = "test-verify-token"
WHATSAPP_BUSINESS_NUMBER = "+919800000000"
SMS_INBOUND_SECRET = "test-sms-inbound-secret"
SMS_INBOUND_NUMBER = "+919800000001"
CHAT_LINK_CODE_MINUTES = 15
CHAT_KEEP_DAYS = 30

# Counters of rate limits live in memory per test process; the tests that check limits turn
# them on for themselves.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
RATELIMIT_ENABLE = False
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_THROTTLE_RATES": {"branch_key": "120/m"},
}
