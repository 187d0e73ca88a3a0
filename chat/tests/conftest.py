"""Phones writing to the portal: recorded webhook payloads, signed as Meta signs them, posted
to the real webhook; a local fake of the Graph API and of the SMS gateway that answers like
them and keeps what the portal sent; and a morning at Debra with a team leader, a lender
manager and a field agent whose phones are linked."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import itertools
import json
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from chat import replies
from escort_portal.celery import app
from escorts import services as escort_services
from escorts.models import DutySheet, EscortRun, RunEntry
from escorts.tests.factories import OfficerFactory, TeamFactory
from lenders.models import CashBand
from lenders.tests.factories import (
    AgentFactory,
    AreaFactory,
    BranchFactory,
    EntryFactory,
    MemberFactory,
)
from notifications.tests.conftest import broker, committed  # noqa: F401 - shared fixtures
from notifications.tests.samples import DLT_IDS
from stations.models import ChatContact, Station, StationRole
from stations.tests.factories import StationRoleFactory, UserFactory

PAYLOADS = Path(__file__).resolve().parent / "payloads"
WEBHOOK = "/chat/whatsapp/webhook/"
SMS_INBOUND = "/chat/sms/inbound/"
GRAPH_MESSAGES = "/wa/100000000000001/messages"

IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
TODAY = datetime.date(2026, 12, 1)
# Before the 08:30 cut-off: branches still file for today.
EARLY = datetime.datetime(2026, 12, 1, 7, 45, tzinfo=IST)
# After it: the sheet is published and the escorts are out.
MORNING = datetime.datetime(2026, 12, 1, 9, 30, tzinfo=IST)

# A DLT template id for every SMS reply, as a real sender would have registered them.
CHAT_DLT_IDS = {
    f"{kind}.{language}": f"11070000000009{index:02d}{language_index}"
    for index, kind in enumerate(sorted(set(replies.KINDS) - replies.WHATSAPP_ONLY))
    for language_index, language in enumerate(("en", "bn"))
}

_ids = itertools.count(1)


def payload(recorded: str, **values: object) -> bytes:
    """A recorded payload with this test's values in it (strings JSON-escaped)."""
    text = string.Template((PAYLOADS / f"{recorded}.json").read_text())
    escaped = {
        key: json.dumps(value, ensure_ascii=False)[1:-1] if isinstance(value, str) else value
        for key, value in values.items()
    }
    return text.substitute(escaped).encode()


def signature(body: bytes, secret: str | None = None) -> str:
    secret = settings.WHATSAPP_APP_SECRET if secret is None else secret
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_signed(client: Client, body: bytes, *, secret: str | None = None):
    return client.post(
        WEBHOOK,
        body,
        content_type="application/json",
        headers={"X-Hub-Signature-256": signature(body, secret)},
    )


class Phone:
    """A person's phone writing to the portal's WhatsApp number."""

    def __init__(self, client: Client, number: str, name: str = "") -> None:
        self.client = client
        self.number = number
        self.name = name or "Someone"
        self.last_id = ""

    @property
    def wa_id(self) -> str:
        return self.number.lstrip("+")

    def body(self, kind: str, **values: object) -> bytes:
        self.last_id = f"wamid.HBgM{self.wa_id}{next(_ids):06d}"
        return payload(
            kind,
            wa_id=self.wa_id,
            name=self.name,
            id=self.last_id,
            timestamp=str(int(timezone.now().timestamp())),
            **values,
        )

    def send(self, kind: str, **values: object):
        return post_signed(self.client, self.body(kind, **values))

    def text(self, text: str):
        return self.send("text", text=text)

    def tap_template(self, payload: str, title: str):
        return self.send("button", payload=payload, text=title)

    def tap(self, button_id: str, title: str = "tapped"):
        return self.send("button_reply", payload=button_id, text=title)

    def choose(self, row_id: str, title: str = "chosen"):
        return self.send("list_reply", payload=row_id, text=title)

    def location(self, latitude: float, longitude: float):
        return self.send("location", latitude=latitude, longitude=longitude)


