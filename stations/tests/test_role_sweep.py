"""Every station URL, for every role and state of the permission table, answers what the table
says. The routes come from the URL configuration and the expected answers from
`stations.permissions`, so a new view is swept without being listed here, and a view that does
not name the capability it needs fails the suite.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import resolve
from rest_framework.permissions import AllowAny

from lenders.models import BranchMember, LenderBranch
from lenders.tests.factories import AgentFactory, BranchFactory, EntryFactory, MemberFactory
from stations.permissions import BRANCH_ROLES, BRANCH_STATES, Perm, branch_capabilities
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
    other = BranchFactory()
    other_entry = EntryFactory(roster__branch=other)
    own = {"branch_pk": branch.pk, "entry_pk": entry.pk, "agent_pk": agent.pk, "pk": entry.pk}
    theirs = {
        "branch_pk": other.pk,
        "entry_pk": other_entry.pk,
        "agent_pk": other_entry.agent_id,
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
