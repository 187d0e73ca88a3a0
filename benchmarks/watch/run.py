"""Watched runs at a busy station: position pings from 500 started runs, and the duty officer's
live board while they arrive.

    python -m benchmarks.watch.run [--runs 500] [--seconds 60] [--rates 1 10] [--board-every 2]

Everything is private to the run, as in the load benchmark (benchmarks/load/run.py): a
database of its own (escort_portal_watch, or BENCH_WATCH_DATABASE_URL), a redis-server of its
own, gunicorn with 2 sync workers on 127.0.0.1 with the development settings and DEBUG off, and
the bare view at /bench/bare/. The set-up makes one station with 500 escort teams, each led by
an officer with a login and one run of today's published sheet, started; 10 collection areas;
and a duty officer. Sessions are made in the database, so 500 leaders need no sign-in round.

Rate 1 is what the leaders' pages send: one position a minute per started run (500 runs: 8.3
pings a second); rate 10 is ten times that. At each rate, open loop (requests on a fixed
schedule whatever the answers; latency from the scheduled time, so queueing counts), three
kinds in turn: the pings alone, the pings with the live board asked for every
`--board-every` seconds by the duty officer at the same time (the board as it is used), and
the bare view at the ping rate (`HttpResponse("ok")` behind the same middleware, signed in as
the same leaders): the baseline, in the same run. Before the load, the queries of one ping and
one board are counted in this process (Django's test client against the same database).

Prints Markdown tables, with `uptime` before and after (the machine is shared).
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import os
import secrets
import shutil
import string
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from benchmarks import openloop
from benchmarks.load.run import environment, start_server, uptime
from benchmarks.notifications.run import free_port, start_redis

DATABASE_URL = os.environ.get(
    "BENCH_WATCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/escort_portal_watch"
)
STATION = "watch-bench"
# Around the station: the runs' positions, and the areas the map draws.
LATITUDE, LONGITUDE = 22.30, 87.40


@dataclass(frozen=True)
class Leader:
    run: int
    cookies: str
    csrf: str


# --- Set-up, in this process through the ORM ---


def _csrf_secret() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(32))


def prepare(runs: int) -> tuple[list[Leader], Leader]:
    """The station, its runs and people, and a session per person; returns the leaders (one
    per run) and the duty officer."""
    from escort_portal.devservices import ensure_database

    ensure_database(DATABASE_URL)
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from escorts.models import DutySheet, EscortRun, EscortTeam, Officer, RunSign, RunWatch
    from lenders.models import CollectionArea
    from stations import services
    from stations.models import Station, StationRole, Subdivision, User
    from stations.sessions import RENEWED_KEY

    call_command("migrate_schemas", verbosity=0)
    subdivision, _ = Subdivision.objects.get_or_create(name="Watch", defaults={"district": "W"})
    station = Station.objects.filter(slug=STATION).first() or services.station_create(
        slug=STATION,
        name="Watch bench",
        subdivision=subdivision,
        latitude=LATITUDE,
        longitude=LONGITUDE,
    )
    today = timezone.localdate()
    now = timezone.now()

    def person(username: str, role: str) -> User:
        user, _ = User.objects.get_or_create(username=username, defaults={"first_name": username})
        StationRole.objects.update_or_create(user=user, station=station, defaults={"role": role})
        return user

    def signed_in(user: User) -> tuple[str, str]:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session[RENEWED_KEY] = int(time.time())
        session.create()
        csrf = _csrf_secret()
        return f"sessionid={session.session_key}; csrftoken={csrf}", csrf

    users = [person(f"watch-leader{n}", StationRole.Role.ESCORT_OFFICER) for n in range(runs)]
    duty = person("watch-duty", StationRole.Role.DUTY_OFFICER)
    with tenant_context(station):
        for n in range(10):
            CollectionArea.objects.get_or_create(
                name=f"Watch village {n}",
                defaults={"latitude": LATITUDE + n / 100, "longitude": LONGITUDE - n / 100},
            )
        area = CollectionArea.objects.order_by("pk").first()
        # A fresh day for every run of the benchmark: today's sheet and its runs made anew.
        DutySheet.objects.filter(date=today).delete()
        sheet = DutySheet.objects.create(
            date=today,
            version=1,
            origin=DutySheet.Origin.CUTOFF,
            build_status=DutySheet.Build.DONE,
            status=DutySheet.Status.PUBLISHED,
            published_at=now,
        )
        officers = {o.user_id: o for o in Officer.objects.filter(user__in=users)}
        Officer.objects.bulk_create(
            Officer(name=user.username, rank="si", phone="+919434000000", user=user)
            for user in users
            if user.pk not in officers
        )
        officers = {o.user_id: o for o in Officer.objects.filter(user__in=users)}
        teams = {t.leader_id: t for t in EscortTeam.objects.filter(leader__in=officers.values())}
        EscortTeam.objects.bulk_create(
            EscortTeam(name=f"Watch {officer.name}", leader=officer)
            for officer in officers.values()
            if officer.pk not in teams
        )
        teams = {t.leader_id: t for t in EscortTeam.objects.filter(leader__in=officers.values())}
        made = EscortRun.objects.bulk_create(
            EscortRun(
                sheet=sheet,
                team=teams[officers[user.pk].pk],
                area=area,
                start=datetime.time(6, 0),
                end=datetime.time(23, 59),
                status=EscortRun.Status.STARTED,
                started_at=now,
            )
            for user in users
        )
        RunWatch.objects.bulk_create(
            RunWatch(run=run, last_sign_at=now, last_sign="status") for run in made
        )
        RunSign.objects.all().delete()
    leaders = []
    for user, run in zip(users, made, strict=True):
        cookies, csrf = signed_in(user)
        leaders.append(Leader(run.pk, cookies, csrf))
    cookies, csrf = signed_in(duty)
    return leaders, Leader(0, cookies, csrf)


def count_queries(leader_run: int, leader: str, duty: str) -> dict[str, int]:
    """Queries of one ping and one board, through the whole middleware, in this process."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from stations.models import User

    counts = {}
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(username=leader))
    url = f"/station/{STATION}/escorts/my-day/run/{leader_run}/position/"
    ping = {"latitude": LATITUDE, "longitude": LONGITUDE, "accuracy_m": 10}
    client.post(url, {**ping, "key": str(uuid.uuid4())})  # the connection's first query done
    with CaptureQueriesContext(connection) as captured:
        assert client.post(url, {**ping, "key": str(uuid.uuid4())}).status_code == 200
    counts["position ping"] = len(captured)
    client.force_login(User.objects.get(username=duty))
    client.get(f"/station/{STATION}/escorts/live/")
    with CaptureQueriesContext(connection) as captured:
        assert client.get(f"/station/{STATION}/escorts/live/").status_code == 200
    counts["live board"] = len(captured)
    connection.close()
    return counts


