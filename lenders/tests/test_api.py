"""The roster API: keys, isolation, the same rules and messages as the form, the schema."""

from __future__ import annotations

import datetime
import json
import uuid

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django_tenants.utils import tenant_context

from lenders import api_keys, services, upload
from lenders.models import BranchApiKey, CashBand, CollectionArea, RosterEntry
from lenders.tests.factories import (
    AgentFactory,
    AreaFactory,
    BranchFactory,
    EntryFactory,
    MemberFactory,
)
from stations.models import StationRole
from stations.routing import station_reverse
from stations.tests.factories import StationRoleFactory

pytestmark = pytest.mark.django_db

IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
MORNING = datetime.datetime(2026, 12, 1, 7, 0, tzinfo=IST)
TODAY = MORNING.date()
API = "/station/{station}/api/v1"


@pytest.fixture
def clock():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def branch(in_debra):
    return BranchFactory()


@pytest.fixture
def manager(branch):
    return MemberFactory(branch=branch).user


@pytest.fixture
def agent(branch):
    return AgentFactory(branch=branch, name="Rahul Das")


@pytest.fixture
def area(in_debra):
    return AreaFactory()


@pytest.fixture
def key(branch, manager) -> str:
    return api_keys.api_key_create(branch=branch, name="Core banking", by=manager).key


class Api:
    def __init__(self, key: str, station: str = "debra") -> None:
        self.client = Client(HTTP_AUTHORIZATION=f"Api-Key {key}")
        self.base = API.format(station=station)

    def __getattr__(self, method: str):
        def call(path: str, data: object = None):
            kwargs = {}
            if data is not None and method != "get":
                kwargs = {"data": json.dumps(data), "content_type": "application/json"}
            return getattr(self.client, method)(self.base + path, **kwargs)

        return call


def entries_path(date=TODAY) -> str:
    return f"/rosters/{date.isoformat()}/entries/"


def body(agent, area, start="10:00", end="12:00", band="lt50k", **extra) -> dict:
    return {
        "agent": agent.pk if agent else None,
        "area": area.pk if area else None,
        "depart_at": start,
        "return_at": end,
        "cash_band": band,
        **extra,
    }


def service_errors(branch, by, data: services.EntryInput) -> dict:
    try:
        with transaction.atomic():
            services.roster_entry_add(branch=branch, date=TODAY, data=data, by=by)
            raise AssertionError("the service accepted it")
    except ValidationError as exc:
        return exc.message_dict


# --- Keys ---


def test_a_manager_makes_a_key_shown_once_and_stored_hashed(debra, branch, manager, client_for):
    client = client_for(manager)
    url = station_reverse(debra, "lenders:api_keys", branch_pk=branch.pk)
    response = client.post(url, {"name": "Core banking"}, follow=True)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    record = BranchApiKey.objects.get(branch=branch)
    key = response.context["new_key"].key
    assert key in response.content.decode()
    assert record.hashed_key != key
    assert key not in {record.name, record.prefix, record.hashed_key}
    assert key.startswith(record.prefix)
    # Shown once: the list afterwards has only the key's start.
    page = client.get(url).content.decode()
    assert key not in page
    assert record.prefix in page
    assert Api(key).get("/areas/").status_code == 200


def test_a_key_form_sent_again_makes_no_second_key(debra, branch, manager, client_for):
    # A reload of the page that showed the key, or the back button, sends the form again.
    client = client_for(manager)
    url = station_reverse(debra, "lenders:api_keys", branch_pk=branch.pk)
    form = {"name": "Core banking", "submission_token": str(uuid.uuid4())}
    first = client.post(url, form)
    again = client.post(url, form)
    assert again.status_code == 302 and again["Location"] == first["Location"]
    assert BranchApiKey.objects.filter(branch=branch).count() == 1


def test_only_the_branchs_manager_manages_keys(debra, branch, client_for):
    staff = MemberFactory(branch=branch, role="staff").user
    url = station_reverse(debra, "lenders:api_keys", branch_pk=branch.pk)
    assert client_for(staff).get(url).status_code == 403
    assert client_for(staff).post(url, {"name": "x"}).status_code == 403
    other_manager = MemberFactory(branch=BranchFactory()).user
    assert client_for(other_manager).get(url).status_code == 404
    assert not BranchApiKey.objects.exists()


