"""Checks behind /healthz: the database, Redis and a recent worker heartbeat."""

from __future__ import annotations

import datetime

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


def report() -> tuple[bool, dict]:
    """(healthy, details) for the health endpoint."""
    last_seen = worker_last_seen()
    stale_after = datetime.timedelta(seconds=settings.WORKER_HEARTBEAT_STALE_SECONDS)
    worker_alive = last_seen is not None and timezone.now() - last_seen <= stale_after
    checks = {"database": database_ok(), "redis": redis_ok(), "worker": worker_alive}
    details = {
        "status": "ok" if all(checks.values()) else "fail",
        "checks": {name: "ok" if ok else "fail" for name, ok in checks.items()},
        "worker_last_seen": last_seen.isoformat() if last_seen else None,
    }
    return all(checks.values()), details
