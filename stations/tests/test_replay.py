"""A repeated request answers what the first one did: a form's one-time token, the API's
Idempotency-Key."""

from __future__ import annotations

import datetime
import json
import re

import pytest
import time_machine
from django.db import connection
from django.test import Client

from lenders import api_keys
from lenders.models import RosterEntry
from lenders.tests.factories import AgentFactory, AreaFactory, BranchFactory, MemberFactory
from stations.routing import station_reverse

pytestmark = pytest.mark.django_db

IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
MORNING = datetime.datetime(2026, 12, 1, 7, 0, tzinfo=IST)
TODAY = MORNING.date()
ENTRIES = f"/station/debra/api/v1/rosters/{TODAY.isoformat()}/entries/"


@pytest.fixture
def filing(in_debra):
    """A branch filing today's roster before cut-off (the clock stays in the morning)."""
    with time_machine.travel(MORNING, tick=False):
        branch = BranchFactory()
        yield {
            "branch": branch,
            "manager": MemberFactory(branch=branch).user,
            "agent": AgentFactory(branch=branch, name="Anup Bag"),
            "area": AreaFactory(),
        }


def _entry_form(client: Client, filing) -> tuple[str, dict]:
    """The new-entry form's address and a filled form, with the token of one visit of it."""
    add = station_reverse(
        connection.tenant, "lenders:entry_add", branch_pk=filing["branch"].pk, date=TODAY
    )
    page = client.get(add).content.decode()
    token = re.search(r'name="submission_token" value="([0-9a-f-]+)"', page).group(1)
    data = {
        "submission_token": token,
        "agent": filing["agent"].pk,
        "area": filing["area"].pk,
        "depart_at": "14:00",
        "return_at": "15:00",
        "cash_band": "lt50k",
    }
    return add, data


def test_a_double_tapped_form_saves_once_and_the_repeat_shows_the_saved_result(filing, client_for):
    client = client_for(filing["manager"])
    add, data = _entry_form(client, filing)
    token = data["submission_token"]
    first = client.post(add, data)
    second = client.post(add, data)
    assert first.status_code == second.status_code == 302
    assert second["Location"] == first["Location"]
    assert RosterEntry.objects.filter(agent=filing["agent"]).count() == 1
    # A new visit of the form is a new submission, and the rule applies again.
    page = client.get(add).content.decode()
    again = re.search(r'name="submission_token" value="([0-9a-f-]+)"', page).group(1)
    assert again != token
    clash = client.post(add, {**data, "submission_token": again})
    assert clash.status_code == 200 and "Anup Bag" in clash.content.decode()


def test_the_repeat_of_a_double_tap_says_it_was_done_once(filing, client_for):
    # The first answer's message can be lost with the answer the browser dropped for the
    # second; the second's page says what happened.
    client = client_for(filing["manager"])
    add, data = _entry_form(client, filing)
    client.post(add, data)
    client.cookies.pop("messages", None)  # the first answer, dropped
    shown = client.post(add, data, follow=True).content.decode()
    assert "You sent this twice; it was done once." in shown
    assert RosterEntry.objects.filter(agent=filing["agent"]).count() == 1


def _api(filing) -> Client:
    key = api_keys.api_key_create(
        branch=filing["branch"], name="Core banking", by=filing["manager"]
    )
    return Client(HTTP_AUTHORIZATION=f"Api-Key {key.key}")


def _entry(filing, start: str = "10:00") -> str:
    return json.dumps(
        {
            "agent": filing["agent"].pk,
            "area": filing["area"].pk,
            "depart_at": start,
            "return_at": "12:00",
            "cash_band": "lt50k",
        }
    )


def test_the_api_answers_a_repeated_idempotency_key_with_the_first_answer(filing):
    api = _api(filing)
    with time_machine.travel(MORNING, tick=False):
        post = {"content_type": "application/json", "HTTP_IDEMPOTENCY_KEY": "filing-1"}
        first = api.post(ENTRIES, _entry(filing), **post)
        again = api.post(ENTRIES, _entry(filing), **post)
        other = api.post(ENTRIES, _entry(filing, start="13:00"), **post)
        without = api.post(ENTRIES, _entry(filing), content_type="application/json")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert other.status_code == 422 and "different request" in other.json()["detail"]
    assert without.status_code == 400  # no key: a real clash with the saved trip
    assert RosterEntry.objects.filter(agent=filing["agent"]).count() == 1


def test_an_idempotency_key_with_a_nul_character_is_refused_with_400(filing):
    response = _api(filing).post(
        ENTRIES,
        _entry(filing),
        content_type="application/json",
        headers={"Idempotency-Key": "a\x00b"},
    )
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]
    assert not RosterEntry.objects.exists()


def test_an_api_call_refused_for_its_key_keeps_nothing(in_debra):
    from stations.models import IdempotentRequest

    response = Client(HTTP_AUTHORIZATION="Api-Key made-up").post(
        ENTRIES, "{}", content_type="application/json", headers={"Idempotency-Key": "k1"}
    )
    assert response.status_code == 401
    assert not IdempotentRequest.objects.exists()


def test_a_repeated_delete_with_its_key_answers_as_the_first(filing):
    api = _api(filing)
    with time_machine.travel(MORNING, tick=False):
        created = api.post(ENTRIES, _entry(filing), content_type="application/json").json()
        entry = f"{ENTRIES}{created['id']}/"
        first = api.delete(entry, HTTP_IDEMPOTENCY_KEY="remove-1")
        again = api.delete(entry, HTTP_IDEMPOTENCY_KEY="remove-1")
        plain = api.delete(entry)
    assert first.status_code == again.status_code == 204
    assert plain.status_code == 404


def test_old_tokens_and_kept_answers_are_forgotten_after_a_day(filing):
    from stations.models import IdempotentRequest
    from stations.replay import replays_forget

    _api(filing).post(
        ENTRIES, _entry(filing), content_type="application/json", HTTP_IDEMPOTENCY_KEY="old"
    )
    assert replays_forget() == 0
    assert replays_forget(now=MORNING + datetime.timedelta(days=1, minutes=1)) == 1
    assert not IdempotentRequest.objects.filter(key="old").exists()
