"""Helpers for tests that need processes of their own: a real Celery worker on the test
database and queue."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection


def start_worker(*, broker_url: str | None = None, extra_env: dict | None = None, name: str = "w1"):
    """A Celery worker process on the test queue and the test database."""
    db = connection.settings_dict
    assert db["NAME"] == settings.DATABASES[DEFAULT_DB_ALIAS]["TEST"]["NAME"]
    env = dict(os.environ)
    env.update(
        {
            # The test settings drop every CELERY_* variable, whatever the environment says.
            "DJANGO_SETTINGS_MODULE": "escort_portal.settings.test",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "TEST_CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
            "TEST_REDIS_URL": broker_url or settings.CELERY_BROKER_URL,
            **(extra_env or {}),
        }
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "escort_portal",
            "worker",
            "--pool=solo",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            f"--hostname={name}@%h",
            "--loglevel=WARNING",
        ],
        env=env,
        cwd=settings.BASE_DIR,
    )


def stop_worker(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def wait_for(condition: Callable[[], bool], *, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()
