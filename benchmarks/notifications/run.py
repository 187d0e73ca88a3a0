"""Outbox throughput: 1,000 messages through real Celery workers to a local SMS/WhatsApp gateway.

    python -m benchmarks.notifications.run [--messages 1000] [--concurrency 4] [--workers 1]
                                           [--db-reuse 100]

Everything is private to the run: a database of its own (escort_portal_bench_notifications,
BENCH_NOTIFICATIONS_DATABASE_URL to change) with one station, a redis-server of its own on a
free port, a gateway on 127.0.0.1 that answers like the SMS gateway and the WhatsApp Cloud API,
and worker processes pointed at all three. The messages are queued the way an event queues
them (message_queue in a transaction, delivery tasks sent on commit); the clock runs from the
start of that transaction until every message is SENT. The gateway counts what it received, so
the table says whether any message was lost or sent twice. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DATABASE_URL = os.environ.get(
    "BENCH_NOTIFICATIONS_DATABASE_URL",
    "postgres://postgres@127.0.0.1:5432/escort_portal_bench_notifications",
)
QUEUE = "bench_notifications"
STATION = "bench-notify"
BASE_DIR = Path(__file__).resolve().parents[2]
USERS = 100


# --- The local gateway ---


class Gateway(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), GatewayHandler)
        self.lock = threading.Lock()
        self.received: Counter = Counter()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class GatewayHandler(BaseHTTPRequestHandler):
    server: Gateway

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/sms":
            key = ("sms", body["reference"])
            answer = {"id": f"sms-{body['reference']}"}
        else:
            parameters = body["template"]["components"][0]["parameters"]
            key = ("whatsapp", body["to"], parameters[0]["text"])
            answer = {"messages": [{"id": f"wamid.{body['to']}.{parameters[0]['text']}"}]}
        with self.server.lock:
            self.server.received[key] += 1
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


# --- Services of the run ---


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(directory: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--dir",
            directory,
        ],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process, f"redis://127.0.0.1:{port}/0"
        time.sleep(0.05)
    process.terminate()
    raise RuntimeError("redis-server did not start")


def environment(gateway: Gateway, broker_url: str) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "escort_portal.settings.local",
        "DEBUG": "false",
        "DATABASE_URL": DATABASE_URL,
        "DATABASE_CONN_MAX_AGE": "60",
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_DEFAULT_QUEUE": QUEUE,
        "SMS_GATEWAY_URL": f"{gateway.url}/sms",
        "SMS_GATEWAY_KEY": "bench-key",
        "SMS_SENDER_ID": "EPORTL",
        "SMS_DLT_ENTITY_ID": "1101000000000000001",
        "SMS_DLT_TEMPLATE_IDS": "sheet_published.en=1107000000000000401,"
        "sheet_published.bn=1107000000000000402",
        "WHATSAPP_API_URL": f"{gateway.url}/wa",
        "WHATSAPP_PHONE_NUMBER_ID": "100000000000001",
        "WHATSAPP_TOKEN": "bench-token",
        "LOG_LEVEL": "WARNING",
    }


def start_workers(
    env: dict[str, str], *, workers: int, concurrency: int, db_reuse: int
) -> list[subprocess.Popen]:
    if db_reuse:
        env = {**env, "BENCH_DB_REUSE_MAX": str(db_reuse)}
    return [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.notifications.worker",
                "--pool=prefork",
                f"--concurrency={concurrency}",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
                f"--hostname=bench{n}@%h",
                "--loglevel=WARNING",
            ],
            env={**os.environ, **env},
            cwd=BASE_DIR,
        )
        for n in range(workers)
    ]


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# --- Database ---


def prepare() -> None:
    from escort_portal.devservices import ensure_database

    ensure_database(DATABASE_URL)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate_schemas", verbosity=0)


def station_and_people() -> tuple[object, list]:
    from notifications.models import ChannelPreference
    from stations import services
    from stations.models import Station, Subdivision, User

    station = Station.objects.filter(slug=STATION).first()
    if station is None:
        subdivision, _ = Subdivision.objects.get_or_create(
            name="Bench notifications", defaults={"district": "Bench"}
        )
        station = services.station_create(slug=STATION, name="Bench", subdivision=subdivision)
    people = []
    for n in range(USERS):
        user, _ = User.objects.get_or_create(
            username=f"bench-notify-{n}", defaults={"phone": f"+9198300{n:05d}", "email": ""}
        )
        people.append(user)
    from django_tenants.utils import tenant_context

    with tenant_context(station):
        for user in people:
            ChannelPreference.objects.update_or_create(
                user=user, defaults={"email": False, "sms": True, "whatsapp": True}
            )
    return station, people


def wait_for_workers(since: object, timeout: float = 60) -> None:
    """A worker runs the heartbeat job as soon as it is ready."""
    from stations.models import WorkerHeartbeat

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if WorkerHeartbeat.objects.filter(schema_name="public", seen_at__gte=since).exists():
            time.sleep(1.0)  # let the other pool processes and workers finish starting
            return
        time.sleep(0.1)
    raise RuntimeError("The workers did not start")


def run(messages: int) -> dict[str, object]:
    from django.db import transaction
    from django_tenants.utils import tenant_context

    from notifications import services
    from notifications.models import Channel, Message

    station, people = station_and_people()
    per_event = len(people) * 2  # SMS and WhatsApp
    events = -(-messages // per_event)
    run_id = f"{time.time():.0f}"
    with tenant_context(station):
        Message.objects.all().delete()
        started = time.monotonic()
        with transaction.atomic():
            for n in range(events):
                remaining = messages - n * per_event
                services.message_queue(
                    event=f"bench:{run_id}:{n}",
                    kind="sheet_published",
                    recipients=people[: max(1, remaining // 2)],
                    context={
                        "reference": f"B{run_id[-4:]}-{n}",
                        "date": "01 Dec",
                        "time": "10:15",
                        "meeting_point": "Debra bus stand",
                        "contact": "ASI R. Mahato",
                        "phone": "+919800000001",
                        "path": f"/station/{STATION}/",
                    },
                )
        queued_at = time.monotonic()
        outgoing = Message.objects.exclude(channel=Channel.IN_APP)
        total = outgoing.count()
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            done = outgoing.filter(status__in=[Message.Status.SENT, Message.Status.FAILED]).count()
            if done >= total:
                break
            time.sleep(0.02)
        finished = time.monotonic()
        statuses = Counter(outgoing.values_list("status", flat=True))
        latencies = [
            (sent_at - created_at).total_seconds()
            for created_at, sent_at in outgoing.filter(sent_at__isnull=False).values_list(
                "created_at", "sent_at"
            )
        ]
        attempts = Counter(outgoing.values_list("attempts", flat=True))
        Message.objects.all().delete()
    return {
        "messages": total,
        "queue_seconds": queued_at - started,
        "total_seconds": finished - started,
        "statuses": statuses,
        "latencies": sorted(latencies),
        "attempts": attempts,
    }


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(share * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=4, help="pool size of each worker")
    parser.add_argument(
        "--db-reuse",
        type=int,
        default=0,
        help="keep database connections for this many tasks (CELERY_DB_REUSE_MAX); "
        "0: as the project's workers run now, a new connection per task",
    )
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        sys.exit("redis-server is needed (Debian: apt-get install redis-server)")

    gateway = Gateway()
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    directory = tempfile.mkdtemp(prefix="bench-notify-")
    redis_process, broker_url = start_redis(directory)
    env = environment(gateway, broker_url)
    os.environ.update(env)
    processes: list[subprocess.Popen] = [redis_process]
    try:
        prepare()
        station_and_people()
        from django.utils import timezone

        since = timezone.now()
        processes += start_workers(
            env, workers=args.workers, concurrency=args.concurrency, db_reuse=args.db_reuse
        )
        wait_for_workers(since)
        result = run(args.messages)
        time.sleep(1.0)  # anything sent twice would arrive now
    finally:
        stop(processes[1:])
        stop(processes[:1])
        gateway.shutdown()
        shutil.rmtree(directory, ignore_errors=True)

    received = gateway.received
    total = result["messages"]
    distinct = len(received)
    requests = sum(received.values())
    seconds = result["total_seconds"]
    latencies = result["latencies"]
    rows = [
        ("messages queued (SMS + WhatsApp)", f"{total}"),
        ("workers x pool", f"{args.workers} x {args.concurrency} (prefork)"),
        ("database connection per task", "reused" if args.db_reuse else "new (Celery's default)"),
        ("queue + commit (1 transaction)", f"{result['queue_seconds']:.2f} s"),
        ("transaction start to last sent", f"{seconds:.2f} s"),
        ("throughput", f"**{total / seconds:.0f} messages/s**"),
        (
            "latency p50 / p95 / max",
            " / ".join(f"{percentile(latencies, share):.2f} s" for share in (0.5, 0.95, 1.0)),
        ),
        (
            "rows SENT / FAILED / other",
            "{} / {} / {}".format(
                result["statuses"].get("sent", 0),
                result["statuses"].get("failed", 0),
                total - result["statuses"].get("sent", 0) - result["statuses"].get("failed", 0),
            ),
        ),
        (
            "attempts per message",
            ", ".join(f"{k}: {v}" for k, v in sorted(result["attempts"].items())),
        ),
        ("gateway requests", f"{requests}"),
        ("distinct messages received", f"{distinct}"),
        ("lost (queued, never received)", f"{total - distinct}"),
        ("doubled (received more than once)", f"{sum(1 for n in received.values() if n > 1)}"),
    ]
    print("\n| measure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    ok = distinct == total == requests
    print(f"\n{'OK' if ok else 'PROBLEM'}: every message {'once' if ok else 'NOT exactly once'}.")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
