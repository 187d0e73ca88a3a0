"""A whole morning run from WhatsApp alone, against a running portal and a fake Graph API.

    python -m benchmarks.chat.morning

Starts a portal of its own (a database of its own, escort_portal_morning or
BENCH_MORNING_DATABASE_URL; a private redis-server; gunicorn, a Celery worker and beat) with its
clock at 07:15 of today, running on at the real pace (benchmarks.chat.clocked), and a fake
Graph API on 127.0.0.1 that keeps every message the portal sends. A new station (cut-off
07:20) gets a duty officer, an escort team whose leader has a login, and a lender branch with a
manager, a field agent with a login, another agent and a deactivated one, and yesterday's
roster. Then, as the people would:

1. the manager, the leader and the agent each sign in once, get a code on "WhatsApp and SMS"
   and send it from their phone on WhatsApp (linked, and opted in);
2. the roster reminder reaches the manager with "Same as last time": a tap copies yesterday's
   trips and the reply says which trip was not copied and why; STATUS says the plan comes after
   the cut-off;
3. at 07:20 the minute job builds the draft; the duty officer publishes it on the page (the
   only step not in a chat: the desk's own work);
4. the leader's published-run message carries Acknowledge: tap, then Start, Check in, a shared
   location (a check-in with the team's position), Complete and "All reached" from the replies'
   buttons; the manager and the agent ask STATUS and get their
   escort; the agent shares a location, which raises an SOS for the trip;
5. WhatsApp's delivered and read callbacks come back for every template sent.

Prints the conversation and what the portal's database says afterwards; exits non-zero if a
step did not happen.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import http.client
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import time_machine

from benchmarks.notifications.run import free_port, start_redis, stop

DATABASE_URL = os.environ.get(
    "BENCH_MORNING_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/escort_portal_morning"
)
BASE_DIR = Path(__file__).resolve().parents[2]
SECRET = "morning-app-secret"
PASSWORD = "morning-walk-1"
IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
TAG = f"{int(time.time()) % 100000}"
SLUG = f"morning-{TAG}"
LEADER, MANAGER, AGENT = "+919434100001", "+919800300001", "+919800300002"
FAKE_START = datetime.datetime.combine(datetime.date.today(), datetime.time(7, 15), tzinfo=IST)
# time-machine moves time.time(), not time.monotonic(): the script's own stopwatch.
REAL_START = time.monotonic()


def fake_now() -> datetime.datetime:
    return FAKE_START + datetime.timedelta(seconds=time.monotonic() - REAL_START)


# --- The fake Graph API ---


class Graph(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), GraphHandler)
        self.lock = threading.Lock()
        self.sent: list[dict] = []
        self.count = itertools.count(1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def to(self, number: str) -> list[dict]:
        with self.lock:
            return [body for body in self.sent if body["to"] == number.lstrip("+")]


class GraphHandler(BaseHTTPRequestHandler):
    server: Graph

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            body["_id"] = f"wamid.morning.{next(self.server.count)}"
            self.server.sent.append(body)
        data = json.dumps({"messages": [{"id": body["_id"]}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


def text_of(body: dict) -> str:
    if body["type"] == "text":
        return body["text"]["body"]
    if body["type"] == "interactive":
        return body["interactive"]["body"]["text"]
    parameters = body["template"]["components"][0]["parameters"]
    return f"[template {body['template']['name']}] " + " | ".join(p["text"] for p in parameters)


def buttons_of(body: dict) -> dict[str, str]:
    if body["type"] == "template":
        return {
            f"button {c['index']}": c["parameters"][0].get("payload", "")
            for c in body["template"]["components"]
            if c["type"] == "button" and c["sub_type"] == "quick_reply"
        }
    interactive = body.get("interactive") or {}
    if interactive.get("type") == "button":
        return {b["reply"]["title"]: b["reply"]["id"] for b in interactive["action"]["buttons"]}
    return {}


# --- The portal ---


def environment(graph: Graph, broker_url: str) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "escort_portal.settings.local",
        "DEBUG": "false",
        "OTP_REQUIRED": "false",
        "DATABASE_URL": DATABASE_URL,
        "CELERY_BROKER_URL": broker_url,
        "REDIS_URL": broker_url,
        "CACHE_URL": broker_url,
        "CELERY_TASK_DEFAULT_QUEUE": "morning",
        "WHATSAPP_API_URL": f"{graph.url}/wa",
        "WHATSAPP_PHONE_NUMBER_ID": "100000000000001",
        "WHATSAPP_TOKEN": "morning-token",
        "WHATSAPP_APP_SECRET": SECRET,
        "WHATSAPP_BUSINESS_NUMBER": "+919800000000",
        "SMS_GATEWAY_URL": "",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": "http://127.0.0.1",
    }


def clocked(env: dict[str, str], *command: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks.chat.clocked", fake_now().isoformat(), *command],
        env={**os.environ, **env},
        cwd=BASE_DIR,
    )


class Browser:
    """A person's browser: cookies, CSRF tokens and the forms' one-time submission tokens."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, fields: dict | None = None) -> tuple[int, str, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if fields is not None:
            body = urlencode(fields)
            headers |= {
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"http://127.0.0.1:{self.port}{path}",
            }
        connection.request(method, path, body, headers)
        answer = connection.getresponse()
        for header in answer.msg.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        text = answer.read().decode()
        return answer.status, answer.getheader("Location") or "", text

    def form(self, path: str, *, page: str = "", **fields: str) -> tuple[int, str, str]:
        """Open the page the form is on (`page`, else `path` itself), then post the form."""
        _status, _location, page = self.request("GET", page or path)
        hidden = dict(
            re.findall(
                r'name="(csrfmiddlewaretoken|submission_token|revision)" value="([^"]+)"', page
            )
        )
        return self.request("POST", path, {**hidden, **fields})

    def sign_in(self, username: str) -> None:
        status, _location, _page = self.form(
            "/accounts/login/", username=username, password=PASSWORD
        )
        assert status == 302, f"{username} could not sign in"


