"""50 lenders filing rosters at once against gunicorn with 2 workers, on loopback.

    python -m benchmarks.load.run [--users 50] [--seconds 30]

A database of its own (escort_portal_load, or BENCH_LOAD_DATABASE_URL) gets one station and one
branch per user, each with enough field agents that every POST files a new, valid trip for
tomorrow. Each user signs in, then repeats: GET the entry form, POST an entry (a 302 when it is
filed). In the same run the same users call a bare Django view, the ratio's denominator.
Prints a Markdown table of latency percentiles and requests per second. `--think` is the pause
of each lender between two entries (0 for a closed loop with no pause).
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import requests

DATABASE_URL = os.environ.get(
    "BENCH_LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/escort_portal_load"
)
PASSWORD = "load-bench-pass"
AGENTS_PER_BRANCH = 40


def server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "escort_portal.settings.local",
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": DATABASE_URL,
            "PUBLIC_SCHEMA_URLCONF": "benchmarks.load.urls",
            # Messages queued by the filings go to a queue no worker reads.
            "REDIS_URL": "redis://127.0.0.1:6379/13",
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/13",
            "CACHE_URL": "redis://127.0.0.1:6379/13",
            "CELERY_TASK_DEFAULT_QUEUE": "escort_portal_load",
            "RATE_LIMIT_LOGIN": "10000/m",
        }
    )
    return env


SETUP = """
import datetime
from django_tenants.utils import tenant_context
from lenders.models import BranchMember, CollectionArea, FieldAgent, LenderBranch, Roster
from stations import services
from stations.models import Station, StationRole, Subdivision, User
from stations.demo import password_hash

users, agents = {users}, {agents}
subdivision, _ = Subdivision.objects.get_or_create(name="Load", defaults={{"district": "Load"}})
station = Station.objects.filter(slug="loadtown").first() or services.station_create(
    slug="loadtown", name="Load Town", subdivision=subdivision, latitude=22.3, longitude=87.3,
    roster_cutoff=datetime.time(23, 59),
)
with tenant_context(station):
    # Every run starts from empty rosters, so each POST files a new trip.
    for roster in Roster.objects.all():
        roster.entries.all().delete()
        roster.delete()
    area, _ = CollectionArea.objects.get_or_create(
        name="Load Village", defaults={{"latitude": 22.31, "longitude": 87.31}}
    )
    for n in range(users):
        user, _ = User.objects.get_or_create(
            username=f"load-lender{{n}}", defaults={{"password": password_hash("{password}")}}
        )
        StationRole.objects.get_or_create(user=user, station=station, defaults={{"role": "lender"}})
        branch, _ = LenderBranch.objects.get_or_create(
            lender_name=f"Load Lender {{n}}", branch_name="Load",
            defaults={{"kind": "mfi", "address": "Road", "manager_name": "M",
                      "manager_phone": "+919830000000", "status": "approved"}},
        )
        BranchMember.objects.get_or_create(branch=branch, user=user, defaults={{"role": "manager"}})
        have = FieldAgent.objects.filter(branch=branch).count()
        FieldAgent.objects.bulk_create(
            FieldAgent(branch=branch, name=f"Agent {{n}}-{{i}}", employee_id=f"L{{n}}-{{i}}",
                       phone="+919830000001")
            for i in range(have, agents)
        )
print(area.pk)
"""


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], env=env, check=True, capture_output=True, text=True
    )
    return result.stdout


def prepare(users: int) -> tuple[dict[str, str], int]:
    from escort_portal.devservices import ensure_database

    env = server_env()
    ensure_database(DATABASE_URL)
    manage(env, "migrate_schemas", "--verbosity=0")
    script = SETUP.format(users=users, agents=AGENTS_PER_BRANCH, password=PASSWORD)
    area = int(manage(env, "shell", "-c", script).strip().splitlines()[-1])
    return env, area


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Results:
    posts: list[float] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)
    failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
OPTION = re.compile(r'<option value="(\d+)"')


def lender(
    n: int,
    base: str,
    area: int,
    results: Results,
    start: threading.Barrier,
    stop: threading.Event,
    think: float,
) -> None:
    session = requests.Session()
    page = session.get(f"{base}/accounts/login/")
    session.post(
        f"{base}/accounts/login/",
        data={
            "username": f"load-lender{n}",
            "password": PASSWORD,
            "csrfmiddlewaretoken": CSRF.search(page.text).group(1),
        },
        headers={"Referer": f"{base}/accounts/login/"},
    )
    branch_url = session.get(f"{base}/station/loadtown/lenders/branches/").url
    tomorrow = time.strftime("%Y-%m-%d", time.localtime(time.time() + 86400))
    form_url = f"{branch_url}roster/{tomorrow}/add/"
    form = session.get(form_url).text
    agents = OPTION.findall(form.split('id="id_agent"')[1].split("</select>")[0])
    start.wait()
    for agent in agents:
        if stop.wait(think):
            break
        token = CSRF.search(session.get(form_url).text).group(1)
        began = time.perf_counter()
        response = session.post(
            form_url,
            data={
                "csrfmiddlewaretoken": token,
                "agent": agent,
                "area": area,
                "depart_at": "10:00",
                "return_at": "11:00",
                "cash_band": "lt50k",
            },
            headers={"Referer": form_url},
            allow_redirects=False,
        )
        took = (time.perf_counter() - began) * 1000
        began = time.perf_counter()
        bare = session.get(f"{base}/bench/bare/")
        bare_took = (time.perf_counter() - began) * 1000
        with results.lock:
            if response.status_code == 302 and bare.status_code == 200:
                results.posts.append(took)
                results.bare.append(bare_took)
            else:
                results.failures += 1


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument(
        "--think", type=float, default=1.0, help="seconds a lender waits between two entries"
    )
    args = parser.parse_args()
    env, area = prepare(args.users)
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "escort_portal.wsgi",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(f"{base}/bench/bare/", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.2)
        results = Results()
        start, stop = threading.Barrier(args.users + 1), threading.Event()
        threads = [
            threading.Thread(target=lender, args=(n, base, area, results, start, stop, args.think))
            for n in range(args.users)
        ]
        for thread in threads:
            thread.start()
        start.wait()
        began = time.monotonic()
        stop.wait(args.seconds)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        elapsed = time.monotonic() - began
        load = os.getloadavg()[0]
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(
        f"{args.users} users, {args.think:g} s between entries, {elapsed:.0f} s, "
        f"gunicorn 2 workers, load average {load:.1f}"
    )
    print("| request | count | p50 ms | p95 ms | p99 ms | requests/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, values in (("roster POST", results.posts), ("bare view GET", results.bare)):
        print(
            f"| {name} | {len(values)} | {statistics.median(values):.1f} | "
            f"{percentile(values, 95):.1f} | {percentile(values, 99):.1f} | "
            f"{len(values) / elapsed:.1f} |"
        )
    print(f"failed requests: {results.failures}")


if __name__ == "__main__":
    main()
