"""The test suite: fast hashing, mail kept in memory, a Redis database of its own."""

from __future__ import annotations

from .base import *  # noqa: F403
from .base import DATABASES, env

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
