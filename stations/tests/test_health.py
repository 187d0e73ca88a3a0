from __future__ import annotations

import datetime

import pytest
from django.test import override_settings
from django.utils import timezone

from stations.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db


def _heartbeat(age: datetime.timedelta) -> None:
    WorkerHeartbeat.objects.all().delete()
    WorkerHeartbeat.objects.create(schema_name="public", seen_at=timezone.now() - age)


def test_healthz_is_200_with_database_redis_and_a_recent_worker(client, private_redis):
    _heartbeat(datetime.timedelta(seconds=10))
    with override_settings(REDIS_URL=private_redis()):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok", "worker": "ok"}


def test_healthz_is_503_when_redis_stops(client, private_redis):
    _heartbeat(datetime.timedelta(seconds=10))
    with override_settings(REDIS_URL=private_redis()):
        assert client.get("/healthz").status_code == 200
        private_redis.stop()
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == "fail"
    assert response.json()["checks"]["database"] == "ok"


def test_healthz_is_503_when_the_worker_has_gone_quiet(client, private_redis):
    _heartbeat(datetime.timedelta(hours=1))
    with override_settings(REDIS_URL=private_redis()):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == "fail"


def test_healthz_is_503_when_no_worker_ever_ran(client, private_redis):
    WorkerHeartbeat.objects.all().delete()
    with override_settings(REDIS_URL=private_redis()):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["worker_last_seen"] is None
