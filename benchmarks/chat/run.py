"""Inbound WhatsApp in a burst: 1,000 messages posted to the webhook at once, every one
answered once, and how long from receipt to reply.

    python -m benchmarks.chat.run [--messages 1000] [--workers 2] [--concurrency 2]
                                  [--senders 16] [--duplicates 0.1]

Everything is private to the run: a database of its own (escort_portal_bench_chat, or
BENCH_CHAT_DATABASE_URL) with one station, a redis-server of its own, gunicorn (2 sync workers,
the development settings with DEBUG=false) serving the webhook, Celery worker processes, and a
fake Graph API on 127.0.0.1 that answers like the Cloud API and notes when each reply arrived.
The station has 40 escort teams with a published run each, 40 lender branches with a manager
and a field agent on a trip, and all their phones linked.

Two bursts, in the same run, each of `--messages` distinct messages from `--senders` threads
posting signed webhook payloads as fast as the server takes them, plus `--duplicates` of them
posted a second time (WhatsApp delivers again whenever it is unsure):

- baseline: every linked person sends HELP (the pipeline alone: webhook, broker, worker, one
  read of who is writing, the reply to the Graph API);
- the morning: leaders ACK their run or ask STATUS, managers and agents ask STATUS (each
  answered from the station's schema, through the access layers), and 50 unknown numbers
  write (one reply each, then silence).

Receipt is when the webhook took the message (its row's `received_at`); reply is when the fake
Graph API received the answer. Prints a Markdown table with `uptime` before and after (the
machine is shared) and exits non-zero unless every message was processed once and answered
at most once.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import hmac
import http.client
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from benchmarks.notifications.run import free_port, percentile, start_redis, stop

DATABASE_URL = os.environ.get(
    "BENCH_CHAT_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/escort_portal_bench_chat"
)
QUEUE = "bench_chat"
STATION = "bench-chat"
SECRET = "bench-app-secret"
BASE_DIR = Path(__file__).resolve().parents[2]
TEAMS = 40
BRANCHES = 40
STRANGERS = 50


# --- The fake Graph API ---


class Graph(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), GraphHandler)
        self.lock = threading.Lock()
        # biz_opaque_callback_data -> arrival times (a reply's is "i:<row id>")
        self.arrivals: dict[str, list[float]] = {}
        self.count = itertools.count(1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def replies(self) -> dict[str, list[float]]:
        with self.lock:
            return {k: list(v) for k, v in self.arrivals.items() if k.startswith("i:")}


class GraphHandler(BaseHTTPRequestHandler):
    server: Graph

    def do_POST(self) -> None:
        arrived = time.time()
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        reference = body.get("biz_opaque_callback_data", "")
        with self.server.lock:
            self.server.arrivals.setdefault(reference, []).append(arrived)
            number = next(self.server.count)
        data = json.dumps({"messages": [{"id": f"wamid.bench.{number}"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


# --- Processes ---


def environment(graph: Graph, broker_url: str) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "escort_portal.settings.local",
        "DEBUG": "false",
        "DATABASE_URL": DATABASE_URL,
        "DATABASE_CONN_MAX_AGE": "60",
        "CELERY_BROKER_URL": broker_url,
        "REDIS_URL": broker_url,
        "CACHE_URL": broker_url,
        "CELERY_TASK_DEFAULT_QUEUE": QUEUE,
        "WHATSAPP_API_URL": f"{graph.url}/wa",
        "WHATSAPP_PHONE_NUMBER_ID": "100000000000001",
        "WHATSAPP_TOKEN": "bench-token",
        "WHATSAPP_APP_SECRET": SECRET,
        "SMS_GATEWAY_URL": "",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }


def start_web(env: dict[str, str], port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "escort_portal.wsgi:application",
            "--workers=2",
            f"--bind=127.0.0.1:{port}",
            "--log-level=warning",
        ],
        env={**os.environ, **env},
        cwd=BASE_DIR,
    )


def start_workers(env: dict[str, str], *, workers: int, concurrency: int) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "escort_portal",
                "worker",
                "--pool=prefork",
                f"--concurrency={concurrency}",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
                f"--hostname=benchchat{n}@%h",
                "--loglevel=WARNING",
            ],
            env={**os.environ, **env},
            cwd=BASE_DIR,
        )
        for n in range(workers)
    ]


def wait_for_web(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def queue_length(broker_url: str) -> int:
    import redis

    return redis.Redis.from_url(broker_url).llen(QUEUE)


# --- The station, its people and the day ---


@dataclass
class Person:
    number: str
    kind: str  # leader, manager, agent, stranger
    run: int | None = None


def prepare() -> None:
    from escort_portal.devservices import ensure_database

    ensure_database(DATABASE_URL)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate_schemas", verbosity=0)


def the_day() -> list[Person]:
    """Teams, branches, today's trips and a published sheet; every phone linked."""
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from escorts import services as escort_services
    from escorts.models import DutySheet, EscortRun, EscortTeam, Officer, RunEntry
    from lenders.models import (
        BranchMember,
        CashBand,
        CollectionArea,
        FieldAgent,
        LenderBranch,
        Roster,
        RosterEntry,
    )
    from stations import services
    from stations.models import ChatContact, Station, StationRole, Subdivision, User

    station = Station.objects.filter(slug=STATION).first()
    if station is None:
        subdivision, _ = Subdivision.objects.get_or_create(
            name="Bench chat", defaults={"district": "Bench"}
        )
        station = services.station_create(slug=STATION, name="Bench", subdivision=subdivision)
    today = timezone.localdate()
    now = timezone.now()
    people: list[Person] = []

    def person(username: str, number: str, role: str) -> User:
        user, _ = User.objects.get_or_create(
            username=username, defaults={"phone": number, "email": "", "first_name": username}
        )
        StationRole.objects.get_or_create(user=user, station=station, defaults={"role": role})
        ChatContact.objects.update_or_create(
            user=user,
            defaults={
                "phone": number,
                "verified_at": now,
                "verified_over": "whatsapp",
                "whatsapp_consent": True,
            },
        )
        return user

    with tenant_context(station):
        duty = person("bench-chat-duty", "+919830099999", "duty")
        area, _ = CollectionArea.objects.get_or_create(
            name="Bench village", defaults={"latitude": 22.3, "longitude": 87.3}
        )
        if not DutySheet.objects.filter(date=today, status=DutySheet.Status.PUBLISHED).exists():
            DutySheet.objects.filter(date=today).delete()
            sheet = DutySheet.objects.create(
                date=today,
                version=1,
                origin=DutySheet.Origin.CUTOFF,
                build_status=DutySheet.Build.DONE,
                built_at=now,
            )
            for n in range(TEAMS):
                leader_user = person(f"bench-chat-leader{n}", f"+91983010{n:04d}", "escort")
                officer, _ = Officer.objects.get_or_create(
                    user=leader_user,
                    defaults={"name": f"Leader {n}", "rank": "asi", "phone": leader_user.phone},
                )
                team, _ = EscortTeam.objects.get_or_create(
                    name=f"Bench team {n}", defaults={"leader": officer}
                )
                branch, _ = LenderBranch.objects.get_or_create(
                    lender_name="Bench lender",
                    branch_name=f"Branch {n}",
                    defaults={
                        "kind": "mfi",
                        "address": "Main road",
                        "manager_name": "Manager",
                        "manager_phone": "+919830000000",
                        "status": LenderBranch.Status.APPROVED,
                    },
                )
                manager = person(f"bench-chat-manager{n}", f"+91983020{n:04d}", "lender")
                BranchMember.objects.get_or_create(
                    branch=branch, user=manager, defaults={"role": "manager"}
                )
                agent, _ = FieldAgent.objects.get_or_create(
                    branch=branch,
                    employee_id=f"A{n}",
                    defaults={"name": f"Agent {n}", "phone": f"+91983030{n:04d}"},
                )
                agent_user = person(f"bench-chat-agent{n}", f"+91983030{n:04d}", "lender")
                BranchMember.objects.get_or_create(
                    branch=branch, user=agent_user, defaults={"role": "agent", "agent": agent}
                )
                roster, _ = Roster.objects.get_or_create(
                    branch=branch, date=today, defaults={"status": "locked"}
                )
                entry = RosterEntry.objects.create(
                    roster=roster,
                    agent=agent,
                    area=area,
                    depart_at=datetime.time(21, 0),
                    return_at=datetime.time(23, 0),
                    cash_band=CashBand.FROM_50K_TO_1L,
                )
                run = EscortRun.objects.create(
                    sheet=sheet,
                    team=team,
                    area=area,
                    start=datetime.time(21, 0),
                    end=datetime.time(23, 0),
                    meeting_point=f"Bench stop {n}",
                )
                RunEntry.objects.create(sheet=sheet, run=run, entry=entry)
            escort_services.duty_sheet_publish(date=today, by=duty)
        sheet = DutySheet.objects.get(date=today, status=DutySheet.Status.PUBLISHED)
        # Every run back to planned: ACK works again in a new run of the benchmark.
        EscortRun.objects.filter(sheet=sheet).update(status="planned", acknowledged_at=None)
        for run in EscortRun.objects.filter(sheet=sheet).select_related("team__leader__user"):
            people.append(Person(run.team.leader.user.phone, "leader", run.pk))
        for member in BranchMember.objects.select_related("user"):
            people.append(Person(member.user.phone, member.role))
    return people


