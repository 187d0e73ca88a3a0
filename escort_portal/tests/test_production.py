"""The portal run the way it is deployed, on this machine, without Docker.

The Dockerfile's build steps (compilemessages, collectstatic into a temporary STATIC_ROOT) with
the production settings; then the compose file's own commands (migrate, gunicorn, a Celery worker
and beat) as separate processes with the production settings, against a PostgreSQL server and a
Redis of this module's own, on loopback. Each program connects as the database role compose gives
it: migrate (and the one-off commands an operator runs with it) as the owner of the schemas,
web, worker and beat as the app role that migrate makes and that owns nothing. Only
SECURE_SSL_REDIRECT is relaxed, through its variable, so the pages answer over plain http; the
cookies stay Secure, and the visitor below sends them back itself, as a browser would over
https.
"""

from __future__ import annotations

import datetime
import gzip
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from base64 import b32decode
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import brotli
import psycopg2
import pytest
from django.conf import settings
from django.core import signing
from django_otp.oath import TOTP
from psycopg2 import sql

from conftest import free_port
from escort_portal import restore_drill
from escort_portal.testing import PrivatePostgres
from escort_portal.tests.deployfiles import (
    compose,
    dockerfile_build_steps,
    service_command,
    service_environment,
    service_steps,
)

DATABASE = "escort_portal"  # the private server's database, as compose names it
BIN = Path(sys.executable).parent
PASSWORD = "smoke-pass-0417"
STATION = "debra"
LOCAL = ZoneInfo(settings.TIME_ZONE)
HASHED = re.compile(r"\.[0-9a-f]{12}\.\w+$")
DEBUG_PAGE_MARKS = ("Traceback", "DEBUG = True", "Django Version")

# The people a station has on its first day: a duty officer, and an approved lender branch with
# one field agent in one of the station's areas. Prints their ids for the visitor.
PEOPLE = f"""
import json
from django_tenants.utils import tenant_context
from lenders.models import BranchMember, CollectionArea, FieldAgent, LenderBranch
from stations import services
from stations.models import Station, StationRole, User

station = Station.objects.get(slug={STATION!r})
officer = User.objects.create_user("smoke-duty", password={PASSWORD!r}, first_name="Duty")
services.station_role_grant(user=officer, station=station, role=StationRole.Role.DUTY_OFFICER)
oc = User.objects.create_user("smoke-oc", password={PASSWORD!r}, first_name="OC")
services.station_role_grant(user=oc, station=station, role=StationRole.Role.OFFICER_IN_CHARGE)
sdpo = User.objects.create_user("smoke-sdpo", password={PASSWORD!r}, first_name="SDPO")
services.subdivision_role_grant(user=sdpo, subdivision=station.subdivision, role="sdpo")
lender = User.objects.create_user("smoke-lender", password={PASSWORD!r}, first_name="Lender")
services.station_role_grant(user=lender, station=station, role=StationRole.Role.LENDER)
with tenant_context(station):
    branch = LenderBranch.objects.create(
        lender_name="Smoke Finance", branch_name="Debra", kind="mfi", address="Main Road",
        manager_name="Lender", manager_phone="+919434012345", status="approved",
    )
    BranchMember.objects.create(branch=branch, user=lender, role=BranchMember.Role.MANAGER)
    agent = FieldAgent.objects.create(
        branch=branch, name="Agent One", phone="+919733012345", employee_id="SMK001"
    )
    area = CollectionArea.objects.create(
        name="Smoke Bazar", name_bn="স্মোক বাজার", latitude=22.37, longitude=87.55
    )
print(json.dumps({{"branch": branch.pk, "agent": agent.pk, "area": area.pk}}))
"""


QUEUE_THE_CUT_OFF_JOB = "from escorts.tasks import tick_all_stations; tick_all_stations.delay()"


# --- The processes ---


def _database_url(name: str) -> str:
    """A database of the shared server (for commands that never connect)."""
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST']}:{db['PORT']}/{name}"


