from __future__ import annotations

import datetime

import pytest
from django.test import override_settings
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from stations.models import StationJobDue, WorkerHeartbeat

pytestmark = pytest.mark.django_db


def _heartbeat(age: datetime.timedelta, beat_age: datetime.timedelta | None = None) -> None:
    """The worker last ran a job `age` ago; beat last sent one `beat_age` ago (default: now)."""
    WorkerHeartbeat.objects.all().delete()
    WorkerHeartbeat.objects.create(schema_name="public", seen_at=timezone.now() - age)
    PeriodicTask.objects.update(enabled=False)
    PeriodicTask.objects.filter(name="test minute job").delete()
    schedule, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    PeriodicTask.objects.create(
        name="test minute job",
        task="escorts.tick_all_stations",
        interval=schedule,
        last_run_at=timezone.now() - (beat_age or datetime.timedelta(seconds=5)),
    )


def test_healthz_is_200_with_database_redis_beat_and_a_recent_worker(client, private_redis):
    _heartbeat(datetime.timedelta(seconds=10))
    with override_settings(REDIS_URL=private_redis()):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"] == {
        "database": "ok", "redis": "ok", "scheduler": "ok", "worker": "ok"
    }  # fmt: skip


def test_healthz_tells_a_stopped_beat_from_a_stopped_worker(client, private_redis):
    hour = datetime.timedelta(hours=1)
    with override_settings(REDIS_URL=private_redis()):
        _heartbeat(hour, beat_age=hour)
        beat_down = client.get("/healthz")
        _heartbeat(hour)
        worker_down = client.get("/healthz")
    assert beat_down.status_code == worker_down.status_code == 503
    assert beat_down.json()["checks"]["scheduler"] == "fail"
    assert beat_down.json()["checks"]["worker"] == "unknown"
    assert worker_down.json()["checks"]["scheduler"] == "ok"
    assert worker_down.json()["checks"]["worker"] == "fail"


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


def test_the_platform_admin_names_heartbeats_and_due_jobs_by_indias_clock():
    # 06:30 UTC is noon in India, the clock the platform's operators read.
    utc_noon = datetime.datetime(2026, 12, 1, 6, 30, tzinfo=datetime.UTC)
    heartbeat = WorkerHeartbeat(schema_name="debra", seen_at=utc_noon)
    assert str(heartbeat) == "debra @ 2026-12-01 12:00:00"
    due = StationJobDue(station_id=1, job="cutoff", due_at=utc_noon)
    assert str(due) == "1 cutoff @ 2026-12-01 12:00"
