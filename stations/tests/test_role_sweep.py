"""Every station URL, for every role and state of the permission table, answers what the table
says. The routes come from the URL configuration and the expected answers from
`stations.permissions`, so a new view is swept without being listed here, and a view that does
not name the capability it needs fails the suite.
"""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.urls import resolve
from rest_framework.permissions import AllowAny

from escorts import services as escort_services
from escorts.models import EscortRun
from escorts.tests.building import build_due
from escorts.tests.conftest import entry as escort_entry
from escorts.tests.factories import OfficerFactory, TeamFactory
from incidents import services as incident_services
from lenders.api_keys import api_key_create
from lenders.models import BranchMember, LenderBranch
from lenders.tests.factories import AgentFactory, BranchFactory, EntryFactory, MemberFactory
from notifications.models import Message
from stations.models import StationRole, SubdivisionRole
from stations.permissions import (
    BRANCH_ROLES,
    BRANCH_STATES,
    STATION_ROLES,
    SUBDIVISION_STAFF,
    Perm,
    branch_capabilities,
)
from stations.tests.factories import StationRoleFactory, SubdivisionRoleFactory
from stations.tests.test_isolation_sweep import fill, station_patterns

pytestmark = pytest.mark.django_db


# Views that answer everybody alike and show nothing of the station.
SAME_FOR_EVERYONE = {"lenders_api:not_found"}


def _declared(route: str) -> tuple[frozenset | None, object | None]:
    """The station permissions and the branch capability the route's view asks for."""
    match = resolve(fill(route, {}).replace("^", ""), urlconf=settings.ROOT_URLCONF)
    if match.view_name in SAME_FOR_EVERYONE:
        return frozenset({"none"}), None
    view = match.func
    view_class = getattr(view, "view_class", None) or getattr(view, "cls", None)
    return (
        getattr(view, "station_perms_required", None) or _api_declared(view_class),
        getattr(view, "branch_cap_required", None),
    )


def _api_declared(view_class: type | None) -> frozenset | None:
    """An API view declares its door by its DRF permission classes (a key or the station's
    login); AllowAny, or none at all, is no declaration."""
    classes = getattr(view_class, "permission_classes", None) or []
    if not classes or any(issubclass(cls, AllowAny) for cls in classes):
        return None
    return frozenset({"api"})


def test_every_station_url_names_the_capability_it_needs():
    routes = station_patterns()
    assert len(routes) > 40
    undeclared = []
    for route in routes:
        perms, cap = _declared(route)
        if perms is None and cap is None:
            undeclared.append(route)
        if "branch/<int:branch_pk>" in route and cap is None:
            undeclared.append(route)
    assert not undeclared, f"views that name no capability: {undeclared}"


def _branch_routes() -> list[str]:
    return [route for route in station_patterns() if "branch/<int:branch_pk>" in route]


STATES = [
    # (branch role, branch status, agent active)
    *[(role, status, None) for role in ("manager", "staff") for status in BRANCH_STATES],
    ("agent", "approved", True),
    ("agent", "approved", False),
    ("agent", "suspended", True),
]


@pytest.mark.parametrize(("role", "status", "agent_active"), STATES)
def test_every_branch_url_answers_each_role_and_state_as_the_table_says(
    in_debra, client_for, role, status, agent_active
):
    branch = BranchFactory(status=LenderBranch.Status.APPROVED)
    agent = AgentFactory(branch=branch)
    entry = EntryFactory(roster__branch=branch, agent=agent)
    member = MemberFactory(
        branch=branch,
        role=role,
        agent=agent if role == BranchMember.Role.AGENT else None,
    )
    agent.active = agent_active is not False
    agent.save()
    branch.status = status
    branch.save()
    colleague = MemberFactory(branch=branch, role=BranchMember.Role.STAFF)
    other = BranchFactory()
    other_entry = EntryFactory(roster__branch=other)
    own = {
        "branch_pk": branch.pk,
        "entry_pk": entry.pk,
        "agent_pk": agent.pk,
        "member_pk": colleague.pk,
        "key_pk": api_key_create(branch=branch, name="Ledger", by=colleague.user).record.pk,
        "pk": entry.pk,
    }
    stranger = MemberFactory(branch=other, role=BranchMember.Role.STAFF)
    theirs = {
        "branch_pk": other.pk,
        "entry_pk": other_entry.pk,
        "agent_pk": other_entry.agent_id,
        "member_pk": stranger.pk,
        "key_pk": api_key_create(branch=other, name="Ledger", by=stranger.user).record.pk,
        "pk": other_entry.pk,
    }
    caps = branch_capabilities(role=role, branch_status=status, agent_active=agent_active)
    client = client_for(member.user)
    routes = _branch_routes()
    assert routes
    # Reads first, so that a permitted POST (a delete) does not take a row the GETs need.
    for method in ("get", "post"):
        for route in routes:
            _perms, cap = _declared(route)
            url = "/station/debra" + fill(route, theirs)
            answer = getattr(client, method)(url).status_code
            assert answer in (404, 405), f"{role}/{status} {method} another branch's {url}"
            url = "/station/debra" + fill(route, own)
            answer = getattr(client, method)(url).status_code
            where = f"{role}/{status}/agent active={agent_active} {method} {url}: {answer}"
            if not caps:
                assert answer == 404, where
            elif cap not in caps:
                assert answer == 403, where
            else:
                assert answer not in (403, 404) or (method == "post" and answer == 404), where