def _role_of(service: str) -> str:
    """The database role compose connects `service` as."""
    return service_environment(service)["DATABASE_URL"].split("//")[1].split(":")[0]


def _program(command: list[str]) -> list[str]:
    """The compose file's command with this checkout's interpreter and scripts."""
    if command[0] == "python":
        return [sys.executable, *command[1:]]
    return [str(BIN / command[0]), *command[1:]]


@dataclass
class Deployment:
    url: str
    env: dict[str, str]  # web, worker and beat: the app role
    owner_env: dict[str, str]  # migrate and an operator's one-off commands: the owner
    server: PrivatePostgres
    logs: Path
    static_root: Path
    people: dict[str, int]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    redis: list[str] = field(default_factory=list)  # its command, to start it again
    redis_process: subprocess.Popen | None = None

    def start_redis(self) -> None:
        self.redis_process = subprocess.Popen(self.redis, stdout=subprocess.DEVNULL)
        port = int(self.redis[self.redis.index("--port") + 1])
        for _ in range(100):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop_redis(self) -> None:
        if self.redis_process is not None:
            self.redis_process.terminate()
            self.redis_process.wait(timeout=10)

    def database_url(self, role: str, name: str = DATABASE) -> str:
        return f"postgres://{role}@127.0.0.1:{self.server.port}/{name}"

    @property
    def owner_url(self) -> str:
        return self.owner_env["DATABASE_URL"]

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def run(self, *command: str, as_owner: bool = False) -> str:
        result = subprocess.run(
            _program(list(command)),
            env=self.owner_env if as_owner else self.env,
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, (
            f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
        return result.stdout

    def start(self, name: str, command: list[str]) -> None:
        with (self.logs / f"{name}.log").open("wb") as log:
            self.processes[name] = subprocess.Popen(
                _program(command),
                env=self.env,
                cwd=settings.BASE_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def sql(self, statement: str | sql.Composable, *params: object) -> list[tuple]:
        connection = psycopg2.connect(self.owner_url)
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute(statement, params)
                return cursor.fetchall() if cursor.description else []
        finally:
            connection.close()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("production")
    logs = Path(settings.BASE_DIR) / "test-artifacts" / "production"
    logs.mkdir(parents=True, exist_ok=True)
    redis_port, web_port = free_port(), free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    server = PrivatePostgres(free_port())
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CELERY_", "TEST_", "SENTRY_", "DATABASE_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "escort_portal.settings.production",
            "SECRET_KEY": "smoke-" + os.urandom(16).hex(),
            "ALLOWED_HOSTS": "127.0.0.1",
            # Plain http on loopback; every other security setting stays as deployed.
            "SECURE_SSL_REDIRECT": "false",
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "CACHE_URL": f"redis://127.0.0.1:{redis_port}/1",
            "CELERY_TASK_DEFAULT_QUEUE": "escort_portal",
            "STATIC_ROOT": str(root / "static"),
            "MEDIA_ROOT": str(root / "media"),
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
            "SMS_GATEWAY_URL": "",
            "WHATSAPP_API_URL": "",
            "PYTHONUNBUFFERED": "1",
        }
    )

    def roles(service: str) -> dict[str, str]:
        """Compose's database variables of the service, on this module's server."""
        given = service_environment(service)
        url = f"postgres://{_role_of(service)}@127.0.0.1:{server.port}/{DATABASE}"
        return {
            "DATABASE_URL": url,
            **{k: v for k, v in given.items() if k.startswith("DATABASE_APP_")},
        }

    deployment = Deployment(
        url=f"http://127.0.0.1:{web_port}",
        env={**env, **roles("web")},
        owner_env={**env, **roles("migrate")},
        server=server,
        logs=logs,
        static_root=root / "static",
        people={},
    )
    assert roles("web") == roles("worker") == roles("planner") == roles("beat")
    deployment.redis = [
        "redis-server", "--bind", "127.0.0.1", "--port", str(redis_port), "--save", "",
        "--appendonly", "no", "--dir", str(root),
    ]  # fmt: skip
    deployment.start_redis()
    try:
        # The database server as the postgres image makes it: its POSTGRES_USER owns the
        # database and may make roles; the app role is made by the migrate service itself.
        server.start()
        owner = sql.Identifier(compose()["services"]["db"]["environment"]["POSTGRES_USER"])
        server.query(
            sql.SQL(
                "CREATE ROLE {o} SUPERUSER LOGIN; ALTER DATABASE {d} OWNER TO {o}; SELECT 1"
            ).format(o=owner, d=sql.Identifier(DATABASE))
        )
        for step in service_steps("migrate"):
            deployment.run(*step, as_owner=True)
        deployment.run(
            "python", "manage.py", "create_station", STATION, "--name", "Debra",
            "--subdivision", "Kharagpur", as_owner=True,
        )  # fmt: skip
        # Today's roster stays open whenever the run happens: the cut-off goes to the day's end
        # behind the settings' morning rule, and the cut-off test moves it back before now.
        deployment.sql(
            "UPDATE stations_station SET roster_cutoff = '23:59' WHERE slug = %s", STATION
        )
        deployment.people = json.loads(
            deployment.run("python", "manage.py", "shell", "-c", PEOPLE, as_owner=True)
            .strip()
            .splitlines()[-1]
        )
        # The worker and beat come up while the image's build steps run, as in a deployment
        # where the image is built once and the containers start from it.
        deployment.start("worker", service_command("worker"))
        deployment.start("planner", service_command("planner"))
        deployment.start("beat", service_command("beat"))
        for step in dockerfile_build_steps():
            deployment.run(*step)
        web = service_command("web")
        web[web.index("--bind") + 1] = f"127.0.0.1:{web_port}"
        deployment.start("gunicorn", web)
        visitor = Visitor(deployment.url)
        deadline = time.monotonic() + 60
        while True:
            try:
                visitor.get("/healthz")
                break
            except OSError:
                assert deployment.processes["gunicorn"].poll() is None, deployment.log("gunicorn")
                assert time.monotonic() < deadline, "gunicorn did not answer within a minute"
                time.sleep(0.2)
        yield deployment
    finally:
        deployment.stop()
        deployment.stop_redis()
        server.stop()


# --- A visitor that keeps its own cookies ---


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: str
    path: str

    @property
    def location(self) -> str:
        return self.headers["Location"]


class Visitor:
    """http.client with a cookie jar of its own. Python's cookie jar, like a browser, never
    sends a Secure cookie over plain http; a browser over https would, so this one does."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.cookies: dict[str, str] = {}
        self.insecure_cookies: list[str] = []
        self.seen: list[Response] = []

    def request(self, method: str, path: str, form: dict | None = None) -> Response:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        headers = {"Host": f"{self.host}:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            raw = connection.getresponse()
            response = Response(raw.status, raw.headers, raw.read().decode(errors="replace"), path)
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if not morsel["secure"]:
                    self.insecure_cookies.append(name)
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        self.seen.append(response)
        return response

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def follow(self, method: str, path: str, form: dict | None = None) -> Response:
        response = self.request(method, path, form)
        for _ in range(10):
            if response.status not in (301, 302, 303):
                return response
            response = self.get(response.location)
        raise AssertionError(f"too many redirects from {path}")

    def submit(self, path: str, fields: dict) -> Response:
        """The form at `path`, filled in, with the CSRF token a browser would send."""
        page = self.get(path)
        assert page.status == 200, (path, page.status)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body).group(1)
        return self.follow("POST", path, {"csrfmiddlewaretoken": token, **fields})

    def sign_in(self, username: str) -> Response:
        return self.submit("/accounts/login/", {"username": username, "password": PASSWORD})


def _today() -> datetime.date:
    return datetime.datetime.now(LOCAL).date()


def _assert_no_debug_page(visitor: Visitor) -> None:
    for response in visitor.seen:
        assert response.status < 500, (response.path, response.status)
        assert not any(mark in response.body for mark in DEBUG_PAGE_MARKS), response.path


# --- The run ---


def test_the_build_steps_give_hashed_static_files(deployment):
    manifest = json.loads((deployment.static_root / "staticfiles.json").read_text())["paths"]
    assert HASHED.search(manifest["vendor/bootstrap/bootstrap.min.css"])
    assert HASHED.search(manifest["vendor/bootstrap/bootstrap.bundle.min.js"])
    assert (Path(settings.BASE_DIR) / "locale/bn/LC_MESSAGES/django.mo").exists()


def test_the_login_page_and_every_static_file_it_links_are_served(deployment):
    visitor = Visitor(deployment.url)
    page = visitor.get("/accounts/login/")
    assert page.status == 200
    linked = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.body)
    assert len(linked) >= 3
    for path in linked:
        assert HASHED.search(path), f"{path} is not a hashed name"
        assert visitor.get(path).status == 200, path
    _assert_no_debug_page(visitor)


def test_a_lender_files_an_entry_and_the_cut_off_job_puts_it_on_the_sheet(deployment):
    visitor = Visitor(deployment.url)
    landing = visitor.sign_in("smoke-lender")
    assert landing.status == 200 and "/accounts/login/" not in landing.path
    # The cookies that carry the sign-in stay Secure even over this plain-http run.
    assert {"sessionid", "csrftoken"} <= set(visitor.cookies)
    assert visitor.insecure_cookies == []

    branch, today = deployment.people["branch"], _today()
    roster = f"/station/{STATION}/lenders/branch/{branch}/roster/{today.isoformat()}/"
    filed = visitor.submit(
        roster + "add/",
        {
            "agent": deployment.people["agent"],
            "area": deployment.people["area"],
            "centres": "Smoke centre 7",
            "depart_at": "23:00",
            "return_at": "23:45",
            "cash_band": "lt50k",
        },
    )
    assert filed.path == roster, filed.body[-2000:]
    assert "Smoke centre 7" in filed.body
    _assert_no_debug_page(visitor)

    # The clock passes the cut-off: the station's cut-off is moved before now. Then the job
    # beat queues every minute, queued by hand rather than waiting for the minute.
    deployment.sql("UPDATE stations_station SET roster_cutoff = '00:00' WHERE slug = %s", STATION)
    deployment.run("python", "manage.py", "shell", "-c", QUEUE_THE_CUT_OFF_JOB)
    schema = sql.Identifier(
        deployment.sql("SELECT schema_name FROM stations_station WHERE slug = %s", STATION)[0][0]
    )
    uncovered = sql.SQL(
        "SELECT sheet.origin, sheet.build_status, entry.centres, uncovered.reason"
        " FROM {s}.escorts_dutysheet sheet"
        " JOIN {s}.escorts_uncoveredentry uncovered ON uncovered.sheet_id = sheet.id"
        " JOIN {s}.lenders_rosterentry entry ON entry.id = uncovered.entry_id"
        " WHERE sheet.date = %s"
    ).format(s=schema)
    deadline = time.monotonic() + 60
    while not (rows := deployment.sql(uncovered, today)) and time.monotonic() < deadline:
        time.sleep(0.5)
    # The station has no escort team yet, so the entry is listed as uncovered, with the reason.
    assert rows == [("cutoff", "done", "Smoke centre 7", "no_team")], deployment.log("planner")


def test_a_police_user_meets_the_second_factor(deployment):
    visitor = Visitor(deployment.url)
    visitor.sign_in("smoke-duty")
    station_page = f"/station/{STATION}/"
    asked = visitor.get(station_page)
    assert asked.status == 302 and asked.location.startswith("/accounts/two-factor/")
    # The password alone does not set up the app: the enrolment code from the server does.
    enrolment = deployment.run("python", "manage.py", "enrolment_code", "smoke-duty")
    setup = visitor.submit(
        asked.location,
        {"code": enrolment.strip().splitlines()[-1], "password": PASSWORD, "next": station_page},
    )
    secret = re.search(r'<code class="fs-6">([A-Z2-7]+)</code>', setup.body).group(1)
    code = TOTP(b32decode(secret)).token()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', setup.body).group(1)
    recovery = visitor.follow(
        "POST",
        asked.location,
        {"csrfmiddlewaretoken": token, "token": f"{code:06d}", "next": station_page},
    )
    assert 'id="recovery-codes"' in recovery.body
    verified = visitor.submit(recovery.path, {"written": "1", "next": station_page})
    assert verified.status == 200 and verified.path == station_page
    _assert_no_debug_page(visitor)


def test_healthz_says_the_worker_and_the_scheduler_are_alive(deployment):
    # Beat sends its first minute jobs a minute after it starts; until then /healthz rightly says
    # the scheduler has not been seen.
    deadline = time.monotonic() + 150
    while True:
        response = Visitor(deployment.url).get("/healthz")
        body = json.loads(response.body)
        if response.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert response.status == 200, body
    assert body["checks"] == {"database": "ok", "redis": "ok", "scheduler": "ok", "worker": "ok"}


def test_beat_installed_the_schedule(deployment):
    names = {row[0] for row in deployment.sql("SELECT name FROM django_celery_beat_periodictask")}
    assert {"heartbeat", "escorts-tick", "notifications-sweep"} <= names
    assert deployment.processes["beat"].poll() is None, deployment.log("beat")


def test_an_unknown_page_is_the_portals_404_not_a_debug_page(deployment):
    visitor = Visitor(deployment.url)
    assert visitor.get("/no-such-page/").status == 404
    assert visitor.get(f"/station/{STATION}/no-such-page/").status in (302, 404)
    _assert_no_debug_page(visitor)


def test_no_process_logged_a_traceback(deployment):
    for name in ("gunicorn", "worker", "planner", "beat"):
        assert "Traceback" not in deployment.log(name), deployment.log(name)[-4000:]


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_requests_and_tasks_are_logged_as_json_without_personal_data(deployment):
    requests = [
        line for line in _json_lines(deployment.log("gunicorn"))
        if line["logger"] == "escort_portal.requests"
    ]  # fmt: skip
    filed = [
        line for line in requests
        if line["method"] == "POST" and line["path"].endswith("/roster/<isodate:date>/add/")
    ]  # fmt: skip
    assert filed, requests[-5:]
    assert filed[0]["station"] == STATION and filed[0]["status"] == 302
    assert isinstance(filed[0]["user"], int) and filed[0]["duration_ms"] > 0
    everything = deployment.log("gunicorn") + deployment.log("worker")
    for personal in ("smoke-lender", "smoke-duty", "Smoke centre 7", "+9197330", "Agent One"):
        assert personal not in everything

    tasks = [
        line for line in _json_lines(deployment.log("worker"))
        if line["logger"] == "escort_portal.tasks"
    ]  # fmt: skip
    ticks = [line for line in tasks if line["task"] == "escorts.station_tick"]
    assert ticks and ticks[0]["status"] == "SUCCESS" and ticks[0]["station"], tasks[-5:]


def _envelope(request: object) -> bytes:
    body = request.get_data()
    encoding = request.headers.get("Content-Encoding", "")
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "br":
        return brotli.decompress(body)
    return body


SENTRY_PROBE = "raise RuntimeError('error tracker probe')"


def _probe_env(**variables: str) -> dict[str, str]:
    """The production settings for a one-off `manage.py shell` that needs no database."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "TEST_", "SENTRY_", "SECRET_KEY"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "escort_portal.settings.production",
            "SECRET_KEY": "probe",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": _database_url("unused"),
            **variables,
        }
    )
    return env


