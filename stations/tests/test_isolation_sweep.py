"""Every station URL, requested by people who have no business there, answers 404, and the
same answer, byte for byte, as for a station or an object that does not exist.

The patterns are read from the URL configuration, so a new view is swept without being listed
here: a view that forgets its access check fails this test.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django_tenants.utils import tenant_context

from lenders import api_keys
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

    # A regular-expression pattern (`api/^v1/`) is asked for as the address it matches.
    return "/" + PARAM.sub(value, route).replace("^", "").replace("$", "")


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
            "member_pk": MemberFactory(branch=branch, role="staff").pk,
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


# --- One answer for "not yours" ---

# A station that does not exist, named with as many letters as Pingla, so that a page naming
# the address it was asked for has the same length either way.
NOWHERE = "nosuch"
MISSING_PK = 987654
TOKENS = re.compile(
    rb'(name="(?:csrfmiddlewaretoken|submission_token)" value=")[^"]+"|(csrftoken=)[^;]+'
    rb"|(expires=)[^;]+"
)


def _answer(response, asked: str) -> tuple[int, dict[str, str], bytes]:
    """The whole response, with the address asked for written as <asked> (a sign-in redirect
    and the language switch name it) and what changes with every request masked (the CSRF and
    one-time submission tokens, the times in `Expires` and the CSRF cookie): two requests for the
    same page differ only in those."""

    def same(value: bytes) -> bytes:
        value = value.replace(asked.encode(), b"<asked>")
        return TOKENS.sub(lambda m: (m.group(1) or m.group(2) or m.group(3)) + b"<token>", value)

    headers = {name: same(value.encode()).decode() for name, value in response.items()}
    if "Expires" in headers:  # like Date, the time of the answer
        headers["Expires"] = "<time>"
    if "Content-Length" in headers:  # the body's, which names the address asked for
        assert int(headers["Content-Length"]) == len(response.content)
        headers["Content-Length"] = "<the body's>"
    cookies = same(response.cookies.output().encode()).decode()
    return response.status_code, {**headers, "Set-Cookie": cookies}, same(response.content)


def _same_answers(client: Client, route: str, real: dict, missing: dict, **extra) -> None:
    """Pingla with real objects, Pingla with objects that do not exist, and no station at all:
    one answer, for every method the route's views could take."""
    methods = ["get", "post", "put", "delete"] if route.startswith("api/") else ["get", "post"]
    urls = {
        "real": "/station/pingla" + fill(route, real),
        "missing": "/station/pingla" + fill(route, missing),
        "nowhere": f"/station/{NOWHERE}" + fill(route, real),
    }
    if urls["missing"] == urls["real"]:  # no object in the address
        del urls["missing"]
    for method in methods:
        answers = {
            where: _answer(getattr(client, method)(url, **extra), url)
            for where, url in urls.items()
        }
        first = answers["real"]
        assert all(answer == first for answer in answers.values()), f"{method} {route}: " + repr(
            {where: answer[:2] for where, answer in answers.items()}
        )


def _primed(client: Client) -> Client:
    # The first page that writes a CSRF token also sets its cookie; after that no answer does,
    # so the answers compared below carry the same headers.
    client.get("/accounts/login/")
    return client


@pytest.fixture
def missing_objects(pingla_objects) -> dict:
    return dict.fromkeys(pingla_objects, MISSING_PK)


def test_outsiders_get_one_answer_whether_the_station_or_object_exists_or_not(
    debra, pingla, tamluk, pingla_objects, missing_objects, client_for
):
    anonymous = _primed(Client())
    with tenant_context(debra):
        lender = MemberFactory(branch=BranchFactory()).user
    signed_in = [
        _primed(client_for(user))
        for user in (
            StationRoleFactory(station=debra, role=StationRole.Role.OFFICER_IN_CHARGE).user,
            lender,
            SubdivisionRoleFactory(subdivision=tamluk.subdivision).user,
        )
    ]
    routes = station_patterns()
    for n, route in enumerate(routes):
        _same_answers(anonymous, route, pingla_objects, missing_objects)
        # Every signed-in outsider is turned away by the same check before anything else
        # (`test_every_station_url_answers_404_to_people_of_another_station` asks each of them
        # every route); the three take the routes in turn, to keep the sweep quick.
        _same_answers(signed_in[n % len(signed_in)], route, pingla_objects, missing_objects)


def test_a_key_of_another_station_is_answered_as_a_wrong_key_or_a_station_that_does_not_exist(
    debra, pingla_objects, missing_objects
):
    with tenant_context(debra):
        branch = BranchFactory()
        debras_key = api_keys.api_key_create(
            branch=branch, name="Core banking", by=MemberFactory(branch=branch).user
        ).key
    connection.set_schema_to_public()
    api_routes = [route for route in station_patterns() if route.startswith("api/")]
    assert len(api_routes) >= 6
    answers = {}
    for key in (debras_key, "0badc0de.not-a-key", None):
        client = Client(HTTP_AUTHORIZATION=f"Api-Key {key}") if key else Client()
        for route in api_routes:
            _same_answers(client, route, pingla_objects, missing_objects)
        url = "/station/pingla/api/v1/areas/"
        answers[key] = _answer(client.get(url), url)
    # Debra's key at Pingla is refused as any wrong key is, in JSON, as the API's schema says.
    assert answers[debras_key] == answers["0badc0de.not-a-key"]
    assert answers[debras_key][0] == answers[None][0] == 401
    assert answers[debras_key][1]["Content-Type"] == "application/json"


def test_a_member_gets_one_answer_for_another_branchs_objects_and_missing_ones(
    in_debra, client_for
):
    mine, theirs = BranchFactory(), BranchFactory()
    entry = EntryFactory(roster__branch=theirs)
    values = {
        "branch_pk": theirs.pk,
        "entry_pk": entry.pk,
        "agent_pk": AgentFactory(branch=theirs).pk,
        "pk": entry.pk,
    }
    missing = dict.fromkeys(values, MISSING_PK)
    client = _primed(client_for(MemberFactory(branch=mine).user))
    for route in station_patterns():
        if "<int:branch_pk>" not in route:
            continue
        for method in ("get", "post"):
            urls = ["/station/debra" + fill(route, ids) for ids in (values, missing)]
            theirs_answer, missing_answer = (
                _answer(getattr(client, method)(url), url) for url in urls
            )
            assert theirs_answer == missing_answer, f"{method} {route}"


def test_no_request_for_a_station_that_does_not_exist_writes_in_the_template_schema(
    debra, client_for
):
    client = _primed(
        client_for(StationRoleFactory(station=debra, role=StationRole.Role.DUTY_OFFICER).user)
    )
    for route in station_patterns():
        for method in ("get", "post"):
            getattr(client, method)(f"/station/{NOWHERE}" + fill(route, {}))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
            " AND table_type = 'BASE TABLE'",
            [settings.TENANT_BASE_SCHEMA],
        )
        tables = [row[0] for row in cursor.fetchall()]
        assert len(tables) > 20
        written = []
        for table in tables:
            if table in ("django_migrations", "django_content_type"):
                continue
            cursor.execute(f'SELECT 1 FROM "{settings.TENANT_BASE_SCHEMA}"."{table}" LIMIT 1')  # noqa: S608
            if cursor.fetchone():
                written.append(table)
    assert written == []
