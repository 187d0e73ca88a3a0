"""A developer's machine: debug on, a fixed development key, mail printed to the console."""

from __future__ import annotations

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="development-only-not-secret")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
# On a developer's machine the demo officers sign in with their password alone; set
# OTP_REQUIRED=true to try the second factor.
OTP_REQUIRED = env.bool("OTP_REQUIRED", default=False)
# Static files straight from the source folders: no collectstatic on a developer's machine.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