def test_branch_people_reach_no_station_officers_pages(in_debra, client_for):
    lenders = [MemberFactory(role=role).user for role in BRANCH_ROLES]
    for route in station_patterns():
        perms, _cap = _declared(route)
        if not perms or perms & {Perm.ENTER, "api"}:
            continue
        url = "/station/debra" + fill(route, {})
        for user in lenders:
            assert client_for(user).get(url).status_code == 404, url


# --- Officers: every station URL, each officer role, answered as the table says ---

OFFICERS = {
    # name: (where the post is held, role)
    "officer-in-charge": ("station", StationRole.Role.OFFICER_IN_CHARGE),
    "duty officer": ("station", StationRole.Role.DUTY_OFFICER),
    "escort officer": ("station", StationRole.Role.ESCORT_OFFICER),
    "SDPO": ("subdivision", SubdivisionRole.Role.SDPO),
    "SDPO staff": ("subdivision", SubdivisionRole.Role.SDPO_STAFF),
}
# 09:00 in Kharagpur: the 08:30 cut-off has passed and the day's sheet is published.
MORNING = datetime.datetime(2026, 12, 1, 3, 30, tzinfo=datetime.UTC)
# Pages that show the person's own things, or a state the day is not in, so a role the table
# lets in may still find nothing at the address.
MAY_FIND_NOTHING = {
    "notifications/<int:pk>/open/": "a message addressed to someone else",
    "lenders/my-trips/<int:entry_pk>/sos/": "a field agent's own trip; officers have none",
    "escorts/": "leads to the sheet or to the escort's own runs",
    "escorts/sheet/<isodate:date>/publish/": "no draft: the day's sheet is published already",
}


@pytest.fixture
def published_day(in_debra):
    """A day at Debra with every kind of object an officer's page names: a published sheet whose
    run is led by the escort officer's team, an SOS with its incident, and a message."""
    with time_machine.travel(MORNING, tick=False):
        in_debra.planner_seconds = 1
        duty = StationRoleFactory(station=in_debra, role=StationRole.Role.DUTY_OFFICER).user
        escort = StationRoleFactory(station=in_debra, role=StationRole.Role.ESCORT_OFFICER).user
        leader = OfficerFactory(user=escort)
        team = TeamFactory(leader=leader, capacity=3)
        entry = escort_entry()
        build_due()
        sheet = escort_services.duty_sheet_publish(date=MORNING.date(), by=duty)
        run = EscortRun.objects.get(sheet=sheet)
        alert = incident_services.sos_raise(entry=entry, by=duty)
        message = Message.objects.filter(recipient=duty).first()
        connection.set_schema_to_public()
        return {
            "escort": escort,
            "values": {
                "branch_pk": entry.roster.branch_id,
                "entry_pk": entry.pk,
                "agent_pk": entry.agent_id,
                "area_pk": entry.area_id,
                "incident_pk": alert.incident_id,
                "alert_pk": alert.pk,
                "officer_pk": leader.pk,
                "team_pk": team.pk,
                "run_pk": run.pk,
                "version": sheet.version,
                "date": MORNING.date().isoformat(),
                "action": "acknowledge",
                "pk": message.pk if message else 1,
            },
        }


def _officer(debra, post: str, role: str, escort):
    if post == "subdivision":
        return SubdivisionRoleFactory(subdivision=debra.subdivision, role=role).user
    if role == StationRole.Role.ESCORT_OFFICER:
        return escort  # the leader of the day's team
    return StationRoleFactory(station=debra, role=role).user


@pytest.mark.parametrize("name", OFFICERS)
def test_every_station_url_answers_each_officer_role_as_the_table_says(
    debra, published_day, client_for, name
):
    post, role = OFFICERS[name]
    perms = STATION_ROLES[role] if post == "station" else SUBDIVISION_STAFF
    client = client_for(_officer(debra, post, role, published_day["escort"]))
    values = published_day["values"]
    wrong = []
    with time_machine.travel(MORNING, tick=False):
        # Reads first, so that a permitted POST (a delete) does not take a row the GETs need.
        for method in ("get", "post"):
            for route in station_patterns():
                declared, cap = _declared(route)
                if declared & {"api", "none"}:
                    continue  # the API answers keys; its sweep is the isolation sweep's
                url = "/station/debra" + fill(route, values)
                answer = getattr(client, method)(url).status_code
                # Officers hold no branch role; the table's station powers decide the rest.
                allowed = cap is None and bool(perms & declared)
                if not allowed:
                    ok = answer == 404
                elif method == "post" or route in MAY_FIND_NOTHING:
                    ok = answer not in (403, 500)
                else:
                    ok = answer not in (403, 404, 500)
                if not ok:
                    wrong.append(f"{method} {route}: {answer} (allowed={allowed})")
    assert not wrong, f"{name} ({sorted(perms)}):\n" + "\n".join(wrong)
