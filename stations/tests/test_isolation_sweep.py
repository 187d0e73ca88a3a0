"""Every station URL, requested by people who have no business there, answers 404.

The patterns are read from the URL configuration, so a new view is swept without being listed
here: a view that forgets its access check fails this test.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from django_tenants.utils import tenant_context

from lenders.tests.factories import (
    AgentFactory,
    AreaFactory,
    BranchFactory,
    EntryFactory,
    MemberFactory,
)
from stations.models import StationRole, SubdivisionRole
from stations.tests.factories import StationRoleFactory, SubdivisionRoleFactory, UserFactory

pytestmark = pytest.mark.django_db

PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def station_patterns() -> list[str]:
    """Every route of the station URLconf, with its parameters still in <...>."""
    routes: list[str] = []

    def walk(patterns: list, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                routes.append(route)

    walk(get_resolver(settings.ROOT_URLCONF).url_patterns, "")
    return routes


def fill(route: str, values: dict[str, object]) -> str:
    def value(match: re.Match) -> str:
        name, converter = match.group("name"), match.group("converter")
        if name in values:
            return str(values[name])
        if converter in ("int", None) and name.endswith("pk"):
            return str(values.get("pk", 1))
        if converter == "isodate" or name == "date":
            return datetime.date.today().isoformat()
        return "1"

    return "/" + PARAM.sub(value, route).lstrip("^").rstrip("$")


@pytest.fixture
def pingla_objects(pingla):
    """Objects of every kind at Pingla, so the parameters point at real rows."""
    with tenant_context(pingla):
        branch = BranchFactory()
        entry = EntryFactory(roster__branch=branch)
        return {
            "branch_pk": branch.pk,
            "entry_pk": entry.pk,
            "agent_pk": AgentFactory(branch=branch).pk,
            "area_pk": AreaFactory().pk,
            "pk": entry.pk,
        }


def _debra_people(debra) -> list:
    with tenant_context(debra):
        lender = MemberFactory(branch=BranchFactory()).user
    people = [lender]
    for role in StationRole.Role.values:
        if role != StationRole.Role.LENDER:
            people.append(StationRoleFactory(station=debra, role=role).user)
    return people


def test_every_station_url_answers_404_to_people_of_another_station(
    debra, pingla, tamluk, pingla_objects, client_for
):
    people = _debra_people(debra)
    # The SDPO of another subdivision reaches Debra's subdivision, not Pingla's... nor Tamluk's.
    people.append(SubdivisionRoleFactory(subdivision=tamluk.subdivision).user)
    routes = station_patterns()
    assert len(routes) > 10
    for user in people:
        client = client_for(user)
        for route in routes:
            url = "/station/pingla" + fill(route, pingla_objects)
            for method in ("get", "post"):
                response = getattr(client, method)(url)
                assert response.status_code == 404, f"{user.username} {method} {url}"
                assert b"Pingla" not in response.content


def test_every_station_url_sends_anonymous_visitors_to_login_or_404(client, debra, pingla_objects):
    for route in station_patterns():
        url = "/station/pingla" + fill(route, pingla_objects)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code in (302, 401, 403, 404), f"{method} {url}"
            if response.status_code == 302:
                assert response["Location"].startswith(settings.LOGIN_URL)


def test_branch_urls_answer_404_to_a_member_of_another_branch(in_debra, client_for):
    mine, theirs = BranchFactory(), BranchFactory()
    entry = EntryFactory(roster__branch=theirs)
    values = {
        "branch_pk": theirs.pk,
        "entry_pk": entry.pk,
        "agent_pk": AgentFactory(branch=theirs).pk,
        "pk": entry.pk,
    }
    client = client_for(MemberFactory(branch=mine).user)
    branch_routes = [route for route in station_patterns() if "<int:branch_pk>" in route]
    assert branch_routes
    for route in branch_routes:
        url = "/station/debra" + fill(route, values)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            # A view refuses a method it does not take with 405 before looking anything up, the
            # same for every branch, so that tells nothing; every lookup itself answers 404.
            assert response.status_code in (404, 405), f"{method} {url}"


def test_the_sdpo_is_not_let_into_a_station_of_another_subdivision(tamluk, client_for):
    sdpo = SubdivisionRoleFactory(role=SubdivisionRole.Role.SDPO).user
    # SubdivisionRoleFactory made a subdivision of its own, without stations.
    assert client_for(sdpo).get("/station/tamluk/").status_code == 404
    assert client_for(UserFactory()).get("/station/tamluk/").status_code == 404
