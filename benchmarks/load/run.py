"""Load: lenders filing tomorrow's roster at a fixed rate against gunicorn with 2 workers.

    python -m benchmarks.load.run [--users 50] [--seconds 20] [--rates 10 40 60 80] [--stations 1]

Everything is private to the run: a database of its own (escort_portal_load, or
BENCH_LOAD_DATABASE_URL), a redis-server of its own on a free port, and gunicorn on 127.0.0.1
(`escort_portal.wsgi`, 2 sync workers, the development settings with DEBUG=false, and
PUBLIC_SCHEMA_URLCONF=benchmarks.load.urls: the public URLs plus one bare view at
/bench/bare/). The set-up makes one lender login per user, each the manager of a branch of its
own with enough field agents, all at one station by default (the morning rush of a busy
station; `--stations` spreads them). Each lender signs in and opens the entry form once, for
the CSRF token.

The client is open-loop: for each rate, requests are scheduled at fixed intervals, whatever the
server's answers, and each one's latency runs from its scheduled time to the last byte of its
answer, so time spent waiting for a free worker (queueing) counts. A closed loop (a thread per
lender waiting for each answer before the next) slows down with the server and hides that. Each
rate runs twice: POSTs of a new entry for tomorrow (a distinct agent and time slot each, with
the form's one-time submission token, so every POST is a valid filing answered with a 302),
then GETs of the bare view (`HttpResponse("ok")` behind the whole middleware stack, signed in as
the same lenders): the baseline, in the same run. Then capacity: 8 connections sending back to
back, POSTs and then bare GETs, answers per second.

Prints Markdown tables, with `uptime` before and after (the machine is shared).
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import itertools
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from benchmarks import openloop
from benchmarks.notifications.run import free_port, start_redis

DATABASE_URL = os.environ.get(
    "BENCH_LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/escort_portal_load"
)
AGENTS_PER_BRANCH = 20
# 20-minute trips from 05:00 to 21:00: 48 slots x 20 agents = 960 filings per lender.
SLOTS = [(5 * 60 + 20 * n, 5 * 60 + 20 * n + 20) for n in range(48)]
CAPACITY_CONNECTIONS = 8
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass(frozen=True)
class Lender:
    username: str
    station: str
    branch: int
    area: int
    agents: tuple[int, ...]


def environment(redis_url: str) -> dict[str, str]:
    """The development settings with debug off, this run's database and Redis, and the public
    URLs plus the bare view."""
    return {
        "DJANGO_SETTINGS_MODULE": "escort_portal.settings.local",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "PUBLIC_SCHEMA_URLCONF": "benchmarks.load.urls",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CACHE_URL": redis_url.replace("/0", "/1"),
        "CELERY_TASK_DEFAULT_QUEUE": "bench_load",
        # Fifty lenders sign in from one address within seconds.
        "RATE_LIMIT_LOGIN": "1000/m",
        "LOG_LEVEL": "WARNING",
        # Static files are not served here: no need to hear that STATIC_ROOT is empty.
        "PYTHONWARNINGS": "ignore:No directory at:UserWarning",
    }


# --- Set-up, in this process through the ORM ---


def prepare(users: int, stations: int, password: str) -> tuple[list[Lender], datetime.date]:
    from escort_portal.devservices import ensure_database

    ensure_database(DATABASE_URL)
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from lenders.models import BranchMember, CollectionArea, FieldAgent, LenderBranch, Roster
    from stations import services
    from stations.models import Station, StationRole, Subdivision, User

    call_command("migrate_schemas", verbosity=0)
    subdivision, _ = Subdivision.objects.get_or_create(name="Load", defaults={"district": "Load"})
    places = []
    for n in range(stations):
        slug = f"load-{n + 1}"
        station = Station.objects.filter(slug=slug).first() or services.station_create(
            slug=slug, name=f"Load {n + 1}", subdivision=subdivision, latitude=22.3, longitude=87.3
        )
        places.append(station)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    hashed = make_password(password)
    lenders = []
    for n in range(users):
        station = places[n % stations]
        user, _ = User.objects.update_or_create(
            username=f"load-lender{n}", defaults={"password": hashed, "first_name": f"Lender {n}"}
        )
        StationRole.objects.get_or_create(
            user=user, station=station, defaults={"role": StationRole.Role.LENDER}
        )
        with tenant_context(station):
            area, _ = CollectionArea.objects.get_or_create(
                name="Load Bazar", defaults={"latitude": 22.31, "longitude": 87.31}
            )
            branch, _ = LenderBranch.objects.get_or_create(
                lender_name=f"Load Lender {n}",
                branch_name="Bazar",
                defaults={
                    "kind": "mfi",
                    "address": "Station Road",
                    "manager_name": f"Lender {n}",
                    "manager_phone": "+919830000000",
                    "status": LenderBranch.Status.APPROVED,
                },
            )
            BranchMember.objects.get_or_create(
                branch=branch, user=user, defaults={"role": BranchMember.Role.MANAGER}
            )
            have = FieldAgent.objects.filter(branch=branch).count()
            FieldAgent.objects.bulk_create(
                FieldAgent(
                    branch=branch,
                    name=f"Agent {n}-{i}",
                    employee_id=f"L{n}-{i}",
                    phone="+919830000001",
                )
                for i in range(have, AGENTS_PER_BRANCH)
            )
            # A run starts from an empty roster, so every slot is free again.
            Roster.objects.filter(branch=branch, date=tomorrow).delete()
            agents = tuple(
                FieldAgent.objects.filter(branch=branch).order_by("pk").values_list("pk", flat=True)
            )
        lenders.append(Lender(user.username, station.slug, branch.pk, area.pk, agents))
    return lenders, tomorrow


# --- The client ---


class Browser:
    """One lender's browser: cookies, and one connection to the server."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, float]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        began = time.perf_counter()
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        took = (time.perf_counter() - began) * 1000
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, data.decode(), took

    def sign_in(self, username: str, password: str) -> None:
        _, page, _ = self.request("GET", "/accounts/login/")
        status, _, _ = self.request(
            "POST",
            "/accounts/login/",
            {
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": CSRF.search(page).group(1),
            },
        )
        if status != 302:
            raise RuntimeError(f"{username} could not sign in ({status})")


