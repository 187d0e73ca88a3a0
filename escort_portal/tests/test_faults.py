"""Faults as they happen in real use, against PostgreSQL and Redis instances of the test's own
and real processes: nothing the portal runs may need a restart by hand afterwards."""

from __future__ import annotations

import datetime
import json
import logging
import subprocess
import sys
import time

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client, override_settings

from escort_portal.celery import app
from escort_portal.settings import base as base_settings
from escort_portal.testing import start_worker, stop_worker, wait_for
from escorts.tasks import tick_all_stations
from lenders import api_keys, upload
from lenders.tests.factories import AgentFactory, AreaFactory, BranchFactory, MemberFactory
from stations.routing import station_reverse

IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
TODAY = datetime.date(2026, 12, 1)

pytestmark = [pytest.mark.faults, pytest.mark.django_db]

# Today's roster at Debra in the private database: a team and two trips, a cut-off passed, so
# the next minute job builds the day's draft.
SEED_A_DAY = """
import datetime
from django.utils import timezone
from django_tenants.utils import tenant_context
from escorts.tests.conftest import entry
from escorts.tests.factories import TeamFactory
from stations.models import Station

Station.objects.filter(slug="debra").update(roster_cutoff=datetime.time(0, 0), planner_seconds=1)
with tenant_context(Station.objects.get(slug="debra")):
    today = timezone.localdate()
    TeamFactory(name="Restart team", capacity=3)
    entry(date=today)
    entry(date=today, start="10:15", end="11:00")
"""


def _manage(database_url: str, *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={
            "PATH": "/usr/bin:/bin:/usr/local/bin",
            "DJANGO_SETTINGS_MODULE": "escort_portal.settings.test",
            "DATABASE_URL": database_url,
        },
        check=True,
    )


def test_the_worker_builds_the_next_sheet_after_a_database_restart(private_postgres):
    private_postgres.copy_database(connection.settings_dict)
    _manage(private_postgres.url, "shell", "-c", SEED_A_DAY)
    schema = private_postgres.query("SELECT schema_name FROM stations_station WHERE slug='debra'")
    sheets = f'SELECT build_status FROM "{schema[0][0]}".escorts_dutysheet'  # noqa: S608
    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}_db_restart"
    broker = app.connection_for_write().default_channel.client
    broker.delete(queue)
    worker = start_worker(
        extra_env={"DATABASE_URL": private_postgres.url, "TEST_CELERY_QUEUE": queue},
        name="db-restart",
    )
    try:
        # The worker's first job (the heartbeat on start) opens the connection it keeps.
        assert wait_for(
            lambda: private_postgres.query("SELECT count(*) FROM stations_workerheartbeat")[0][0],
            seconds=60,
        )
        private_postgres.restart()
        restarted = time.monotonic()

        def built() -> bool:
            # Beat's minute job, sent more often: each one a chance to build.
            tick_all_stations.apply_async(queue=queue)
            return wait_for(lambda: private_postgres.query(sheets) == [("done",)], seconds=5)

        assert wait_for(built, seconds=90), private_postgres.query(sheets)
        print(f"database restart to the sheet built: {time.monotonic() - restarted:.1f} s")
        assert worker.poll() is None  # the same worker, never restarted
    finally:
        stop_worker(worker)
        broker.delete(queue)


@pytest.fixture
def limits_on_a_private_redis(private_redis):
    """The production cache (Redis, falling back to memory) on a Redis of the test's own, with
    every rate limit on."""
    url = private_redis()
    cache_settings = {**settings.CACHES, "default": {**base_settings.CACHES["default"]}}
    cache_settings["default"]["LOCATION"] = url
    api = {**settings.REST_FRAMEWORK, **{
        key: base_settings.REST_FRAMEWORK[key]
        for key in ("DEFAULT_THROTTLE_CLASSES", "DEFAULT_THROTTLE_RATES")
    }}  # fmt: skip
    with override_settings(CACHES=cache_settings, RATELIMIT_ENABLE=True, REST_FRAMEWORK=api):
        yield private_redis


