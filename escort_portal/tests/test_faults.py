"""Faults as they happen in real use, against PostgreSQL and Redis instances of the test's own
and real processes: nothing the portal runs may need a restart by hand afterwards."""

from __future__ import annotations

import datetime
import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import HttpResponse
from django.test import Client, override_settings
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from benchmarks.rosters import random_entry
from escort_portal.celery import app
from escort_portal.settings import base as base_settings
from escort_portal.testing import start_worker, stop_worker, wait_for
from escorts import services
from escorts.models import DutySheet, EscortTeam, Officer
from escorts.tasks import tick_all_stations
from escorts.tests.conftest import in_other_connection
from escorts.tests.factories import TeamFactory
from lenders import api_keys, upload
from lenders.models import CollectionArea, FieldAgent, LenderBranch, Roster, RosterEntry
from lenders.tests.factories import AgentFactory, AreaFactory, BranchFactory, MemberFactory
from stations.models import Station, StationJobDue, StationRole, User
from stations.routing import station_reverse
from stations.services import station_role_grant

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
            "TEST_BEAT_SWEEP_SECONDS": "2",
        },
    )
    try:
        # The notifications sweep falls due every two seconds here (the minute jobs a minute
        # after beat starts); beat stores a job's last run as it sends it (CELERY_BEAT_SYNC_EVERY),
        # not minutes later.
        assert wait_for(lambda: private_postgres.query(last_run)[0][0] is not None, seconds=150)
        first = private_postgres.query(last_run)[0][0]
        private_postgres.restart()
        restarted = time.monotonic()
        # The next jobs are sent and stored on the restarted database.
        assert wait_for(lambda: private_postgres.query(last_run)[0][0] > first, seconds=150)
        print(f"beat seen again {time.monotonic() - restarted:.1f} s after the database restart")
        assert beat.poll() is None
    finally:
        stop_worker(beat)
        broker.delete(queue)


# --- A rebuild whose worker is killed, recovered from the sheet page ---

KILLED_LENDER = "Killed rebuild finance"


def _seed_a_busy_day(station, date: datetime.date, *, entries: int = 300, teams: int = 20) -> None:
    """Enough trips and teams that the planner is still planning when the worker is killed (a
    couple of trips would be planned in a few milliseconds)."""
    rng = random.Random(15)  # noqa: S311 - the same made-up day every run
    branch = BranchFactory(lender_name=KILLED_LENDER)
    areas = [
        AreaFactory(name=f"Killed village {n}", latitude=22.30 + n / 100, longitude=87.50 + n / 90)
        for n in range(8)
    ]
    agents = FieldAgent.objects.bulk_create(
        FieldAgent(branch=branch, name=f"Agent {n}", employee_id=f"K{n}", phone="+919830000001")
        for n in range(entries)
    )
    roster = Roster.objects.create(branch=branch, date=date, status=Roster.Status.FILED)
    RosterEntry.objects.bulk_create(
        random_entry(rng, roster, agent, areas, None, earliest=8 * 60, stop=14 * 60)
        for agent in agents
    )
    for n in range(teams):
        TeamFactory(name=f"Killed team {n}", capacity=3)
    Station.objects.filter(pk=station.pk).update(planner_seconds=2)


def _clean_the_busy_day(date: datetime.date, usernames: list[str]) -> None:
    DutySheet.objects.filter(date=date).delete()
    Roster.objects.filter(branch__lender_name=KILLED_LENDER).delete()
    FieldAgent.objects.filter(branch__lender_name=KILLED_LENDER).delete()
    LenderBranch.objects.filter(lender_name=KILLED_LENDER).delete()
    CollectionArea.objects.filter(name__startswith="Killed village").delete()
    EscortTeam.objects.filter(name__startswith="Killed team").delete()
    Officer.objects.filter(teams_led__isnull=True, teams__isnull=True).delete()
    StationJobDue.objects.all().delete()
    User.objects.filter(username__in=usernames).delete()


def _signed_in(user: User) -> Client:
    """What `client_for` does, for a connection that commits: a browser past the second factor."""
    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.create(user=user, confirmed=True, name="phone")
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def broker_queue_emptied() -> Iterator[None]:
    """The test queue empty before, and after: a killed worker leaves its task unacknowledged,
    which the broker would hand out again an hour later."""
    broker = app.connection_for_write().default_channel.client
    broker.delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    yield
    broker.delete(settings.CELERY_TASK_DEFAULT_QUEUE, "unacked", "unacked_index")