def sms(client: Client, number: str, text: str, *, secret: str | None = None, id: str = ""):
    """The SMS gateway posting one inbound message, as JSON with the shared secret."""
    secret = settings.SMS_INBOUND_SECRET if secret is None else secret
    return client.post(
        SMS_INBOUND,
        json.dumps({"id": id or f"sms-in-{next(_ids)}", "from": number.lstrip("+"), "text": text}),
        content_type="application/json",
        headers={"X-Inbound-Secret": secret},
    )


class Graph:
    """The local fake of the Graph API (and the SMS gateway): what the portal sent."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.count = itertools.count(1)

    def answer(self, request: Request) -> Response:
        number = next(self.count)
        if request.path == "/sms":
            data: dict[str, Any] = {"status": "accepted", "id": f"sms-out-{number}"}
        else:
            data = {
                "messaging_product": "whatsapp",
                "contacts": [{"input": request.json["to"], "wa_id": request.json["to"]}],
                "messages": [{"id": f"wamid.out.{number}"}],
            }
        return Response(json.dumps(data), content_type="application/json")

    def _bodies(self, path: str, to: str | None) -> list[dict]:
        found = []
        for request, _response in self.server.log:
            if request.path != path:
                continue
            body = json.loads(request.get_data())
            if to is None or body["to"] == to.lstrip("+"):
                found.append(body)
        return found

    def whatsapp(self, to: str | None = None) -> list[dict]:
        return self._bodies(GRAPH_MESSAGES, to)

    def sms(self, to: str | None = None) -> list[dict]:
        return self._bodies("/sms", to)

    def last(self, to: str) -> dict:
        sent = self.whatsapp(to)
        assert sent, f"nothing was sent to {to}"
        return sent[-1]


def text_of(body: dict) -> str:
    """What a WhatsApp message the portal sent says."""
    if body["type"] == "text":
        return body["text"]["body"]
    if body["type"] == "interactive":
        return body["interactive"]["body"]["text"]
    return json.dumps(body["template"], ensure_ascii=False)


def buttons_of(body: dict) -> dict[str, str]:
    """Title -> id of the reply buttons (or list rows) of a message the portal sent."""
    interactive = body.get("interactive") or {}
    if interactive.get("type") == "button":
        return {b["reply"]["title"]: b["reply"]["id"] for b in interactive["action"]["buttons"]}
    if interactive.get("type") == "list":
        rows = interactive["action"]["sections"][0]["rows"]
        return {row["title"]: row["id"] for row in rows}
    return {}


@pytest.fixture
def graph(httpserver: HTTPServer) -> Iterator[Graph]:
    fake = Graph(httpserver)
    httpserver.expect_request(GRAPH_MESSAGES, method="POST").respond_with_handler(fake.answer)
    httpserver.expect_request("/sms", method="POST").respond_with_handler(fake.answer)
    with override_settings(
        WHATSAPP_API_URL=httpserver.url_for("/wa"),
        SMS_GATEWAY_URL=httpserver.url_for("/sms"),
        SMS_DLT_TEMPLATE_IDS={**DLT_IDS, **CHAT_DLT_IDS},
    ):
        yield fake


@pytest.fixture
def eager(monkeypatch) -> None:
    """The webhooks' jobs run in the test's process and transaction, as they are queued."""
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    monkeypatch.setitem(app.conf, "task_eager_propagates", True)


def link(user, number: str, *, consent: bool = True, over: str = "whatsapp") -> ChatContact:
    return ChatContact.objects.create(
        user=user,
        phone=number,
        verified_at=timezone.now(),
        verified_over=over,
        whatsapp_consent=consent,
    )


@dataclass
class Morning:
    station: Station
    duty: Any
    leader: Any  # the team leader's user
    officer: Any
    team: Any
    manager: Any
    branch: Any
    agent: Any  # the field agent (FieldAgent)
    agent_user: Any
    area: Any
    entry: Any
    other_branch: Any
    other_entry: Any
    sheet: Any = None
    run: Any = None
    other_run: Any = None

    LEADER = "+919434000001"
    MANAGER = "+919800100001"
    AGENT = "+919800100002"


def published(day: Morning) -> Morning:
    """The day's plan, published through the duty officer's own service: Alpha escorts our
    agent 10:00-12:00 from Debra bus stand; Bravo the other branch's agent."""
    sheet = DutySheet.objects.create(
        date=TODAY,
        version=1,
        origin=DutySheet.Origin.CUTOFF,
        build_status=DutySheet.Build.DONE,
        built_at=timezone.now(),
    )
    run = EscortRun.objects.create(
        sheet=sheet,
        team=day.team,
        area=day.area,
        start=datetime.time(10, 0),
        end=datetime.time(12, 0),
        meeting_point="Debra bus stand",
    )
    RunEntry.objects.create(sheet=sheet, run=run, entry=day.entry)
    bravo = TeamFactory(name="Bravo")
    other_run = EscortRun.objects.create(
        sheet=sheet,
        team=bravo,
        area=day.other_entry.area,
        start=datetime.time(10, 30),
        end=datetime.time(12, 30),
        meeting_point="Radhamohanpur more",
    )
    RunEntry.objects.create(sheet=sheet, run=other_run, entry=day.other_entry)
    day.sheet = escort_services.duty_sheet_publish(date=TODAY, by=day.duty)
    day.run, day.other_run = run, other_run
    return day