# --- The client ---


def send(connection: http.client.HTTPConnection, kind: str, who: Leader, n: int) -> bool:
    headers = {"Cookie": who.cookies}
    if kind == "bare view GET":
        connection.request("GET", "/bench/bare/", headers=headers)
    elif kind == "live board GET":
        connection.request("GET", f"/station/{STATION}/escorts/live/?fragment=1", headers=headers)
    else:
        # A phone a few hundred metres from the last time, as a moving team's is.
        offset = Decimal(n % 97) / 10000
        body = urlencode(
            {
                "key": str(uuid.uuid4()),
                "latitude": f"{LATITUDE + float(offset):.6f}",
                "longitude": f"{LONGITUDE + float(offset):.6f}",
                "accuracy_m": 10 + n % 40,
                "made_ms": int(time.time() * 1000),
            }
        )
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        headers["X-CSRFToken"] = who.csrf
        headers["Accept"] = "application/json"
        url = f"/station/{STATION}/escorts/my-day/run/{who.run}/position/"
        connection.request("POST", url, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    return response.status == 200


def open_loop(port: int, schedule: list[tuple[float, str, Leader]]) -> dict[str, openloop.Outcome]:
    """Each (offset in seconds, kind, who) sent at its time whatever the answers before it;
    an outcome per kind."""
    return openloop.open_loop(
        port,
        [(offset, kind) for offset, kind, _who in schedule],
        lambda connection, n: send(connection, schedule[n][1], schedule[n][2], n),
        timeout=120,
    )


def pings(leaders: list[Leader], rate: float, seconds: float, kind: str = "position ping"):
    step = 1 / rate
    return [(n * step, kind, leaders[n % len(leaders)]) for n in range(int(rate * seconds))]


def boards(duty: Leader, every: float, seconds: float) -> list[tuple[float, str, Leader]]:
    return [(n * every, "live board GET", duty) for n in range(int(seconds / every))]


# --- The run ---


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=60, help="length of each phase")
    parser.add_argument(
        "--rates",
        type=float,
        nargs="+",
        default=[1.0, 10.0],
        help="pings per run per minute",
    )
    parser.add_argument("--board-every", type=float, default=2.0, help="seconds between boards")
    args = parser.parse_args()
    # Each phase sends int(pings a second * seconds) pings and int(seconds / board-every) boards:
    # with none of one kind, its row would have nothing to report.
    for rate in args.rates:
        if rate <= 0 or args.seconds <= 0 or int(args.runs * rate / 60 * args.seconds) < 1:
            parser.error(
                f"--rates {rate:g} for --runs {args.runs} and --seconds {args.seconds:g} sends "
                "no ping: the runs times the rate (a minute) times the seconds over 60 must "
                "come to one ping at least"
            )
    if args.board_every <= 0 or int(args.seconds / args.board_every) < 1:
        parser.error(f"--board-every {args.board_every:g} is no board in {args.seconds:g} s")
    if shutil.which("redis-server") is None:
        sys.exit("redis-server is needed (Debian: apt-get install redis-server)")

    directory = tempfile.mkdtemp(prefix="bench-watch-")
    redis_process, redis_url = start_redis(directory)
    env = {**environment(redis_url), "DATABASE_URL": DATABASE_URL}
    env["PUBLIC_SCHEMA_URLCONF"] = "benchmarks.load.urls"
    os.environ.update(env)
    server = None
    rows = []
    try:
        leaders, duty = prepare(args.runs)
        queries = count_queries(leaders[0].run, "watch-leader0", "watch-duty")
        port = free_port()
        server = start_server(env, port)
        # A few of each before the clock starts: both workers load their code and templates.
        open_loop(port, pings(leaders, 5, 2) + boards(duty, 1, 2))
        before = uptime()
        alone = open_loop(port, boards(duty, args.board_every, args.seconds))
        rows.append(("board alone", "live board GET", alone["live board GET"], os.getloadavg()[0]))
        for rate in args.rates:
            per_second = args.runs * rate / 60
            board = boards(duty, args.board_every, args.seconds)
            for phase, kinds in (
                (f"pings {per_second:.1f}/s", pings(leaders, per_second, args.seconds)),
                (
                    f"pings {per_second:.1f}/s + board",
                    pings(leaders, per_second, args.seconds) + board,
                ),
                (
                    f"bare view {per_second:.1f}/s (baseline)",
                    pings(leaders, per_second, args.seconds, kind="bare view GET"),
                ),
            ):
                kinds.sort(key=lambda item: item[0])
                outcomes = open_loop(port, kinds)
                load = os.getloadavg()[0]
                for kind, outcome in outcomes.items():
                    rows.append((phase, kind, outcome, load))
        after = uptime()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        redis_process.terminate()
        redis_process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)

    print(
        f"{args.runs} started runs at one station; gunicorn, 2 sync workers, DEBUG off, "
        f"127.0.0.1; open loop, {args.seconds:g} s a phase; the board every "
        f"{args.board_every:g} s; {os.cpu_count()} cores"
    )
    print(f"uptime before: {before}\nuptime after:  {after}")
    print("\n| request | queries |\n|---|---:|")
    for kind, count in queries.items():
        print(f"| {kind} | {count} |")
    print("\n| phase | request | sent | errors | achieved /s | p50 ms | p95 ms | p99 ms | load |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, kind, outcome, load in rows:
        print(f"| {label} | {kind} | {outcome.cells()} | {load:.1f} |")


if __name__ == "__main__":
    main()