def test_with_redis_stopped_sign_in_sign_up_upload_and_the_api_still_answer(
    limits_on_a_private_redis, in_debra, caplog
):
    with time_machine.travel(datetime.datetime(2026, 12, 1, 7, 0, tzinfo=IST), tick=False):
        branch = BranchFactory()
        member = MemberFactory(branch=branch).user
        agent = AgentFactory(branch=branch, name="Rahul Das")
        area = AreaFactory(name="Radhamohanpur")
        key = api_keys.api_key_create(branch=branch, name="Core banking", by=member).key
        member.set_password("a-Strong-pass-77")
        member.save()
        connection.set_schema_to_public()
        assert cache.add("redis-is-up", 1)  # the counters really are in the private Redis

        limits_on_a_private_redis.stop()
        stopped = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="escort_portal.cache"):
            sign_in = Client().post(
                "/accounts/login/", {"username": member.username, "password": "a-Strong-pass-77"}
            )
            sign_up = Client().post(
                "/lenders/signup/",
                {
                    "first_name": "Rekha Das",
                    "username": "rekha",
                    "phone": "98300 12345",
                    "email": "rekha@example.org",
                    "password1": "a-Strong-pass-77",
                    "password2": "a-Strong-pass-77",
                },
            )
            signed_in = Client()
            signed_in.force_login(member)
            csv = ",".join(column.header for column in upload.COLUMNS)
            csv += "\nRahul Das,Radhamohanpur,Centre 1,10:00,12:00,lt50k,,,\n"
            uploaded = signed_in.post(
                station_reverse(in_debra, "lenders:roster_upload", branch_pk=branch.pk, date=TODAY),
                {"file": SimpleUploadedFile("roster.csv", csv.encode())},
            )
            api = Client(HTTP_AUTHORIZATION=f"Api-Key {key}").post(
                f"/station/debra/api/v1/rosters/{TODAY.isoformat()}/entries/",
                data=json.dumps(
                    {
                        "agent": agent.pk,
                        "area": area.pk,
                        "depart_at": "12:30",
                        "return_at": "14:00",
                        "cash_band": "lt50k",
                    }
                ),
                content_type="application/json",
            )
    print(
        f"Redis stopped: sign-in {sign_in.status_code}, sign-up {sign_up.status_code}, "
        f"upload {uploaded.status_code}, API {api.status_code}, "
        f"all four in {time.monotonic() - stopped:.2f} s"
    )
    assert (sign_in.status_code, sign_up.status_code) == (302, 302)
    assert (uploaded.status_code, api.status_code) == (302, 201)
    assert "Redis cache unavailable" in caplog.text


def test_a_running_beat_is_seen_within_seconds_and_rides_through_a_database_restart(
    private_postgres, tmp_path
):
    private_postgres.copy_database(connection.settings_dict)
    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}_beat"
    broker = app.connection_for_write().default_channel.client
    last_run = "SELECT max(last_run_at) FROM django_celery_beat_periodictask WHERE enabled"
    beat = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "escort_portal", "beat"),
            *("--loglevel=WARNING", f"--schedule={tmp_path / 'beat'}"),
        ],
        cwd=settings.BASE_DIR,
        env={
            "PATH": "/usr/bin:/bin:/usr/local/bin",
            "DJANGO_SETTINGS_MODULE": "escort_portal.settings.test",
            "DATABASE_URL": private_postgres.url,
            "TEST_REDIS_URL": settings.CELERY_BROKER_URL,
            "TEST_CELERY_QUEUE": queue,
        },
    )
    try:
        # The minute jobs fall due a minute after beat starts; it stores their last run as it
        # sends them (CELERY_BEAT_SYNC_EVERY), not minutes later.
        assert wait_for(lambda: private_postgres.query(last_run)[0][0] is not None, seconds=150)
        first = private_postgres.query(last_run)[0][0]
        private_postgres.restart()
        restarted = time.monotonic()
        # The next minute's jobs are sent and stored on the restarted database.
        assert wait_for(lambda: private_postgres.query(last_run)[0][0] > first, seconds=150)
        print(f"beat seen again {time.monotonic() - restarted:.1f} s after the database restart")
        assert beat.poll() is None
    finally:
        stop_worker(beat)
        broker.delete(queue)