def test_a_revoked_key_stops_working(debra, branch, manager, key, client_for):
    assert Api(key).get("/agents/").status_code == 200
    record = BranchApiKey.objects.get(branch=branch)
    assert record.last_used_at is not None
    url = station_reverse(debra, "lenders:api_key_revoke", branch_pk=branch.pk, key_pk=record.pk)
    client = client_for(manager)
    # The list's Revoke asks first; asking changes nothing.
    keys = station_reverse(debra, "lenders:api_keys", branch_pk=branch.pk)
    assert f'href="{url}"' in client.get(keys).content.decode()
    asked = client.get(url)
    assert asked.status_code == 200 and "Revoke the key" in asked.content.decode()
    assert Api(key).get("/agents/").status_code == 200
    assert client.post(url).status_code == 302
    record.refresh_from_db()
    assert record.revoked_by == manager
    # Back to the question after revoking: the list, not the question again.
    assert client.get(url).status_code == 302
    response = Api(key).get("/agents/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"


def test_another_branchs_manager_cannot_revoke_a_key(debra, branch, key, client_for):
    record = BranchApiKey.objects.get(branch=branch)
    other = MemberFactory(branch=BranchFactory()).user
    url = station_reverse(debra, "lenders:api_key_revoke", branch_pk=branch.pk, key_pk=record.pk)
    assert client_for(other).post(url).status_code == 404
    assert Api(key).get("/agents/").status_code == 200


@pytest.mark.parametrize("header", ["", "Api-Key ", "Api-Key nonsense", "Bearer abc"])
def test_calls_without_a_valid_key_are_refused(in_debra, key, header):
    client = Client(HTTP_AUTHORIZATION=header) if header else Client()
    assert client.get(API.format(station="debra") + "/areas/").status_code == 401


# --- Who sees what ---


def test_a_debra_key_is_unknown_at_pingla(in_debra, key, pingla):
    with tenant_context(pingla):
        EntryFactory(roster__date=TODAY)
    response = Api(key, station="pingla").get(entries_path())
    assert response.status_code == 401
    assert b"Pingla" not in response.content


def test_a_key_reads_only_its_own_branchs_agents_and_entries(branch, key, agent, area, clock):
    mine = EntryFactory(roster__branch=branch, roster__date=TODAY, agent=agent, area=area)
    theirs = EntryFactory(roster__date=TODAY)
    api = Api(key)
    agents = api.get("/agents/").json()
    assert [a["id"] for a in agents] == [agent.pk]
    listed = api.get(entries_path()).json()
    assert [e["id"] for e in listed] == [mine.pk]
    assert listed[0]["agent_name"] == "Rahul Das"
    assert listed[0]["depart_at"] == "10:00"
    for method in ("get", "put", "patch", "delete"):
        response = getattr(api, method)(f"{entries_path()}{theirs.pk}/", body(agent, area))
        assert response.status_code == 404, method
        # Plain words for the caller, naming no model of the code behind the API.
        assert response.json() == {"detail": "No such roster entry on this date for this branch."}
    assert RosterEntry.objects.filter(pk=theirs.pk).exists()
    # An entry of its own, asked for under another date, is not there either.
    other_day = entries_path(TODAY + datetime.timedelta(days=1))
    assert api.get(f"{other_day}{mine.pk}/").status_code == 404


def test_areas_lists_the_stations_active_areas(key, area):
    AreaFactory(status=CollectionArea.Status.PROPOSED)
    assert [a["id"] for a in Api(key).get("/areas/").json()] == [area.pk]


def test_a_session_of_another_station_gets_404_not_a_login_prompt(pingla, client_for, key):
    with tenant_context(pingla):
        pingla_member = MemberFactory(branch=BranchFactory()).user
    response = client_for(pingla_member).get(API.format(station="debra") + "/areas/")
    assert response.status_code == 404


def test_the_audit_trail_names_the_key_beside_its_manager(
    debra, branch, key, agent, area, clock, client_for
):
    Api(key).post(entries_path(), body(agent, area))
    oc = client_for(StationRoleFactory(station=debra, role=StationRole.Role.OFFICER_IN_CHARGE).user)
    page = oc.get("/station/debra/audit/?model=lenders.rosterentry").content.decode()
    manager = branch.api_keys.get().created_by.username
    assert manager in page
    assert f"through API key {key[:8]}" in page


# --- Writing through the rules ---


def test_it_files_reads_changes_and_deletes_an_entry(branch, key, agent, area, clock):
    api = Api(key)
    created = api.post(entries_path(), body(agent, area, notes="Two centres"))
    assert created.status_code == 201, created.json()
    entry_id = created.json()["id"]
    entry = RosterEntry.objects.get(pk=entry_id)
    assert entry.roster.branch == branch
    recorded = entry.events.get().pgh_context
    assert recorded["user"] == branch.api_keys.get().created_by_id
    assert key.startswith(recorded["api_key"])
    assert entry.roster.status == "filed"
    assert api.get(f"{entries_path()}{entry_id}/").json()["notes"] == "Two centres"

    patched = api.patch(f"{entries_path()}{entry_id}/", {"return_at": "13:30"})
    assert patched.status_code == 200, patched.json()
    assert patched.json()["return_at"] == "13:30"
    assert patched.json()["notes"] == "Two centres"

    replaced = api.put(f"{entries_path()}{entry_id}/", body(agent, area, band="gt2l"))
    assert replaced.status_code == 200
    entry.refresh_from_db()
    assert (entry.cash_band, entry.notes) == (CashBand.OVER_2L, "")

    assert api.delete(f"{entries_path()}{entry_id}/").status_code == 204
    assert not RosterEntry.objects.filter(pk=entry_id).exists()


def test_a_vehicle_number_from_the_api_is_written_as_the_form_writes_it(key, agent, area, clock):
    created = Api(key).post(entries_path(), body(agent, area, vehicle_registration="wb 34  a 1234"))
    assert created.status_code == 201, created.json()
    assert created.json()["vehicle_registration"] == "WB 34 A 1234"
    assert RosterEntry.objects.get().vehicle_registration == "WB 34 A 1234"


@pytest.mark.parametrize(
    "rule",
    [
        "return_before_departure",
        "overlap",
        "inactive_agent",
        "other_branchs_agent",
        "proposed_area",
        "missing_fields",
        "unknown_band",
    ],
)
def test_each_rule_answers_400_with_the_services_message(
    branch, manager, key, agent, area, clock, rule
):
    sent, data = (
        body(agent, area),
        services.EntryInput(
            agent=agent,
            area=area,
            depart_at=datetime.time(10),
            return_at=datetime.time(12),
            cash_band="lt50k",
        ),
    )
    if rule == "return_before_departure":
        sent["return_at"], data.return_at = "09:00", datetime.time(9)
    elif rule == "overlap":
        services.roster_entry_add(branch=branch, date=TODAY, data=data, by=manager)
    elif rule == "inactive_agent":
        agent.active = False
        agent.save()
    elif rule == "other_branchs_agent":
        stranger = AgentFactory(branch=BranchFactory())
        sent["agent"], data.agent = stranger.pk, stranger
    elif rule == "proposed_area":
        area.status = CollectionArea.Status.PROPOSED
        area.save()
    elif rule == "missing_fields":
        sent = {}
        data = services.EntryInput(
            agent=None, area=None, depart_at=None, return_at=None, cash_band=""
        )
    elif rule == "unknown_band":
        sent["cash_band"], data.cash_band = "lots", "lots"
    expected = service_errors(branch, manager, data)
    response = Api(key).post(entries_path(), sent)
    assert response.status_code == 400
    assert response.json() == expected
    if rule == "unknown_band":
        assert response.json()["cash_band"] == [
            "Choose the cash band, one of: lt50k (Under Rs 50,000), 50k-1l (Rs 50,000 to 1 lakh), "
            "1l-2l (Rs 1 to 2 lakh), gt2l (Over Rs 2 lakh)."
        ]


def test_an_unknown_id_reads_like_another_branchs(key, branch, area, clock):
    response = Api(key).post(entries_path(), body(None, area) | {"agent": 999999})
    assert response.json() == {"agent": ["Choose an active field agent of this branch."]}
    response = Api(key).post(entries_path(), {"area": "x", "depart_at": "soon"})
    errors = response.json()
    assert errors["area"] == ["Choose one of the station's areas."]
    assert "depart_at" in errors


def test_a_locked_roster_answers_400_with_the_lock_message(key, agent, area, clock):
    clock.move_to(MORNING.replace(hour=9))
    response = Api(key).post(entries_path(), body(agent, area))
    assert response.status_code == 400
    assert "locked at the 08:30 cut-off" in response.json()["non_field_errors"][0]


def test_replace_swaps_the_whole_roster(branch, key, agent, area, clock):
    old = EntryFactory(roster__branch=branch, roster__date=TODAY, agent=agent, area=area)
    rows = [body(agent, area, "08:00", "09:00"), body(agent, area, "09:00", "10:30")]
    response = Api(key).put(entries_path(), rows)
    assert response.status_code == 200, response.json()
    assert [e["depart_at"] for e in response.json()] == ["08:00", "09:00"]
    assert not RosterEntry.objects.filter(pk=old.pk).exists()


def test_replace_reports_every_bad_row_by_index_and_saves_nothing(branch, key, agent, area, clock):
    old = EntryFactory(roster__branch=branch, roster__date=TODAY, agent=agent, area=area)
    rows = [
        body(agent, area, "08:00", "09:00"),
        body(agent, area, "09:00", "08:00"),  # back before it leaves
        body(agent, area, "08:30", "09:30"),  # overlaps row 0
        body(agent, area, "half past", "11:00"),  # not a time
        body(agent, None, "11:00", "12:00"),  # no area
    ]
    response = Api(key).put(entries_path(), rows)
    assert response.status_code == 400
    errors = response.json()["rows"]
    assert sorted(errors) == ["1", "2", "3", "4"]
    assert errors["1"] == {"return_at": ["Return must be after departure, on the same day."]}
    assert errors["2"] == {"agent": ["Rahul Das is already out 08:00-09:00 in another entry."]}
    assert list(errors["3"]) == ["depart_at"]
    assert errors["4"] == {"area": ["Choose the area."]}
    assert list(RosterEntry.objects.filter(roster__branch=branch)) == [old]


def test_a_clash_is_reported_in_ascii_digits_whatever_the_language(branch, key, agent, area, clock):
    rows = [body(agent, area, "08:00", "09:00"), body(agent, area, "08:30", "09:30")]
    api = Api(key)
    api.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "bn"
    response = api.put(entries_path(), rows)
    assert response.status_code == 400
    assert response.json()["rows"] == {
        "1": {"agent": ["Rahul Das অন্য একটি এন্ট্রিতে 08:00-09:00 বাইরে আছেন।"]}
    }


def test_replace_wants_a_list(key, clock):
    response = Api(key).put(entries_path(), {"agent": 1})
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Send a JSON list of entries."]}


def test_delete_clears_the_days_roster(branch, key, agent, area, clock):
    EntryFactory(roster__branch=branch, roster__date=TODAY, agent=agent, area=area)
    assert Api(key).delete(entries_path()).status_code == 204
    assert not RosterEntry.objects.filter(roster__branch=branch).exists()


def test_a_suspended_branchs_key_files_nothing(branch, key, agent, area, clock):
    branch.status = "suspended"
    branch.save()
    response = Api(key).post(entries_path(), body(agent, area))
    assert response.status_code == 401
    assert "no longer act for the branch" in response.json()["detail"]
    assert not RosterEntry.objects.exists()


# --- Schema and docs ---


def test_the_openapi_schema_generates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    schema = (tmp_path / "s.yml").read_text()
    assert "/api/v1/rosters/{date}/entries/" in schema
    assert "BranchApiKey" in schema


def test_the_schema_names_the_station_and_needs_a_key_or_a_login(
    debra, key, manager, client_for, client
):
    response = Api(key).client.get("/station/debra/api/schema/?format=json")
    assert response.status_code == 200
    assert response.json()["servers"] == [{"url": "/station/debra", "description": "Debra"}]
    assert client_for(manager).get("/station/debra/api/schema/").status_code == 200
    assert client.get("/station/debra/api/schema/").status_code == 404


def test_the_docs_page_renders_from_local_assets(debra, manager, client_for, client):
    response = client_for(manager).get("/station/debra/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn" not in page.lower()
    redoc = client_for(manager).get("/station/debra/api/redoc/")
    assert (redoc.status_code, redoc["Location"]) == (302, "/station/debra/api/docs/")
    assert client.get("/station/debra/api/docs/").status_code == 302


def test_a_roster_put_beyond_the_uploads_limit_is_refused_before_reading_rows(
    branch, key, agent, area, clock
):
    rows = [body(agent, area)] * (upload.MAX_ROWS + 1)
    response = Api(key).put(entries_path(), rows)
    assert response.status_code == 400
    assert "at most 500 entries" in response.json()["non_field_errors"][0]
    assert not RosterEntry.objects.exists()


def test_a_body_too_large_for_the_api_answers_json_413(branch, key, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    response = Api(key).put(entries_path(), ["x" * (1024 * 1024)])
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "larger than 1 MB" in response.json()["detail"]


def test_json_nested_too_deeply_answers_400(branch, key):
    nested = "[" * 100_000 + "]" * 100_000
    response = Api(key).client.post(
        API.format(station="debra") + entries_path(), nested, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "The JSON is nested too deeply."}