def reset_inbound() -> None:
    from chat.models import InboundMessage

    InboundMessage.objects.all().delete()


# --- The bursts ---


@dataclass
class Burst:
    name: str
    bodies: list[tuple[str, bytes]]  # (message id, signed body)
    expected_replies: int
    posts: int = 0
    answers: Counter = field(default_factory=Counter)
    started: float = 0.0
    post_times: dict[str, float] = field(default_factory=dict)


_serial = itertools.count(1)


def _body(number: str, text: str) -> tuple[str, bytes]:
    message_id = f"wamid.bench.in.{time.time_ns()}.{next(_serial)}"
    wa_id = number.lstrip("+")
    data = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"phone_number_id": "100000000000001"},
                            "contacts": [{"profile": {"name": "x"}, "wa_id": wa_id}],
                            "messages": [
                                {
                                    "from": wa_id,
                                    "id": message_id,
                                    "timestamp": str(int(time.time())),
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    return message_id, json.dumps(data).encode()


def baseline(people: list[Person], count: int) -> Burst:
    known = [p for p in people if p.kind != "stranger"]
    bodies = [_body(known[n % len(known)].number, "HELP") for n in range(count)]
    return Burst("baseline: HELP from linked phones", bodies, expected_replies=count)


def morning(people: list[Person], count: int) -> Burst:
    rng = random.Random(20)
    strangers = [Person(f"+91973300{n:04d}", "stranger") for n in range(STRANGERS)]
    bodies = []
    strangers_seen: set[str] = set()
    for n in range(count):
        if n % 10 == 9:
            who = strangers[rng.randrange(len(strangers))]
            strangers_seen.add(who.number)
            bodies.append(_body(who.number, "hello"))
            continue
        who = people[rng.randrange(len(people))]
        text = f"ACK R{who.run}" if who.kind == "leader" and rng.random() < 0.5 else "STATUS"
        bodies.append(_body(who.number, text))
    expected = count - (count // 10) + len(strangers_seen)
    return Burst("the morning: ACK, STATUS, strangers", bodies, expected_replies=expected)


def post(port: int, body: bytes) -> int:
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request(
        "POST",
        "/chat/whatsapp/webhook/",
        body,
        {"Content-Type": "application/json", "X-Hub-Signature-256": signature},
    )
    status = connection.getresponse().status
    connection.close()
    return status


def fire(burst: Burst, port: int, *, senders: int, duplicates: float) -> None:
    rng = random.Random(7)
    again = rng.sample(burst.bodies, int(len(burst.bodies) * duplicates))
    sends = [*burst.bodies, *again]
    rng.shuffle(sends)
    burst.started = time.time()

    def one(item: tuple[str, bytes]) -> int:
        burst.post_times.setdefault(item[0], time.time())
        return post(port, item[1])

    with ThreadPoolExecutor(max_workers=senders) as pool:
        for status in pool.map(one, sends):
            burst.answers[status] += 1
    burst.posts = len(sends)


def settle(burst: Burst, graph: Graph, timeout: float = 900) -> dict:
    from chat.models import InboundMessage

    ids = [message_id for message_id, _ in burst.bodies]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = InboundMessage.objects.filter(provider_id__in=ids, status="done").count()
        replied = len(graph.replies())
        if done == len(ids) and replied >= burst.expected_replies:
            break
        time.sleep(0.2)
    time.sleep(1.0)  # anything answered twice would arrive now
    rows = list(
        InboundMessage.objects.filter(provider_id__in=ids).values_list(
            "pk", "provider_id", "status", "received_at"
        )
    )
    arrivals = graph.replies()
    receipt_to_reply, post_to_reply = [], []
    for pk, provider_id, _status, received_at in rows:
        times = arrivals.get(f"i:{pk}")
        if times:
            receipt_to_reply.append(times[0] - received_at.timestamp())
            post_to_reply.append(times[0] - burst.post_times[provider_id])
    last = max((t for times in arrivals.values() for t in times), default=time.time())
    return {
        "rows": len(rows),
        "done": sum(1 for row in rows if row[2] == "done"),
        "replies": sum(len(times) for times in arrivals.values()),
        "distinct": len(arrivals),
        "doubled": sum(1 for times in arrivals.values() if len(times) > 1),
        "receipt": sorted(receipt_to_reply),
        "post": sorted(post_to_reply),
        "seconds": last - burst.started,
    }


def uptime() -> str:
    """The load average (the machine is shared), as `uptime` says it."""
    out = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout
    return out.strip().rpartition("load average: ")[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=2, help="pool size of each worker")
    parser.add_argument("--senders", type=int, default=16, help="threads posting the burst")
    parser.add_argument("--duplicates", type=float, default=0.1, help="share posted twice")
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        sys.exit("redis-server is needed (Debian: apt-get install redis-server)")

    graph = Graph()
    threading.Thread(target=graph.serve_forever, daemon=True).start()
    directory = tempfile.mkdtemp(prefix="bench-chat-")
    redis_process, broker_url = start_redis(directory)
    env = environment(graph, broker_url)
    os.environ.update(env)
    processes = [redis_process]
    port = free_port()
    results = []
    load = [uptime()]
    try:
        prepare()
        people = the_day()
        reset_inbound()
        processes += start_workers(env, workers=args.workers, concurrency=args.concurrency)
        processes.append(start_web(env, port))
        wait_for_web(port)
        # The outbox messages of the publish go out first; the bursts start on an empty queue.
        deadline = time.monotonic() + 120
        while queue_length(broker_url) and time.monotonic() < deadline:
            time.sleep(0.2)
        for make in (baseline, morning):
            burst = make(people, args.messages)
            with graph.lock:
                graph.arrivals.clear()
            fire(burst, port, senders=args.senders, duplicates=args.duplicates)
            results.append((burst, settle(burst, graph)))
        load.append(uptime())
    finally:
        stop(processes[1:])
        stop(processes[:1])
        graph.shutdown()
        shutil.rmtree(directory, ignore_errors=True)

    print(
        f"\n{args.messages} messages a burst (+{args.duplicates:.0%} posted twice), "
        f"{args.senders} senders, gunicorn 2 workers, {args.workers} x {args.concurrency} "
        "Celery (prefork)\n"
    )
    print("| measure | " + " | ".join(burst.name for burst, _ in results) + " |")
    print("|---|" + "---:|" * len(results))

    def row(name: str, value) -> None:
        print(f"| {name} | " + " | ".join(value(burst, result) for burst, result in results) + " |")

    row("webhook POSTs (answers)", lambda b, r: f"{b.posts} ({dict(sorted(b.answers.items()))})")
    row(
        "distinct messages / rows / processed",
        lambda b, r: f"{len(b.bodies)} / {r['rows']} / {r['done']}",
    )
    row(
        "replies expected / sent / doubled",
        lambda b, r: f"{b.expected_replies} / {r['replies']} / {r['doubled']}",
    )
    for share, label in ((0.5, "p50"), (0.95, "**p95**"), (1.0, "max")):
        row(
            f"receipt to reply, {label}",
            lambda b, r, s=share: f"{percentile(r['receipt'], s):.2f} s",
        )
    row("post to reply, p95", lambda b, r: f"{percentile(r['post'], 0.95):.2f} s")
    row("first post to last reply", lambda b, r: f"{r['seconds']:.1f} s")
    row("messages answered a second", lambda b, r: f"{len(b.bodies) / r['seconds']:.0f}")
    print(f"\nload average (1, 5, 15 min) before: {load[0]}; after: {load[-1]}")
    ok = all(
        r["rows"] == r["done"] == len(b.bodies)
        and r["replies"] == r["distinct"] == b.expected_replies
        for b, r in results
    )
    print(f"\n{'OK' if ok else 'PROBLEM'}: every message processed once and answered once.")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