def test_errors_reach_the_error_tracker_only_when_its_variable_is_set(httpserver):
    env = _probe_env()
    httpserver.expect_request(re.compile(r"/api/1/envelope/")).respond_with_data("{}")
    probe = [sys.executable, "manage.py", "shell", "-c", SENTRY_PROBE]
    for dsn in ("", f"http://public@127.0.0.1:{httpserver.port}/1"):
        subprocess.run(
            probe, env={**env, "SENTRY_DSN": dsn}, cwd=settings.BASE_DIR,
            capture_output=True, timeout=120, check=False,
        )  # fmt: skip
        sent = [_envelope(request) for request, _ in httpserver.log]
        if not dsn:
            assert sent == []
    assert any(b"error tracker probe" in body for body in sent)


def test_web_worker_and_beat_run_as_a_role_that_cannot_rewrite_the_audit_trail(deployment):
    app_role = _role_of("web")
    assert app_role != _role_of("migrate")
    # A page that reads the database, so gunicorn holds a connection too.
    assert Visitor(deployment.url).get("/healthz").status in (200, 503)
    # A station that does not exist is answered from the template's tables, which the app role
    # may read: the same JSON 401 as a wrong key at a real station, not a 500.
    for slug in (STATION, "nosuch"):
        connection = http.client.HTTPConnection("127.0.0.1", int(deployment.url.rsplit(":", 1)[1]))
        connection.request(
            "GET", f"/station/{slug}/api/v1/areas/", headers={"Authorization": "Api-Key x.y"}
        )
        answer = connection.getresponse()
        assert (answer.status, answer.getheader("Content-Type")) == (401, "application/json")
        connection.close()
    connected = deployment.sql(
        "SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = current_database()"
        " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
    )
    assert {row[0] for row in connected} == {app_role}
    for name in ("gunicorn", "worker", "planner", "beat"):
        assert deployment.processes[name].poll() is None, deployment.log(name)

    schema = deployment.sql("SELECT schema_name FROM stations_station WHERE slug = %s", STATION)
    events = sql.Identifier(schema[0][0], "lenders_rosterentryevent")
    assert deployment.sql(sql.SQL("SELECT count(*) FROM {}").format(events))[0][0] > 0
    app = psycopg2.connect(deployment.database_url(app_role))
    refused = []
    try:
        for statement in (
            "TRUNCATE {}",
            "DELETE FROM {}",
            "SET LOCAL pgtrigger.ignore = 'lenders.RosterEntryEvent:append_only';"
            " UPDATE {} SET pgh_created_at = now()",
            "ALTER TABLE {} DISABLE TRIGGER ALL",
        ):
            with app.cursor() as cursor:
                try:
                    cursor.execute(sql.SQL(statement).format(events))
                except psycopg2.Error as exc:
                    refused.append(exc.pgcode in ("42501",) or "must be owner" in str(exc))
                else:
                    refused.append(False)
            app.rollback()
    finally:
        app.close()
    assert refused == [True, True, True, True]
    assert deployment.sql(sql.SQL("SELECT count(*) FROM {}").format(events))[0][0] > 0