def test_a_rebuild_killed_with_its_worker_is_shown_stopped_and_rebuilt_from_the_page(
    debra, broker_queue_emptied
):
    date = timezone.localdate() + datetime.timedelta(days=3)
    sheet_url = station_reverse(debra, "escorts:sheet", date=date)
    rebuild_url = station_reverse(debra, "escorts:sheet_rebuild", date=date)
    officer_name = "killed-rebuild-duty"
    workers: list[subprocess.Popen] = []
    planner_seconds = Station.objects.get(pk=debra.pk).planner_seconds

    def latest() -> DutySheet | None:
        return DutySheet.objects.filter(date=date).order_by("-version").first()

    def as_officer(method: str, url: str) -> HttpResponse:
        def request() -> HttpResponse:
            officer = User.objects.get(username=officer_name)
            return getattr(_signed_in(officer), method)(url)

        return in_other_connection(debra, request)

    def setup() -> int:
        _seed_a_busy_day(debra, date)
        officer = User.objects.create_user(officer_name)
        station_role_grant(user=officer, station=debra, role=StationRole.Role.DUTY_OFFICER)
        # The day's first version, built at once and here: the officer has a sheet to rebuild.
        first, _ = services._build_claim(date=date, origin=DutySheet.Origin.CUTOFF, by=None)
        return services.duty_sheet_build_run(sheet_pk=first.pk).version

    try:
        first_version = in_other_connection(debra, setup)
        workers.append(start_worker(name="killed-build"))
        assert as_officer("post", rebuild_url).status_code == 302
        building = first_version + 1

        def planning() -> bool:
            sheet = in_other_connection(debra, latest)
            return sheet.version == building and sheet.build_stage == "planning"

        assert wait_for(planning, seconds=120), in_other_connection(debra, latest).build_stage
        os.kill(workers[0].pid, signal.SIGKILL)
        workers[0].wait(timeout=30)
        killed = time.monotonic()
        # A supervisor starts the worker again at once. The killed build's task stays unacked
        # in Redis for the broker's visibility timeout (an hour), so the new worker does not
        # take it up again: the sheet can only be rebuilt from the page.
        workers.append(start_worker(name="after-kill"))
        stopped = in_other_connection(debra, latest)
        assert (stopped.version, stopped.build_status) == (building, DutySheet.Build.RUNNING)

        # The grace, shortened: the page says the build stopped once its budget and the grace
        # have passed, and offers Rebuild.
        with override_settings(BUILD_GRACE_SECONDS=1):

            def says_stopped() -> bool:
                page = as_officer("get", sheet_url).content.decode()
                return "the job building it has stopped" in page

            assert wait_for(says_stopped, seconds=60)
            shown = time.monotonic() - killed
            page = as_officer("get", sheet_url).content.decode()
            assert f'href="{rebuild_url}"' in page
            # The officer rebuilds from the page (confirm, then the new version) on the worker
            # that is running again.
            assert as_officer("get", rebuild_url).status_code == 200
            rebuilt_at = time.monotonic()
            assert as_officer("post", rebuild_url).status_code == 302

        def built() -> bool:
            sheet = in_other_connection(debra, latest)
            return sheet.version == building + 1 and sheet.build_status == DutySheet.Build.DONE

        assert wait_for(built, seconds=120), in_other_connection(debra, latest).build_status
        took = time.monotonic() - rebuilt_at
        versions = in_other_connection(
            debra,
            lambda: list(
                DutySheet.objects.filter(date=date)
                .order_by("version")
                .values_list("version", "build_status", "build_error")
            ),
        )
        assert versions[-2:] == [
            (building, DutySheet.Build.FAILED, "abandoned"),
            (building + 1, DutySheet.Build.DONE, ""),
        ]
        print(
            f"rebuild killed while planning: 'stopped' on the page {shown:.1f} s after the kill "
            f"(budget 2 s + grace 1 s); Rebuild from the page to a built version {took:.1f} s"
        )
    finally:
        for worker in workers:
            stop_worker(worker)
        in_other_connection(debra, lambda: _clean_the_busy_day(date, [officer_name]))
        in_other_connection(
            debra,
            lambda: Station.objects.filter(pk=debra.pk).update(planner_seconds=planner_seconds),
        )