def make_morning(station: Station) -> Morning:
    duty = StationRoleFactory(station=station, role=StationRole.Role.DUTY_OFFICER).user
    leader = UserFactory(first_name="Tapas", last_name="Maity", phone=Morning.LEADER)
    StationRoleFactory(station=station, user=leader, role=StationRole.Role.ESCORT_OFFICER)
    officer = OfficerFactory(name="Tapas Maity", user=leader, phone=Morning.LEADER)
    team = TeamFactory(name="Alpha", leader=officer, capacity=3)
    branch = BranchFactory(lender_name="Bandhan", branch_name="Debra")
    manager = MemberFactory(
        branch=branch, user=UserFactory(first_name="Mita", phone=Morning.MANAGER)
    ).user
    agent = AgentFactory(branch=branch, name="Arup Bag", phone=Morning.AGENT)
    agent_user = MemberFactory(
        branch=branch,
        role="agent",
        agent=agent,
        user=UserFactory(first_name="Arup", phone=Morning.AGENT),
    ).user
    area = AreaFactory(name="Malancha")
    entry = EntryFactory(
        roster__branch=branch,
        roster__date=TODAY,
        roster__status="filed",
        agent=agent,
        area=area,
        depart_at=datetime.time(10, 0),
        return_at=datetime.time(12, 0),
        cash_band=CashBand.OVER_2L,
    )
    other_branch = BranchFactory(lender_name="Ujjivan", branch_name="Debra")
    other_entry = EntryFactory(
        roster__branch=other_branch,
        roster__date=TODAY,
        roster__status="filed",
        agent=AgentFactory(branch=other_branch, name="Sujit Das"),
        area=AreaFactory(name="Radhamohanpur"),
        depart_at=datetime.time(10, 30),
        return_at=datetime.time(12, 30),
    )
    for user, number in ((leader, Morning.LEADER), (manager, Morning.MANAGER)):
        link(user, number)
    link(agent_user, Morning.AGENT)
    return Morning(
        station=station,
        duty=duty,
        leader=leader,
        officer=officer,
        team=team,
        manager=manager,
        branch=branch,
        agent=agent,
        agent_user=agent_user,
        area=area,
        entry=entry,
        other_branch=other_branch,
        other_entry=other_entry,
    )


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def morning(debra, clock, graph, eager) -> Iterator[Morning]:
    """09:30 at Debra, the plan published; the leader's, manager's and agent's phones linked."""
    with tenant_context(debra):
        day = published(make_morning(debra))
    connection.set_schema_to_public()
    yield day


@pytest.fixture
def phone_of(client) -> Any:
    def make(number: str, name: str = "") -> Phone:
        return Phone(client, number, name)

    return make