HEARTBEAT = "from stations.tasks import heartbeat_all_stations; heartbeat_all_stations.delay()"


def test_a_database_and_a_redis_restart_under_the_running_programs_need_no_restart(deployment):
    def worker_seen() -> str | None:
        return json.loads(Visitor(deployment.url).get("/healthz").body).get("worker_last_seen")

    seen = worker_seen()
    deployment.server.restart()
    deployment.stop_redis()
    deployment.start_redis()  # empty, as after a crash
    # gunicorn: a lender signs in and opens the branch's page.
    visitor = Visitor(deployment.url)
    landing = visitor.sign_in("smoke-lender")
    assert landing.status == 200 and "/accounts/login/" not in landing.path
    # The worker: a job queued now is run (its heartbeat moves on in /healthz).
    deployment.run("python", "manage.py", "shell", "-c", HEARTBEAT)
    deadline = time.monotonic() + 90
    while worker_seen() == seen and time.monotonic() < deadline:
        time.sleep(1)
    assert worker_seen() != seen, deployment.log("worker")[-3000:]
    for name in ("gunicorn", "worker", "planner", "beat"):
        assert deployment.processes[name].poll() is None, deployment.log(name)[-3000:]
    _assert_no_debug_page(visitor)


def test_a_backup_restores_into_a_new_database_that_serves_the_same_pages(
    deployment, tmp_path, monkeypatch
):
    # Run after the scenario above, so the backup holds a roster, a sheet and their audit trail.
    # The drill's pages link the static files the image's build step collected.
    monkeypatch.setenv("STATIC_ROOT", str(deployment.static_root))
    # The SDPO's pages are read for the days the dashboard's read model holds: on a busy machine
    # the worker's recount of the scenario's day can still be queued, so wait for it first.
    deadline = time.monotonic() + 120
    while (
        time.monotonic() < deadline
        and deployment.sql(
            "SELECT (SELECT count(*) FROM stations_stationday) = 0"
            " OR (SELECT count(*) FROM stations_stationdayrecount) > 0"
        )[0][0]
    ):
        time.sleep(1)
    # Beat's minute jobs (the dashboard recount, the due times) would change the database between
    # the dump and the comparison: the drill reads a database nobody is writing to.
    for name in ("beat", "worker", "planner"):
        deployment.processes[name].terminate()
        deployment.processes[name].wait(timeout=60)
    restored = f"{DATABASE}_restored"
    restored_url = deployment.database_url(_role_of("migrate"), restored)
    try:
        result = restore_drill.drill(deployment.owner_url, restored, tmp_path)
        assert result["differences"] == [] and result["same"]
        assert result["counts"][STATION]["entries"] == 1
        assert result["counts"][STATION]["sheets"] == 1
        assert result["counts"][STATION]["audit"] > 0
        now = result["now"]
        pages = set(restore_drill.fingerprint(restored_url, now=now)["pages"])
        assert {"/station/debra/audit/", f"/station/debra/escorts/sheet/{_today()}/"} <= pages
        assert any(page.startswith("/sdpo/") for page in pages)

        # The comparison sees a change: one entry edited in the restored copy.
        schema = deployment.sql("SELECT schema_name FROM stations_station WHERE slug = %s", STATION)
        connection = psycopg2.connect(restored_url)
        with connection, connection.cursor() as cursor:
            # The audit trail's trigger finds its table by the search path, as the portal sets it.
            search_path = sql.SQL("SET search_path TO {}, public")
            cursor.execute(search_path.format(sql.Identifier(schema[0][0])))
            cursor.execute("UPDATE lenders_rosterentry SET centres = 'Changed'")
        connection.close()
        changed = restore_drill.fingerprint(restored_url, now=now)
        assert changed != restore_drill.fingerprint(deployment.owner_url, now=now)
    finally:
        restore_drill.database_drop(deployment.owner_url, restored)


def test_a_new_secret_key_still_accepts_what_the_old_one_signed_while_it_is_a_fallback():
    signed = signing.dumps("signed before the rotation", key="the-old-key")
    probe = [sys.executable, "manage.py", "shell", "-c", f"print(signing.loads({signed!r}))"]
    probe[-1] = "from django.core import signing; " + probe[-1]
    results = {}
    for fallbacks in ("the-old-key", ""):
        env = _probe_env(SECRET_KEY="the-new-key", SECRET_KEY_FALLBACKS=fallbacks)
        results[fallbacks] = subprocess.run(
            probe, env=env, cwd=settings.BASE_DIR, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
    assert results["the-old-key"].stdout.splitlines()[-1] == "signed before the rotation"
    assert "BadSignature" in results[""].stderr
