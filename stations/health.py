"""Checks behind /healthz: the database, Redis, beat sending the periodic jobs and a recent
worker heartbeat."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from .models import WorkerHeartbeat


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - any failure means "down" to a health check
        return False


def redis_ok() -> bool:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def worker_last_seen() -> datetime.datetime | None:
    try:
        return WorkerHeartbeat.objects.aggregate(last=Max("seen_at"))["last"]
    except Exception:  # noqa: BLE001 - the database check reports the cause
        return None


def scheduler_last_seen() -> datetime.datetime | None:
    """When beat last sent a periodic job (it stores each last run: CELERY_BEAT_SYNC_EVERY)."""
    # django-celery-beat ships no types, and the django plugin does not let the override pass it.
    from django_celery_beat.models import PeriodicTask  # type: ignore[import-untyped]

    try:
        return PeriodicTask.objects.filter(enabled=True).aggregate(last=Max("last_run_at"))["last"]
    except Exception:  # noqa: BLE001 - the database check reports the cause
        return None


@dataclass(frozen=True)
class Jobs:
    """Whether the scheduled jobs run: beat sends them, a worker runs them."""

    scheduler_last_seen: datetime.datetime | None
    worker_last_seen: datetime.datetime | None
    scheduler_ok: bool
    # None: unknown. The worker's heartbeat is itself a beat job, so with beat gone a quiet
    # worker proves nothing.
    worker_ok: bool | None


def jobs() -> Jobs:
    stale_after = datetime.timedelta(seconds=settings.WORKER_HEARTBEAT_STALE_SECONDS)
    now = timezone.now()
    scheduler, worker = scheduler_last_seen(), worker_last_seen()
    scheduler_ok = scheduler is not None and now - scheduler <= stale_after
    worker_ok: bool | None = worker is not None and now - worker <= stale_after
    if not worker_ok and not scheduler_ok:
        worker_ok = None
    return Jobs(scheduler, worker, scheduler_ok, worker_ok)


def report() -> tuple[bool, dict]:
    """(healthy, details) for the health endpoint."""
    found = jobs()
    checks = {
        "database": "ok" if database_ok() else "fail",
        "redis": "ok" if redis_ok() else "fail",
        "scheduler": "ok" if found.scheduler_ok else "fail",
        "worker": {True: "ok", False: "fail", None: "unknown"}[found.worker_ok],
    }
    healthy = all(value == "ok" for value in checks.values())
    details = {
        "status": "ok" if healthy else "fail",
        "checks": checks,
        "scheduler_last_seen": _iso(found.scheduler_last_seen),
        "worker_last_seen": _iso(found.worker_last_seen),
    }
    return healthy, details


def _iso(moment: datetime.datetime | None) -> str | None:
    return moment.isoformat() if moment else None
