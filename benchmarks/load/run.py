"""Load: lenders filing tomorrow's roster at once against gunicorn with 2 workers, on loopback.

    python -m benchmarks.load.run [--users 50] [--seconds 30] [--think 10 1] [--stations 1]

Everything is private to the run: a database of its own (escort_portal_load, or
BENCH_LOAD_DATABASE_URL), a redis-server of its own on a free port, and gunicorn on 127.0.0.1
(`escort_portal.wsgi`, 2 sync workers, the development settings with DEBUG=false, and
PUBLIC_SCHEMA_URLCONF=benchmarks.load.urls: the public URLs plus one bare view at
/bench/bare/). The set-up makes one lender login per user,
each the manager of a branch of its own with enough field agents, all at one station by default
(the morning rush of a busy station; `--stations` spreads them).

Each user signs in, then repeats: GET the entry form (for the CSRF token), POST a new entry for
tomorrow (a distinct agent and time slot each time, so every POST is a valid filing answered
with a 302), GET the bare view (`HttpResponse("ok")` behind the whole middleware stack, signed
in as the same lender: the ratio's denominator, measured in the same run by the same users).
Phases of `--seconds` each: "paced", each lender pausing about `--think` seconds between two
entries (10 s, someone typing in a trip; 1 s, a hurried lender), then "flat out", no pause at
all (a closed loop: 50 requests always waiting for 2 workers, which measures capacity, not
latency).

The client is a thread per user on http.client (no new dependency; a user's agents and slots
are easy to keep apart), timing each request from send to the last byte of the answer.
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import itertools
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from benchmarks.notifications.run import free_port, start_redis

DATABASE_URL = os.environ.get(
    "BENCH_LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/escort_portal_load"
)
AGENTS_PER_BRANCH = 20
# 20-minute trips from 05:00 to 21:00: 48 slots x 20 agents = 960 filings per lender.
SLOTS = [(5 * 60 + 20 * n, 5 * 60 + 20 * n + 20) for n in range(48)]
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
class Results:
    times: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))


def lender_loop(
    browser: Browser,
    lender: Lender,
    filings,
    form_url: str,
    phase: str,
    think: float,
    results: Results,
    stop: threading.Event,
    rounds: int | None = None,
) -> None:
    rng = random.Random(lender.username)
    if think and stop.wait(rng.uniform(0, think)):  # the lenders do not start in step
        return
    for _ in itertools.count() if rounds is None else range(rounds):
        if rounds is None and stop.is_set():
            return
        agent, (start, end) = next(filings)
        status, page, took = browser.request("GET", form_url)
        results.times[phase, "entry form GET"].append(took)
        token = CSRF.search(page)
        if status != 200 or token is None:
            results.failures[phase, "entry form GET"] += 1
            continue
        status, _, took = browser.request(
            "POST",
            form_url,
            {
                "csrfmiddlewaretoken": token.group(1),
                "agent": agent,
                "area": lender.area,
                "depart_at": f"{start // 60:02d}:{start % 60:02d}",
                "return_at": f"{end // 60:02d}:{end % 60:02d}",
                "cash_band": "lt50k",
            },
        )
        if status == 302:
            results.times[phase, "roster POST"].append(took)
        else:
            results.failures[phase, "roster POST"] += 1
        status, _, took = browser.request("GET", "/bench/bare/")
        if status == 200:
            results.times[phase, "bare view GET"].append(took)
        else:
            results.failures[phase, "bare view GET"] += 1
        if think and stop.wait(rng.uniform(0.5, 1.5) * think):
            return


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30, help="length of each phase")
    parser.add_argument(
        "--think",
        type=float,
        nargs="+",
        default=[10.0, 1.0],
        help="mean pause of a lender between two entries, one paced phase each",
    )
    parser.add_argument("--stations", type=int, default=1, help="stations the lenders are at")
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        sys.exit("redis-server is needed (Debian: apt-get install redis-server)")

    directory = tempfile.mkdtemp(prefix="bench-load-")
    redis_process, redis_url = start_redis(directory)
    env = environment(redis_url)
    os.environ.update(env)
    password = secrets.token_urlsafe(16)
    server = None
    try:
        lenders, tomorrow = prepare(args.users, args.stations, password)
        port = free_port()
        server = start_server(env, port)
        browsers = [Browser(port) for _ in lenders]
        for browser, lender in zip(browsers, lenders, strict=True):
            browser.sign_in(lender.username, password)
        filings = [itertools.cycle(itertools.product(lender.agents, SLOTS)) for lender in lenders]
        forms = [
            f"/station/{lender.station}/lenders/branch/{lender.branch}/roster/"
            f"{tomorrow.isoformat()}/add/"
            for lender in lenders
        ]
        # One filing each before the clock starts: both workers load their templates and open
        # their database connections.
        warm_up = Results()
        for browser, lender, mine, form in zip(browsers, lenders, filings, forms, strict=True):
            once = threading.Event()
            once.set()
            lender_loop(browser, lender, mine, form, "warm-up", 0.0, warm_up, once, rounds=1)
        load_before = os.getloadavg()[0]
        results = Results()
        phases = [(f"paced, {think:g} s pause", think) for think in args.think if think > 0]
        phases.append(("flat out, no pause", 0.0))
        elapsed, loads = {}, {}
        for phase, think in phases:
            stop = threading.Event()
            threads = [
                threading.Thread(
                    target=lender_loop,
                    args=(
                        browser,
                        lender,
                        mine,
                        form,
                        phase,
                        think,
                        results,
                        stop,
                    ),
                )
                for browser, lender, mine, form in zip(
                    browsers, lenders, filings, forms, strict=True
                )
            ]
            began = time.monotonic()
            for thread in threads:
                thread.start()
            stop.wait(args.seconds)
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
            elapsed[phase] = time.monotonic() - began
            loads[phase] = os.getloadavg()[0]
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        redis_process.terminate()
        redis_process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)

    print(
        f"{args.users} lenders at {args.stations} station(s); gunicorn, 2 sync workers, "
        f"127.0.0.1; {args.seconds:g} s a phase; {os.cpu_count()} cores; "
        f"load average before {load_before:.1f}"
    )
    print(
        "\n| phase | request | count | p50 ms | p95 ms | p99 ms | requests/s "
        "| p50 / bare p50 | p95 / bare p95 |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for phase, _think in phases:
        bare = results.times[phase, "bare view GET"]
        for request in ("roster POST", "entry form GET", "bare view GET"):
            values = results.times[phase, request]
            name = f"{phase} (load {loads[phase]:.1f})"
            print(
                f"| {name} | {request} | {len(values)} | {percentile(values, 0.5):.1f} | "
                f"{percentile(values, 0.95):.1f} | {percentile(values, 0.99):.1f} | "
                f"{len(values) / elapsed[phase]:.1f} | "
                f"{percentile(values, 0.5) / percentile(bare, 0.5):.1f} | "
                f"{percentile(values, 0.95) / percentile(bare, 0.95):.1f} |"
            )
    failed = {f"{phase} {request}": n for (phase, request), n in results.failures.items() if n}
    print(f"\nfailed requests: {failed or 'none'}")


if __name__ == "__main__":
    main()