# --- A phone ---


class Phone:
    serial = itertools.count(1)

    def __init__(self, who: str, number: str, port: int, graph: Graph, log: list) -> None:
        self.who, self.number, self.port, self.graph, self.log = who, number, port, graph, log

    def _post(self, message: dict) -> None:
        wa_id = self.number.lstrip("+")
        message = {
            "from": wa_id,
            "id": f"wamid.morning.in.{TAG}.{next(self.serial)}",
            "timestamp": str(int(time.time())),
            **message,
        }
        value = {"messaging_product": "whatsapp", "messages": [message]}
        self.webhook(
            {
                "object": "whatsapp_business_account",
                "entry": [{"changes": [{"field": "messages", "value": value}]}],
            }
        )

    def webhook(self, data: dict) -> None:
        body = json.dumps(data).encode()
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        connection.request(
            "POST",
            "/chat/whatsapp/webhook/",
            body,
            {"Content-Type": "application/json", "X-Hub-Signature-256": signature},
        )
        assert connection.getresponse().status == 200

    def _said(self, what: str) -> None:
        self.log.append((fake_now(), self.who, what, None))

    def _answer(self, before: int, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sent = self.graph.to(self.number)
            if len(sent) > before:
                reply = sent[before]
                self.log.append((fake_now(), "portal", text_of(reply), self.who))
                return reply
            time.sleep(0.1)
        raise AssertionError(f"no answer to {self.who} within {timeout:.0f} s")

    def text(self, text: str) -> dict:
        before = len(self.graph.to(self.number))
        self._said(f'"{text}"')
        self._post({"type": "text", "text": {"body": text}})
        return self._answer(before)

    def tap(self, payload: str, title: str, *, template: bool = False) -> dict:
        before = len(self.graph.to(self.number))
        self._said(f"taps [{title}]")
        if template:
            self._post({"type": "button", "button": {"payload": payload, "text": title}})
        else:
            reply = {"id": payload, "title": title}
            self._post(
                {
                    "type": "interactive",
                    "interactive": {"type": "button_reply", "button_reply": reply},
                }
            )
        return self._answer(before)

    def location(self, latitude: float, longitude: float) -> dict:
        before = len(self.graph.to(self.number))
        self._said(f"shares a location ({latitude}, {longitude})")
        self._post({"type": "location", "location": {"latitude": latitude, "longitude": longitude}})
        return self._answer(before)

    def wait_for_template(self, name: str, timeout: float = 180) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for body in self.graph.to(self.number):
                if body["type"] == "template" and body["template"]["name"] == name:
                    self.log.append((fake_now(), "portal", text_of(body), self.who))
                    return body
            time.sleep(0.5)
        raise AssertionError(f"{self.who} got no {name} within {timeout:.0f} s")


# --- The station and its people, as an admin and the branch would have set them up ---


def prepare() -> None:
    from escort_portal.devservices import ensure_database

    ensure_database(DATABASE_URL)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate_schemas", verbosity=0)


def set_up() -> dict:
    from django_tenants.utils import tenant_context

    from escorts.models import EscortTeam, Officer
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
    from stations.models import StationRole, Subdivision, User

    subdivision, _ = Subdivision.objects.get_or_create(
        name="Morning walk", defaults={"district": "Paschim Medinipur"}
    )
    station = services.station_create(
        slug=SLUG, name="Morning Town", subdivision=subdivision, phone="+913222000000",
        latitude=22.33, longitude=87.32, roster_cutoff=datetime.time(7, 20),
    )  # fmt: skip
    station.planner_seconds = 3
    station.save(update_fields=["planner_seconds"])

    def person(role: str, name: str, phone: str = "") -> User:
        user = User.objects.create_user(
            username=f"{role}-{TAG}", password=PASSWORD, first_name=name, phone=phone
        )
        station_role = "lender" if role in ("manager", "agent") else role
        StationRole.objects.create(user=user, station=station, role=station_role)
        return user

    people = {
        "duty": person("duty", "Duty officer"),
        "leader": person("escort", "Tapas Maity", LEADER),
        "manager": person("manager", "Mita Ghosh", MANAGER),
        "agent": person("agent", "Arup Bag", AGENT),
    }
    yesterday = FAKE_START.date() - datetime.timedelta(days=1)
    with tenant_context(station):
        officer = Officer.objects.create(
            name="Tapas Maity", rank="asi", phone=LEADER, user=people["leader"]
        )
        EscortTeam.objects.create(
            name="Mobile 1", leader=officer, capacity=4, shift_start=datetime.time(6),
            shift_end=datetime.time(17), base_latitude=22.33, base_longitude=87.32,
        )  # fmt: skip
        area = CollectionArea.objects.create(name="Malancha", latitude=22.36, longitude=87.35)
        branch = LenderBranch.objects.create(
            lender_name="Bandhan", branch_name="Morning Town", kind="mfi", address="Station road",
            manager_name="Mita Ghosh", manager_phone=MANAGER, status="approved",
        )  # fmt: skip
        BranchMember.objects.create(branch=branch, user=people["manager"], role="manager")
        agents = [
            FieldAgent.objects.create(branch=branch, name=name, employee_id=f"E{n}", phone=phone)
            for n, (name, phone) in enumerate(
                [
                    ("Arup Bag", AGENT),
                    ("Sujit Das", "+919800300003"),
                    ("Bikash Jana", "+919800300004"),
                ]
            )
        ]
        BranchMember.objects.create(
            branch=branch, user=people["agent"], role="agent", agent=agents[0]
        )
        roster = Roster.objects.create(branch=branch, date=yesterday, status="locked")
        for agent, (start, end) in zip(agents, [(8, 10), (8, 11), (9, 11)], strict=True):
            RosterEntry.objects.create(
                roster=roster, agent=agent, area=area, depart_at=datetime.time(start),
                return_at=datetime.time(end), cash_band=CashBand.FROM_1L_TO_2L,
            )  # fmt: skip
        agents[2].active = False  # left the branch since yesterday
        agents[2].save()
    return {"station": station, **people}


def wait(condition: Callable[[], bool], what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen within {timeout:.0f} s")


def link(browser: Browser, phone: Phone) -> None:
    """The person gets a code on their page and sends it from WhatsApp, as the page says."""
    _status, _location, page = browser.form("/chat/phone/code/", page="/chat/phone/")
    code = re.search(r"data-link-code>(\d{4} \d{4})<", page).group(1)
    reply = phone.text(
        f"Escort Portal code {code}: I agree to get escort messages from Escort Portal on WhatsApp."
    )
    assert "now linked" in text_of(reply)


def morning(
    port: int, graph: Graph, people: dict, log: list, start_beat: Callable[[], None]
) -> None:
    from django_tenants.utils import tenant_context

    from escorts.models import DutySheet

    station = people["station"]
    leader = Phone("Tapas (escort leader)", LEADER, port, graph, log)
    manager = Phone("Mita (branch manager)", MANAGER, port, graph, log)
    agent = Phone("Arup (field agent)", AGENT, port, graph, log)
    for role, phone in (("escort", leader), ("manager", manager), ("agent", agent)):
        browser = Browser(port)
        browser.sign_in(f"{role}-{TAG}")
        link(browser, phone)
    start_beat()

    reminder = manager.wait_for_template("roster_reminder_actions")
    copied = manager.tap(buttons_of(reminder)["button 0"], "Same as last time", template=True)
    assert "2 trips copied, 1 not copied" in text_of(copied), text_of(copied)
    assert "trips filed for" in text_of(manager.text("STATUS"))

    def drafted() -> bool:
        with tenant_context(station):
            return DutySheet.objects.filter(
                date=FAKE_START.date(), build_status__in=["done", "copied"]
            ).exists()

    wait(drafted, "the draft at the 07:20 cut-off", timeout=420)
    duty = Browser(port)
    duty.sign_in(f"duty-{TAG}")
    log.append((fake_now(), "Duty officer", "publishes the sheet on the page", None))
    status, _location, _page = duty.form(
        f"/station/{SLUG}/escorts/sheet/{FAKE_START.date()}/publish/"
    )
    assert status == 302, "publish failed"

    published = leader.wait_for_template("sheet_published_actions")
    reply = leader.tap(buttons_of(published)["button 0"], "Acknowledge", template=True)
    reply = leader.tap(buttons_of(reply)["Start"], "Start")
    reply = leader.tap(buttons_of(reply)["Check in"], "Check in")
    assert "checked in" in text_of(reply).lower(), "the check-in was not confirmed"
    manager.wait_for_template("sheet_published")
    manager.text("STATUS")
    agent.wait_for_template("sheet_published")
    agent.text("STATUS")
    sos = agent.location(22.3612, 87.3504)
    assert "SOS" in text_of(sos)
    # The leader's shared location is a check-in with the team's position, not an SOS.
    reply = leader.location(22.3598, 87.3521)
    assert "checked in" in text_of(reply).lower(), "the leader's location was not a check-in"
    reply = leader.tap(buttons_of(reply)["Complete"], "Complete")
    reply = leader.tap(buttons_of(reply)["All reached"], "All reached")
    assert "completed" in text_of(reply)

    # WhatsApp's callbacks for every template the portal sent.
    for body in list(graph.sent):
        if body["type"] != "template":
            continue
        for status in ("delivered", "read"):
            report = {
                "id": body["_id"],
                "status": status,
                "timestamp": str(int(time.time())),
                "recipient_id": body["to"],
                "biz_opaque_callback_data": body["biz_opaque_callback_data"],
            }
            leader.webhook(
                {
                    "object": "whatsapp_business_account",
                    "entry": [
                        {"changes": [{"field": "messages", "value": {"statuses": [report]}}]}
                    ],
                }
            )


def facts(people: dict) -> list[tuple[str, str]]:
    from django_tenants.utils import tenant_context

    from escorts.models import DutySheet, EscortRun
    from incidents.models import SosAlert
    from lenders.models import Roster
    from notifications.models import Message

    station = people["station"]
    today = FAKE_START.date()
    with tenant_context(station):
        roster = Roster.objects.get(date=today)
        sheet = DutySheet.objects.get(date=today, status="published")
        runs = list(EscortRun.objects.filter(sheet=sheet).select_related("status_changed_by"))
        alert = SosAlert.objects.select_related("raised_by").first()
        whatsapp = Message.objects.filter(channel="whatsapp")
        events = EscortRun.pgh_event_model.objects.filter(pgh_context__chat="whatsapp").count()
        return [
            (
                "today's roster",
                f"{roster.entries.count()} trips, filed by {roster.filed_by.first_name}",
            ),
            ("sheet", f"v{sheet.version} published"),
            (
                "runs",
                "; ".join(
                    f"R{r.pk} {r.status} by {getattr(r.status_changed_by, 'first_name', '-')}"
                    for r in runs
                ),
            ),
            (
                "SOS",
                f"SOS-{alert.pk} by {alert.raised_by.first_name}"
                f" at {alert.latitude}, {alert.longitude}"
                if alert
                else "none",
            ),
            (
                "WhatsApp templates sent / read on the phone",
                f"{whatsapp.filter(status='sent').count()}"
                f" / {whatsapp.filter(seen_at__isnull=False).count()}",
            ),
            ("run changes in the audit trail through WhatsApp", str(events)),
        ]


def main() -> None:
    if shutil.which("redis-server") is None:
        sys.exit("redis-server is needed (Debian: apt-get install redis-server)")
    traveller = time_machine.travel(FAKE_START, tick=True)
    traveller.start()
    graph = Graph()
    threading.Thread(target=graph.serve_forever, daemon=True).start()
    directory = tempfile.mkdtemp(prefix="morning-")
    redis_process, broker_url = start_redis(directory)
    env = environment(graph, broker_url)
    os.environ.update(env)
    processes = [redis_process]
    port = free_port()
    log: list = []
    ok = False
    try:
        prepare()
        people = set_up()
        processes.append(
            clocked(
                env,
                "gunicorn",
                "escort_portal.wsgi:application",
                "--workers=2",
                f"--bind=127.0.0.1:{port}",
                "--log-level=warning",
            )
        )
        processes.append(
            clocked(
                env,
                "celery",
                "-A",
                "escort_portal",
                "worker",
                "--pool=prefork",
                "--concurrency=2",
                "--without-mingle",
                "--without-gossip",
                "--loglevel=WARNING",
            )
        )
        beat_dir = Path(directory)

        def start_beat() -> None:
            processes.append(
                clocked(
                    env,
                    "celery",
                    "-A",
                    "escort_portal",
                    "beat",
                    "--loglevel=WARNING",
                    f"--schedule={beat_dir / 'beat'}",
                )
            )

        wait(lambda: _answers(port), "gunicorn", timeout=60)
        morning(port, graph, people, log, start_beat)
        time.sleep(3)  # the callbacks' jobs
        ok = True
    finally:
        stop(processes[1:])
        stop(processes[:1])
        graph.shutdown()
        shutil.rmtree(directory, ignore_errors=True)
        print(f"\n## The morning of {FAKE_START:%d %b %Y} at {SLUG}, from WhatsApp\n")
        for moment, who, what, to in log:
            if to is None:
                print(f"- {moment:%H:%M:%S} **{who}**: {what}")
            else:
                print(f"  - portal → {to}: {what.replace(chr(10), ' / ')}")
    if ok:
        print("\n| afterwards | |\n|---|---|")
        for name, value in facts(people):
            print(f"| {name} | {value} |")
    print(f"\n{'OK' if ok else 'PROBLEM'}: the morning ran from chat messages alone.")
    sys.exit(0 if ok else 1)


def _answers(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/healthz")
        connection.getresponse().read()
        return True
    except OSError:
        return False


if __name__ == "__main__":
    main()
