"""The roster API against its own OpenAPI schema, with generated requests (schemathesis):
no server error, and every answer as the schema says."""

from __future__ import annotations

import datetime

import pytest
import schemathesis
import time_machine
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from lenders import api_keys
from lenders.tests.factories import AgentFactory, AreaFactory, BranchFactory, MemberFactory

pytestmark = pytest.mark.django_db

IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
# Before the 08:30 cut-off, so the roster endpoints accept changes.
MORNING = datetime.datetime(2026, 12, 1, 7, 0, tzinfo=IST)
EXAMPLES_PER_OPERATION = 15


@pytest.fixture
def wsgi_in_test_transaction():
    """Let WSGI calls share the test's connection, as Django's test client does: a finished
    request must not close the connection that holds the test's transaction."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield get_wsgi_application()
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


def test_the_api_never_fails_and_always_answers_as_its_schema_says(
    in_debra, wsgi_in_test_transaction
):
    with time_machine.travel(MORNING, tick=False):
        branch = BranchFactory()
        manager = MemberFactory(branch=branch).user
        AgentFactory(branch=branch)
        AreaFactory()
        key = api_keys.api_key_create(branch=branch, name="fuzz", by=manager).key
        headers = {"Authorization": f"Api-Key {key}"}
        schema = schemathesis.openapi.from_wsgi(
            "/station/debra/api/schema/?format=json", wsgi_in_test_transaction, headers=headers
        )
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 8

        for operation in operations:

            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy())
            def check(case) -> None:
                # A schema-valid body can still break a roster rule (a date past cut-off, an
                # agent's overlapping trip); those 400s are the rules working, not failures.
                case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

            check()
