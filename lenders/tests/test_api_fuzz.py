"""The roster API against its own OpenAPI schema, with generated requests (schemathesis):
no server error, and every answer as the schema says.

Requests built from the schema alone almost never name a fileable date, an existing entry or
one of the branch's agents, so they would only ever meet the refusals. Part of the positive
cases are therefore pointed at real objects (today's and tomorrow's rosters, the branch's own
entries, agents and areas, a valid trip), so that the accepted paths and their answers are
fuzzed too. Negative cases (data the schema forbids) are sent as generated and must be refused
with a 4xx.
"""

from __future__ import annotations

import datetime
import itertools
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import time_machine
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from lenders import api_keys, services
from lenders.models import CashBand, LenderBranch, RosterEntry
from lenders.tests.factories import AgentFactory, AreaFactory, BranchFactory, MemberFactory

pytestmark = pytest.mark.django_db

IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
# Before the 08:30 cut-off, so the roster endpoints accept changes.
MORNING = datetime.datetime(2026, 12, 1, 7, 0, tzinfo=IST)
FILEABLE = [MORNING.date().isoformat(), (MORNING.date() + datetime.timedelta(days=1)).isoformat()]
POSITIVE_EXAMPLES = 25
NEGATIVE_EXAMPLES = 10
SCHEMA_URL = "/station/debra/api/schema/?format=json"


@pytest.fixture
def wsgi_in_test_transaction() -> Iterator[WSGIHandler]:
    """Let WSGI calls share the test's connection, as Django's test client does: a finished
    request must not close the connection that holds the test's transaction."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield get_wsgi_application()
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def branch_api(in_debra, wsgi_in_test_transaction) -> Iterator[dict[str, Any]]:
    """An approved branch of Debra with agents, areas, entries on both open rosters and a real
    key, and the schema as that key reads it; the clock stays before cut-off while it is used."""
    with time_machine.travel(MORNING, tick=False):
        branch = BranchFactory()
        manager = MemberFactory(branch=branch).user
        agents = [AgentFactory(branch=branch) for _ in range(3)]
        AgentFactory(branch=branch, active=False)
        areas = [AreaFactory() for _ in range(2)]
        for date, agent in itertools.product(FILEABLE, agents[:2]):
            services.roster_entry_add(
                branch=branch,
                date=datetime.date.fromisoformat(date),
                data=services.EntryInput(
                    agent=agent,
                    area=areas[0],
                    depart_at=datetime.time(9),
                    return_at=datetime.time(12),
                    cash_band=CashBand.UNDER_50K,
                ),
                by=manager,
            )
        key = api_keys.api_key_create(branch=branch, name="fuzz", by=manager).key
        headers = {"Authorization": f"Api-Key {key}"}
        schema = schemathesis.openapi.from_wsgi(
            SCHEMA_URL, wsgi_in_test_transaction, headers=headers
        )
        operations = [result.ok() for result in schema.get_all_operations()]
        yield {
            "branch": branch,
            "agents": [agent.pk for agent in agents],
            "areas": [area.pk for area in areas],
            "headers": headers,
            # One entry's calls first: the roster's PUT and DELETE replace or remove the entries.
            "operations": sorted(operations, key=lambda operation: "{id}" not in operation.path),
        }


def _trip(draw: st.DrawFn, api: dict[str, Any]) -> dict[str, object]:
    """What a valid entry needs, drawn so that some trips of one agent overlap."""
    depart = draw(st.integers(min_value=6 * 4, max_value=16 * 4)) * 15
    length = draw(st.integers(min_value=1, max_value=12)) * 15
    return {
        "agent": draw(st.sampled_from(api["agents"])),
        "area": draw(st.sampled_from(api["areas"])),
        "depart_at": f"{depart // 60:02d}:{depart % 60:02d}",
        "return_at": f"{(depart + length) // 60:02d}:{(depart + length) % 60:02d}",
        "cash_band": draw(st.sampled_from(CashBand.values)),
    }


def _steer(case: schemathesis.Case, draw: st.DrawFn, api: dict[str, Any]) -> None:
    """Point some of a generated case's values at the branch's real objects. Every value put in
    is valid by the schema, so the case stays a positive one."""
    params = case.path_parameters or {}
    if "id" in params:
        # An entry is addressed by its roster's date and its id: take both from a real one.
        branch: LenderBranch = api["branch"]
        real = list(
            RosterEntry.objects.filter(roster__branch=branch).values_list("roster__date", "pk")
        )
        # Draw the same way whatever the database holds, so that Hypothesis can replay a case.
        use_real, index = draw(st.booleans()), draw(st.integers(min_value=0, max_value=15))
        if use_real and real:
            date, pk = real[index % len(real)]
            params["date"], params["id"] = date.isoformat(), pk
    elif "date" in params:
        params["date"] = draw(st.sampled_from([params["date"], *FILEABLE]))
    rows = case.body if isinstance(case.body, list) else [case.body]
    for row in rows:
        if isinstance(row, dict) and draw(st.booleans()):
            row.update(_trip(draw, api))


DATE_RULE = "Rosters can be filed for today and tomorrow only."


def _fuzz(api: dict[str, Any], mode: GenerationMode, examples: int) -> Counter[tuple[str, int]]:
    """Run every operation's cases; return how often each (operation, status) was answered,
    with ("refused for its date", 400) counting answers that gave the date rule's message."""
    answers: Counter[tuple[str, int]] = Counter()
    for operation in api["operations"]:

        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
        def check(case: schemathesis.Case, data: st.DataObject) -> None:
            if mode == GenerationMode.POSITIVE:
                _steer(case, data.draw, api)
            # A schema-valid body can still break a roster rule (a date past cut-off, an
            # agent's overlapping trip); those 400s are the rules working, not failures.
            response = case.call_and_validate(
                headers=api["headers"], excluded_checks=[positive_data_acceptance]
            )
            answers[(case.operation.label, response.status_code)] += 1
            if DATE_RULE in response.text:
                answers[("refused for its date", response.status_code)] += 1

        check()
    return answers


def test_valid_calls_never_fail_and_get_the_answers_the_schema_promises(branch_api):
    assert len(branch_api["operations"]) >= 8
    answers = _fuzz(branch_api, GenerationMode.POSITIVE, POSITIVE_EXAMPLES)
    # Every operation was also accepted at least once, so its success answer was checked too.
    accepted = {label for label, status in answers if status < 300}
    assert accepted == {operation.label for operation in branch_api["operations"]}
    # The schema names the dates a change may be made for, so no valid call meets the rule.
    assert not [key for key in answers if key[0] == "refused for its date"]


def test_the_schema_names_the_two_dates_a_roster_is_changed_for(branch_api, client):
    with time_machine.travel(MORNING, tick=False):
        schema = client.get(SCHEMA_URL, headers=branch_api["headers"]).json()
    methods = {"get", "post", "put", "patch", "delete"}
    dated = [
        (method, parameter["schema"])
        for path in schema["paths"].values()
        for method, operation in path.items()
        if method in methods
        for parameter in operation.get("parameters", [])
        if parameter["name"] == "date"
    ]
    writes = {str(schema.get("enum")) for method, schema in dated if method != "get"}
    reads = [schema for method, schema in dated if method == "get"]
    assert writes == {str(FILEABLE)}
    assert reads and all("enum" not in schema for schema in reads)


def test_invalid_calls_are_refused_with_a_client_error(branch_api):
    answers = _fuzz(branch_api, GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES)
    assert {label for label, _status in answers} == {
        operation.label for operation in branch_api["operations"]
    }
