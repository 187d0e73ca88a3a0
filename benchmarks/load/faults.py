"""Faults: a Celery worker killed during a duty-sheet build, Redis killed during a publish.

    python -m benchmarks.load.faults [--planner-seconds 8] [--visibility-timeout 15]

Everything is private to the run: a database of its own (escort_portal_faults, or
BENCH_FAULTS_DATABASE_URL) loaded with the demo data, a redis-server of its own on a free port
of 127.0.0.1, a local SMS/WhatsApp gateway that counts what it receives, and real worker
processes (`benchmarks.load.worker`). This script plays the duty officer and the beat.

1. Worker killed during a build. The officer rebuilds tomorrow's sheet (the planner has
   `--planner-seconds`); once the worker is planning, its whole process group gets SIGKILL.
   The officer presses rebuild again at once (inside the grace, so it must return the same
   version, not start a second build). A new worker starts; the broker hands it the build task
   the dead worker never acknowledged (`acks_late`) once the visibility timeout has passed, and
   it builds the same version. Check: one version for the date, built, every entry of the
   roster on exactly one run or uncovered.
2. Redis killed during a publish. The officer publishes the sheet; Redis gets SIGKILL inside
   the publish transaction, just before the commit, so the on-commit delivery tasks cannot be
   queued. Redis starts again (empty) on the same port; the sweeper runs every few seconds, as
   beat would. Check: every SMS and WhatsApp message of the publish reached the gateway exactly
   once, and every outgoing row is SENT after one attempt.

Prints a Markdown table and exits non-zero when a check fails. Stops everything it started.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import random
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

from benchmarks.notifications.run import environment, free_port
from benchmarks.rosters import random_entry

DATABASE_URL = os.environ.get(
    "BENCH_FAULTS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/escort_portal_faults"
)
QUEUE = "bench_faults"
STATION = "kharagpur-town"
OFFICER = f"{STATION}-duty"
SWEEP_GRACE_SECONDS = 3
BASE_DIR = Path(__file__).resolve().parents[2]


# --- The local gateway: counts each message it receives ---


class Gateway(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), GatewayHandler)
        self.lock = threading.Lock()
        self.received: Counter = Counter()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def reset(self) -> None:
        with self.lock:
            self.received.clear()


class GatewayHandler(BaseHTTPRequestHandler):
    server: Gateway

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        body = json.loads(raw)
        if self.path == "/sms":
            key = ("sms", body["reference"])  # "<schema>-<message id>"
            answer = {"id": f"sms-{body['reference']}"}
        else:
            key = ("whatsapp", raw.decode())  # recipient, template and its parameters
            answer = {"messages": [{"id": f"wamid.{len(self.server.received)}"}]}
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


# --- Processes of the run ---


class Redis:
    """A redis-server of the run's own, on one port, that can be killed and started again."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--bind", "127.0.0.1", "--port", str(self.port)),
                *("--save", "", "--appendonly", "no", "--dir", self.directory),
            ],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(200):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def start_worker(env: dict[str, str], name: str) -> subprocess.Popen:
    # A process group of its own, so SIGKILL to the group takes the pool processes too, as a
    # machine or container dying would.
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.load.worker",
            "--pool=prefork",
            "--concurrency=2",
            "--without-mingle",
            "--without-gossip",
            f"--hostname={name}@%h",
            "--loglevel=ERROR",
        ],
        env={**os.environ, **env},
        cwd=BASE_DIR,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill_worker(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def stop_worker(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        kill_worker(process)


def wait_for_worker(since: datetime.datetime, timeout: float = 60) -> None:
    """A worker runs the heartbeat job as soon as it is ready."""
    from stations.models import WorkerHeartbeat

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if WorkerHeartbeat.objects.filter(schema_name="public", seen_at__gte=since).exists():
            return
        time.sleep(0.1)
    raise RuntimeError("The worker did not start")


def wait_until(check, timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()


# --- Database ---


def prepare(planner_seconds: int, entries: int, teams: int) -> tuple[object, object, datetime.date]:
    from escort_portal.devservices import ensure_database

    ensure_database(DATABASE_URL)
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from escorts.models import DutySheet
    from notifications.models import ChannelPreference, Message
    from stations.models import Station, StationRole, User

    call_command("migrate_schemas", verbosity=0)
    call_command("seed_demo", stdout=io.StringIO())
    Station.objects.filter(slug=STATION).update(planner_seconds=planner_seconds)
    station = Station.objects.get(slug=STATION)
    officer = User.objects.get(username=OFFICER)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with tenant_context(station):
        fill_station(station, entries, teams, tomorrow)
        # A run starts from no sheet and no message, so it can be repeated on the same database.
        DutySheet.objects.filter(date=tomorrow).delete()
        Message.objects.all().delete()
        for user_id in StationRole.objects.filter(station=station).values_list("user", flat=True):
            ChannelPreference.objects.update_or_create(
                user_id=user_id, defaults={"sms": True, "whatsapp": True, "email": False}
            )
    return station, officer, tomorrow


def fill_station(station, entries: int, teams: int, date: datetime.date) -> None:
    """Enough trips and teams on top of the demo data that the planner uses its whole budget
    (the demo's two dozen entries are planned in a fraction of a second)."""
    from django.utils import timezone

    from escorts.models import EscortTeam, Officer
    from lenders.models import (
        BranchMember,
        CollectionArea,
        FieldAgent,
        LenderBranch,
        Roster,
        RosterEntry,
    )
    from stations.models import StationRole, User

    rng = random.Random(8)
    manager, _ = User.objects.get_or_create(
        username="fault-manager", defaults={"first_name": "Fault", "phone": "+919830012345"}
    )
    StationRole.objects.get_or_create(user=manager, station=station, defaults={"role": "lender"})
    branch, _ = LenderBranch.objects.get_or_create(
        lender_name="Fault Bench Finance",
        branch_name="Town",
        defaults={
            "kind": "mfi",
            "address": "Main Road",
            "manager_name": "Fault",
            "manager_phone": "+919830012345",
            "status": LenderBranch.Status.APPROVED,
            "decided_at": timezone.now(),
        },
    )
    BranchMember.objects.get_or_create(branch=branch, user=manager, defaults={"role": "manager"})
    have = FieldAgent.objects.filter(branch=branch).count()
    FieldAgent.objects.bulk_create(
        FieldAgent(branch=branch, name=f"Agent {n}", employee_id=f"F{n:04d}", phone="+919830000001")
        for n in range(have, entries)
    )
    roster, _ = Roster.objects.get_or_create(
        branch=branch, date=date, defaults={"status": Roster.Status.FILED, "filed_by": manager}
    )
    if not roster.entries.exists():
        areas = list(CollectionArea.objects.filter(status=CollectionArea.Status.ACTIVE))
        RosterEntry.objects.bulk_create(
            [
                random_entry(rng, roster, agent, areas, manager, earliest=8 * 60, stop=14 * 60)
                for agent in FieldAgent.objects.filter(branch=branch).order_by("pk")[:entries]
            ]
        )
    for n in range(EscortTeam.objects.filter(name__startswith="Fault ").count(), teams):
        leader = Officer.objects.create(name=f"Fault leader {n}", rank="si", phone="+919830000002")
        EscortTeam.objects.create(
            name=f"Fault {n}",
            leader=leader,
            base_latitude=station.latitude,
            base_longitude=station.longitude,
        )


# --- 1. A worker killed during a build ---


def worker_killed_during_build(
    env: dict[str, str], workers: list[subprocess.Popen], station, officer, date: datetime.date
) -> tuple[list[tuple[str, str]], bool]:
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from escorts import services
    from escorts.models import DutySheet, EscortRun, RunEntry, UncoveredEntry
    from lenders.models import RosterEntry

    since = timezone.now()
    first = start_worker(env, "build1")
    workers.append(first)
    wait_for_worker(since)
    with tenant_context(station):
        sheet = services.duty_sheet_rebuild(date=date, by=officer)
        planning = wait_until(
            lambda: DutySheet.objects.get(pk=sheet.pk).build_stage == "planning", timeout=30
        )
        time.sleep(1.0)  # well inside the planner's budget
        kill_worker(first)
        killed_at = time.monotonic()
        at_kill = DutySheet.objects.get(pk=sheet.pk)
        # The officer sees the build hang and presses rebuild: inside the grace it must be the
        # same version, not a second build.
        again = services.duty_sheet_rebuild(date=date, by=officer)

        since = timezone.now()
        second = start_worker(env, "build2")
        workers.append(second)
        wait_for_worker(since)
        restarted_at = time.monotonic()
        done = wait_until(
            lambda: DutySheet.objects.get(pk=sheet.pk).build_status != DutySheet.Build.RUNNING,
            timeout=90,
            step=0.25,
        )
        built_at = time.monotonic()
        sheets = list(DutySheet.objects.filter(date=date).order_by("version"))
        built = DutySheet.objects.get(pk=sheet.pk)
        entries = RosterEntry.objects.filter(roster__date=date).count()
        placed = Counter(RunEntry.objects.filter(sheet=built).values_list("entry_id", flat=True))
        uncovered = UncoveredEntry.objects.filter(sheet=built).count()
        runs = EscortRun.objects.filter(sheet=built).count()
    ok = (
        planning
        and at_kill.build_status == DutySheet.Build.RUNNING
        and again.pk == sheet.pk
        and done
        and len(sheets) == 1
        and built.build_status == DutySheet.Build.DONE
        and all(n == 1 for n in placed.values())
        and len(placed) + uncovered == entries
    )
    rows = [
        ("roster entries for the date / planner budget", f"{entries} / {built.build_seconds} s"),
        ("build stage when the worker got SIGKILL", at_kill.build_stage or "-"),
        (
            "officer's rebuild right after the kill",
            "same version" if again.pk == sheet.pk else f"new version {again.version}",
        ),
        ("kill to new worker ready", f"{restarted_at - killed_at:.1f} s"),
        ("kill to sheet built (redelivered task)", f"{built_at - killed_at:.1f} s"),
        (
            "sheet versions for the date",
            ", ".join(f"v{s.version} {s.status}/{s.build_status}" for s in sheets),
        ),
        ("runs / entries on a run / uncovered", f"{runs} / {sum(placed.values())} / {uncovered}"),
        ("entries on more than one run", f"{sum(1 for n in placed.values() if n > 1)}"),
    ]
    return rows, ok


# --- 2. Redis killed during a publish ---


def redis_killed_during_publish(
    redis: Redis, gateway: Gateway, station, officer, date: datetime.date
) -> tuple[list[tuple[str, str]], bool]:
    from django.db import transaction
    from django_tenants.utils import tenant_context

    from escorts import services
    from escorts.models import DutySheet
    from notifications.models import Channel, Message
    from notifications.tasks import message_sweep_all_stations

    with tenant_context(station):
        # The build's own messages (draft ready) are out before the count starts.
        wait_until(
            lambda: not Message.objects.filter(status__in=["pending", "sending"]).exists(), 30
        )
        gateway.reset()
        began = time.monotonic()
        with transaction.atomic():
            sheet = services.duty_sheet_publish(date=date, by=officer)
            redis.kill()  # the commit (and its on-commit queueing) happens with Redis gone
            killed = time.monotonic()
        published_in, committed_in = killed - began, time.monotonic() - killed
        outgoing = Message.objects.filter(
            kind="sheet_published", event__startswith=f"sheet_published:{sheet.pk}:"
        ).exclude(channel=Channel.IN_APP)
        total = outgoing.count()
        pending_after_publish = outgoing.filter(status=Message.Status.PENDING).count()
        received_while_down = sum(gateway.received.values())

        time.sleep(2.0)  # down for a while; the worker keeps trying to reconnect
        redis.start()
        back_at = time.monotonic()

        def sweep_until_sent() -> bool:
            # What beat does every NOTIFICATIONS_SWEEP_SECONDS; a fresh broker connection each
            # time, as the restarted Redis knows no queue.
            with message_sweep_all_stations.app.connection_for_write() as broker:
                message_sweep_all_stations.apply_async(connection=broker)
            return wait_until(
                lambda: not outgoing.exclude(status=Message.Status.SENT).exists(), timeout=3
            )

        delivered = wait_until(sweep_until_sent, timeout=60, step=0)
        delivered_at = time.monotonic()
        # Two more sweeps, then a pause: anything sent twice would arrive now.
        for _ in range(2):
            sweep_until_sent()
        time.sleep(2.0)
        statuses = Counter(outgoing.values_list("status", flat=True))
        attempts = Counter(outgoing.values_list("attempts", flat=True))
        channels = Counter(outgoing.values_list("channel", flat=True))
        published = DutySheet.objects.get(pk=sheet.pk).status == DutySheet.Status.PUBLISHED
    received = gateway.received
    requests = sum(received.values())
    doubled = sum(1 for n in received.values() if n > 1)
    ok = (
        published
        and total > 0
        and delivered
        and statuses.get(Message.Status.SENT, 0) == total
        and requests == len(received) == total
        and doubled == 0
    )
    rows = [
        (
            "publish, Redis killed, then commit",
            f"{'published' if published else 'NOT published'}: service {published_in:.2f} s"
            f" (with the kill), commit and failed queueing {committed_in:.2f} s",
        ),
        (
            "SMS + WhatsApp messages of the publish",
            f"{channels.get('sms', 0)} + {channels.get('whatsapp', 0)} = {total}",
        ),
        (
            "pending after the publish / received while down",
            f"{pending_after_publish} / {received_while_down}",
        ),
        ("Redis back to every message sent", f"{delivered_at - back_at:.1f} s"),
        ("rows SENT / other", f"{statuses.get('sent', 0)} / {total - statuses.get('sent', 0)}"),
        ("attempts per message", ", ".join(f"{k}: {v}" for k, v in sorted(attempts.items()))),
        ("gateway requests / distinct messages", f"{requests} / {len(received)}"),
        ("lost / doubled", f"{total - len(received)} / {doubled}"),
    ]
    return rows, ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--planner-seconds", type=int, default=8)
    parser.add_argument("--entries", type=int, default=300, help="trips added for tomorrow")
    parser.add_argument("--teams", type=int, default=20, help="escort teams added")
    parser.add_argument(
        "--visibility-timeout",
        type=int,
        default=15,
        help="seconds before the broker hands an unacknowledged task out again (settings: 3600)",
    )
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        sys.exit("redis-server is needed (Debian: apt-get install redis-server)")

    started = time.monotonic()
    gateway = Gateway()
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    directory = tempfile.mkdtemp(prefix="bench-faults-")
    redis = Redis(directory)
    redis.start()
    env = environment(gateway, redis.url)
    env.update(
        {
            "DATABASE_URL": DATABASE_URL,
            "REDIS_URL": redis.url,
            "CACHE_URL": f"redis://127.0.0.1:{redis.port}/1",
            "CELERY_TASK_DEFAULT_QUEUE": QUEUE,
            "SMS_DLT_TEMPLATE_IDS": "sheet_published.en=1107000000000000401,"
            "sheet_published.bn=1107000000000000402,draft_ready.en=1107000000000000403,"
            "draft_ready.bn=1107000000000000404",
            "NOTIFICATIONS_SWEEP_GRACE_SECONDS": str(SWEEP_GRACE_SECONDS),
            "BENCH_VISIBILITY_TIMEOUT": str(args.visibility_timeout),
            "LOG_LEVEL": "ERROR",
        }
    )
    os.environ.update(env)
    workers: list[subprocess.Popen] = []
    build_rows: list[tuple[str, str]] = []
    try:
        station, officer, tomorrow = prepare(args.planner_seconds, args.entries, args.teams)
        build_rows, build_ok = worker_killed_during_build(env, workers, station, officer, tomorrow)
        publish_rows, publish_ok = [("skipped", "no built draft to publish")], False
        if build_ok:
            publish_rows, publish_ok = redis_killed_during_publish(
                redis, gateway, station, officer, tomorrow
            )
    finally:
        for worker in workers:
            stop_worker(worker)
        redis.stop()
        gateway.shutdown()
        shutil.rmtree(directory, ignore_errors=True)

    elapsed = time.monotonic() - started
    print(
        f"Faults at {STATION} for {tomorrow}: visibility timeout {args.visibility_timeout} s, "
        f"sweep grace {SWEEP_GRACE_SECONDS} s, {elapsed:.0f} s in all, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print("\n| fault | measure | value |\n|---|---|---|")
    for name, rows in (
        ("worker SIGKILL during build", build_rows),
        ("Redis SIGKILL during publish", publish_rows),
    ):
        for measure, value in rows:
            print(f"| {name} | {measure} | {value} |")
    print(
        f"\nworker killed during a build: {'OK, one version built' if build_ok else 'PROBLEM'}"
        f"\nRedis killed during a publish: "
        f"{'OK, every message once' if publish_ok else 'PROBLEM'}"
    )
    sys.exit(0 if build_ok and publish_ok else 1)


if __name__ == "__main__":
    main()
