"""The test suite: fast hashing, mail kept in memory, a Redis database of its own."""

from __future__ import annotations

from .base import *  # noqa: F403
from .base import DATABASES, REST_FRAMEWORK, env

SECRET_KEY = "test-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests must never hand tasks to a developer's running worker.
REDIS_URL = env("TEST_REDIS_URL", default="redis://127.0.0.1:6379/15")
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_DEFAULT_QUEUE = env("TEST_CELERY_QUEUE", default="escort_portal_test")
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
NOTIFICATIONS_HTTP_TIMEOUT = env.float("NOTIFICATIONS_HTTP_TIMEOUT", default=2.0)

# Counters of rate limits live in memory per test process; the tests that check limits turn
# them on for themselves.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
RATELIMIT_ENABLE = False
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