@dataclass
class Signed:
    """A signed-in lender's cookies and CSRF token, shared by the client's connections."""

    lender: Lender
    cookies: str
    csrf: str
    form_url: str
    filings: Iterator[tuple[int, tuple[int, int]]]


def send(connection: http.client.HTTPConnection, who: Signed, kind: str) -> bool:
    """One request of `kind` as `who`; True when it was answered as a success."""
    headers = {"Cookie": who.cookies}
    if kind == "bare view GET":
        connection.request("GET", "/bench/bare/", headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status == 200
    agent, (start, end) = next(who.filings)
    body = urlencode(
        {
            "csrfmiddlewaretoken": who.csrf,
            "submission_token": str(uuid.uuid4()),
            "agent": agent,
            "area": who.lender.area,
            "depart_at": f"{start // 60:02d}:{start % 60:02d}",
            "return_at": f"{end // 60:02d}:{end % 60:02d}",
            "cash_band": "lt50k",
        }
    )
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    headers["Referer"] = f"http://{connection.host}:{connection.port}{who.form_url}"
    connection.request("POST", who.form_url, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    return response.status == 302


def open_loop(
    port: int, people: list[Signed], kind: str, rate: float, seconds: float
) -> openloop.Outcome:
    """Requests of `kind` scheduled every 1/rate s for `seconds`, the lenders in turn."""
    schedule = [(n / rate, kind) for n in range(int(rate * seconds))]
    outcomes = openloop.open_loop(
        port,
        schedule,
        lambda connection, n: send(connection, people[n % len(people)], kind),
        timeout=60,
    )
    return outcomes[kind]


def flat_out(port: int, people: list[Signed], kind: str, seconds: float) -> float:
    """Answers per second with CAPACITY_CONNECTIONS connections sending back to back."""
    stop = time.perf_counter() + seconds
    done = [0] * CAPACITY_CONNECTIONS

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        n = index
        while time.perf_counter() < stop:
            if send(connection, people[n % len(people)], kind):
                done[index] += 1
            n += CAPACITY_CONNECTIONS

    began = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(CAPACITY_CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - began)


# --- The run ---


def start_server(env: dict[str, str], port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "escort_portal.wsgi",
            "--workers=2",
            f"--bind=127.0.0.1:{port}",
            "--log-level=warning",
        ],
        env={**os.environ, **env},
    )
    for _ in range(300):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/bench/bare/")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise RuntimeError("gunicorn did not start")


def sign_in(port: int, lender: Lender, password: str, tomorrow: datetime.date) -> Signed:
    browser = Browser(port)
    browser.sign_in(lender.username, password)
    form_url = (
        f"/station/{lender.station}/lenders/branch/{lender.branch}/roster/"
        f"{tomorrow.isoformat()}/add/"
    )
    status, page, _ = browser.request("GET", form_url)
    token = CSRF.search(page)
    if status != 200 or token is None:
        raise RuntimeError(f"{lender.username} cannot open the entry form ({status})")
    return Signed(
        lender=lender,
        cookies="; ".join(f"{k}={v}" for k, v in browser.cookies.items()),
        csrf=token.group(1),
        form_url=form_url,
        filings=itertools.cycle(itertools.product(lender.agents, SLOTS)),
    )


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20, help="length of each rate's run")
    parser.add_argument(
        "--rates", type=float, nargs="+", default=[10.0, 40.0, 60.0, 80.0], help="requests/s"
    )
    parser.add_argument("--stations", type=int, default=1, help="stations the lenders are at")
    args = parser.parse_args()
    # A rate's run sends int(rate * seconds) requests: with none, it would have nothing to report.
    for rate in args.rates:
        if rate <= 0 or args.seconds <= 0 or int(rate * args.seconds) < 1:
            parser.error(
                f"--rates {rate:g} for --seconds {args.seconds:g} sends no request: each rate "
                "times the seconds must come to one request at least"
            )
    if shutil.which("redis-server") is None:
        sys.exit("redis-server is needed (Debian: apt-get install redis-server)")

    directory = tempfile.mkdtemp(prefix="bench-load-")
    redis_process, redis_url = start_redis(directory)
    env = environment(redis_url)
    os.environ.update(env)
    password = secrets.token_urlsafe(16)
    server = None
    rows = []
    try:
        lenders, tomorrow = prepare(args.users, args.stations, password)
        port = free_port()
        server = start_server(env, port)
        people = [sign_in(port, lender, password, tomorrow) for lender in lenders]
        # A few of each before the clock starts: both workers load their templates and open
        # their database connections.
        open_loop(port, people, "roster POST", 10, 1)
        open_loop(port, people, "bare view GET", 10, 1)
        before = uptime()
        for rate in args.rates:
            for kind in ("roster POST", "bare view GET"):
                outcome = open_loop(port, people, kind, rate, args.seconds)
                rows.append((rate, kind, outcome, os.getloadavg()[0]))
        capacity = {
            kind: flat_out(port, people, kind, args.seconds)
            for kind in ("roster POST", "bare view GET")
        }
        after = uptime()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        redis_process.terminate()
        redis_process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)

    print(
        f"{args.users} lenders at {args.stations} station(s); gunicorn, 2 sync workers, DEBUG "
        f"off, 127.0.0.1; open loop, {args.seconds:g} s a rate; {os.cpu_count()} cores"
    )
    print(f"uptime before: {before}\nuptime after:  {after}")
    print("\n| rate /s | request | sent | errors | achieved /s | p50 ms | p95 ms | p99 ms | load |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for rate, kind, outcome, load in rows:
        print(f"| {rate:g} | {kind} | {outcome.cells()} | {load:.1f} |")
    print(f"\n| capacity ({CAPACITY_CONNECTIONS} connections back to back) | answers /s |")
    print("|---|---:|")
    for kind, per_second in capacity.items():
        print(f"| {kind} | {per_second:.1f} |")
    share = capacity["roster POST"] / capacity["bare view GET"]
    print(f"\nPOST capacity: {share:.0%} of the bare view's")


if __name__ == "__main__":
    main()
