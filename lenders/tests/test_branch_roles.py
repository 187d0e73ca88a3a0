"""Roles inside a branch, the states that take powers away, and the life of an account."""

from __future__ import annotations

import datetime
import json

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import Client, override_settings

from incidents.models import SosAlert
from lenders import api_keys, services
from lenders.models import BranchMember, LenderBranch, RosterEntry
from lenders.tests.factories import AgentFactory, BranchFactory, EntryFactory, MemberFactory
from stations.models import StationRole
from stations.permissions import BRANCH_ROLES, BRANCH_STATES, BranchCap, branch_capabilities

pytestmark = pytest.mark.django_db

IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
MORNING = datetime.datetime(2026, 12, 1, 7, 0, tzinfo=IST)
TODAY = MORNING.date()
BASE = "/station/debra/lenders/branch/{pk}"


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
def agent_login(branch, clock):
    """A field agent with a login and a trip today, and a colleague's trip on the same roster."""
    own = EntryFactory(roster__branch=branch, roster__date=TODAY, roster__status="filed")
    colleague = EntryFactory(
        roster=own.roster, depart_at=datetime.time(14, 0), return_at=datetime.time(16, 0)
    )
    member = MemberFactory(branch=branch, role=BranchMember.Role.AGENT, agent=own.agent)
    return member, own, colleague


def _api(key: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Api-Key {key}")


def test_the_table_gives_agents_their_own_day_and_office_staff_no_people_or_keys():
    assert BRANCH_ROLES["agent"] == {BranchCap.OWN_TRIPS, BranchCap.INCIDENT_REPORT}
    assert BranchCap.PEOPLE not in BRANCH_ROLES["staff"]
    assert BranchCap.KEYS not in BRANCH_ROLES["staff"]
    assert BRANCH_STATES["suspended"] == {BranchCap.VIEW, BranchCap.ROSTER_READ}
    assert not branch_capabilities(role="manager", branch_status="approved", user_active=False)
    assert not branch_capabilities(role="agent", branch_status="approved", agent_active=False)


def test_a_field_agent_cannot_open_the_branchs_rosters_people_or_escorts(
    branch, agent_login, client_for
):
    member, _own, colleague = agent_login
    client = client_for(member.user)
    base = BASE.format(pk=branch.pk)
    day = TODAY.isoformat()
    for path in (
        f"{base}/roster/{day}/",
        f"{base}/roster/{day}/add/",
        f"{base}/roster/{day}/upload/",
        f"{base}/agents/",
        f"{base}/api-keys/",
        f"/station/debra/escorts/branch/{branch.pk}/escorts/{day}/",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert colleague.agent.name not in response.content.decode()


def test_a_field_agent_cannot_change_a_colleagues_trip(branch, agent_login, client_for):
    member, _own, colleague = agent_login
    response = client_for(member.user).post(
        f"{BASE.format(pk=branch.pk)}/entry/{colleague.pk}/",
        {"agent": colleague.agent.pk, "area": colleague.area.pk, "depart_at": "06:00"},
    )
    assert response.status_code == 403
    colleague.refresh_from_db()
    assert colleague.depart_at == datetime.time(14, 0)


def test_a_field_agent_sees_their_own_trips_and_lands_on_them(agent_login, client_for):
    member, own, colleague = agent_login
    client = client_for(member.user)
    assert client.get("/station/debra/lenders/branches/")["Location"].endswith("/my-trips/")
    page = client.get("/station/debra/lenders/my-trips/").content.decode()
    assert f"/my-trips/{own.pk}/sos/" in page
    assert f"/my-trips/{colleague.pk}/sos/" not in page


def test_a_field_agent_sees_their_own_trips_tomorrow_too_with_sos_only_on_the_day(
    branch, agent_login, client_for
):
    member, own, colleague = agent_login
    tomorrow = TODAY + datetime.timedelta(days=1)
    mine = EntryFactory(
        roster__branch=branch,
        roster__date=tomorrow,
        agent=own.agent,
        centres="Tomorrow's own centre",
        depart_at=datetime.time(9, 0),
        return_at=datetime.time(11, 0),
    )
    EntryFactory(roster=mine.roster, agent=colleague.agent, centres="A colleague's centre")
    EntryFactory(
        roster__branch=branch,
        roster__date=TODAY + datetime.timedelta(days=2),
        agent=own.agent,
        centres="Two days away",
    )
    client = client_for(member.user)
    page = client.get("/station/debra/lenders/my-trips/").content.decode()
    assert "Tomorrow's own centre" in page.replace("&#x27;", "'")
    assert "A colleague's centre" not in page.replace("&#x27;", "'")
    assert "Two days away" not in page
    assert f"/my-trips/{own.pk}/sos/" in page
    # An SOS is for a trip under way: tomorrow's has none, and cannot be sent by hand either.
    assert f"/my-trips/{mine.pk}/sos/" not in page
    assert client.post(f"/station/debra/lenders/my-trips/{mine.pk}/sos/").status_code == 404


def test_deactivating_an_agent_signs_their_login_out_and_stops_their_sos(
    branch, manager, agent_login, client_for
):
    member, own, _colleague = agent_login
    phone = client_for(member.user)
    assert phone.get("/station/debra/lenders/my-trips/").status_code == 200
    toggle = f"{BASE.format(pk=branch.pk)}/agents/{own.agent.pk}/toggle/"
    assert client_for(manager).post(toggle).status_code == 302
    response = phone.get("/station/debra/lenders/my-trips/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    # Signing in again gives nothing either: an inactive agent keeps no powers.
    member.user.refresh_from_db()
    again = client_for(member.user)
    assert again.post(f"/station/debra/lenders/my-trips/{own.pk}/sos/").status_code == 404
    assert not SosAlert.objects.exists()


def test_a_disabled_users_session_ends_and_their_key_stops_working(branch, manager, client_for):
    key = api_keys.api_key_create(branch=branch, name="Core banking", by=manager).key
    browser = client_for(manager)
    assert _api(key).get("/station/debra/api/v1/agents/").status_code == 200
    manager.is_active = False
    manager.save()
    response = browser.get(BASE.format(pk=branch.pk) + "/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert _api(key).get("/station/debra/api/v1/agents/").status_code == 401


@pytest.mark.parametrize("change", ["demoted", "removed", "station role removed"])
def test_a_key_stops_working_when_its_maker_may_no_longer_manage_the_branch(
    branch, manager, in_debra, change
):
    key = api_keys.api_key_create(branch=branch, name="Core banking", by=manager).key
    other_manager = MemberFactory(branch=branch).user
    membership = BranchMember.objects.get(branch=branch, user=manager)
    if change == "demoted":
        membership.role = BranchMember.Role.STAFF
        membership.save()
    elif change == "removed":
        membership.delete()
    else:
        StationRole.objects.filter(user=manager).delete()
    entries = "/station/debra/api/v1/rosters/2026-12-01/entries/"
    assert _api(key).get(entries).status_code == 401
    # The branch replaces it: a manager who still acts for the branch makes a new key.
    replacement = api_keys.api_key_create(branch=branch, name="Core banking", by=other_manager)
    assert _api(replacement.key).get(entries).status_code == 200


def test_a_suspended_branch_reads_its_history_and_nothing_else(branch, manager, client_for, clock):
    key = api_keys.api_key_create(branch=branch, name="Core banking", by=manager).key
    EntryFactory(roster__branch=branch, roster__date=TODAY - datetime.timedelta(days=3))
    branch.status = LenderBranch.Status.SUSPENDED
    branch.save()
    client = client_for(manager)
    base = BASE.format(pk=branch.pk)
    past = (TODAY - datetime.timedelta(days=3)).isoformat()
    assert client.get(f"{base}/").status_code == 200
    assert client.get(f"{base}/roster/{past}/").status_code == 200
    refused = {
        "get": [
            f"{base}/agents/",
            f"{base}/agents/new/",
            f"{base}/staff/",
            f"{base}/api-keys/",
            f"{base}/areas/propose/",
            f"/station/debra/escorts/branch/{branch.pk}/escorts/{TODAY.isoformat()}/",
        ],
        "post": [f"{base}/agents/new/", f"{base}/api-keys/", f"{base}/roster/{past}/copy/"],
    }
    for method, paths in refused.items():
        for path in paths:
            assert getattr(client, method)(path, {"name": "x"}).status_code == 403, path
    assert not branch.api_keys.filter(name="x").exists()
    api = _api(key)
    assert api.get("/station/debra/api/v1/agents/").status_code == 401
    created = api.post(
        "/station/debra/api/v1/rosters/2026-12-01/entries/",
        json.dumps({}),
        content_type="application/json",
    )
    assert created.status_code == 401
    assert RosterEntry.objects.filter(roster__branch=branch).count() == 1


def test_office_staff_file_rosters_but_see_no_people(branch, client_for, clock):
    staff = MemberFactory(branch=branch, role=BranchMember.Role.STAFF).user
    AgentFactory(branch=branch, name="Rahul Das")
    client = client_for(staff)
    base = BASE.format(pk=branch.pk)
    add = client.get(f"{base}/roster/{TODAY.isoformat()}/add/")
    assert add.status_code == 200
    assert client.get(f"{base}/roster/{TODAY.isoformat()}/upload/").status_code == 200
    assert client.get(f"{base}/agents/").status_code == 403
    assert "/agents/" not in client.get(f"{base}/").content.decode()


@pytest.mark.parametrize("password", ["12345678", "password1", "rahul-das"])
def test_a_login_made_by_the_manager_needs_a_password_as_strong_as_a_sign_up(
    branch, manager, client_for, password
):
    agent = AgentFactory(branch=branch, name="Rahul Das")
    response = client_for(manager).post(
        f"{BASE.format(pk=branch.pk)}/staff/",
        {
            "first_name": "Rahul Das",
            "username": "rahul-das",
            "password": password,
            "language": "en",
            "agent": agent.pk,
        },
    )
    assert response.status_code == 200
    assert "password" in response.context["form"].errors
    assert not StationRole.objects.filter(user__username="rahul-das").exists()
    assert not BranchMember.objects.filter(agent=agent).exists()


def test_an_agent_with_a_login_is_not_offered_a_second_and_is_refused_one_in_words(
    branch, manager, agent_login, client_for
):
    member, _own, _colleague = agent_login
    agent = member.agent
    page = client_for(manager).get(f"{BASE.format(pk=branch.pk)}/staff/")
    offered = page.context["form"].fields["agent"].queryset
    assert agent not in offered
    response = client_for(manager).post(
        f"{BASE.format(pk=branch.pk)}/staff/",
        {
            "first_name": agent.name,
            "username": "second-login",
            "password": "a-Strong-pass-77",
            "language": "en",
            "agent": agent.pk,
        },
    )
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["agent"]
    assert not StationRole.objects.filter(user__username="second-login").exists()
    # The rule itself holds for every way in, not only this form.
    with pytest.raises(ValidationError) as refused:
        services.branch_member_add(
            branch=branch,
            username="second-login",
            first_name=agent.name,
            password="a-Strong-pass-77",
            role=BranchMember.Role.AGENT,
            agent=agent,
        )
    assert refused.value.message_dict == {"agent": ["This field agent has a login already."]}


def test_a_manager_removes_a_colleagues_login_which_is_signed_out_and_closed(
    branch, manager, client_for
):
    colleague = MemberFactory(branch=branch, role=BranchMember.Role.STAFF).user
    phone = client_for(colleague)
    roster_page = f"{BASE.format(pk=branch.pk)}/"
    assert phone.get(roster_page).status_code == 200
    member = BranchMember.objects.get(user=colleague)
    remove = f"{BASE.format(pk=branch.pk)}/staff/{member.pk}/remove/"
    page = client_for(manager).get(remove)
    assert page.status_code == 200 and colleague.username in page.content.decode()
    response = client_for(manager).post(remove, follow=True)
    assert f"{colleague.username} can no longer sign in to this branch." in [
        str(m) for m in response.context["messages"]
    ]
    assert not BranchMember.objects.filter(user=colleague).exists()
    assert not StationRole.objects.filter(user=colleague).exists()
    colleague.refresh_from_db()
    assert not colleague.is_active
    answer = phone.get(roster_page)
    assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]
    # A second tap finds nothing to remove.
    assert client_for(manager).post(remove).status_code == 404


def test_removing_an_agents_login_keeps_the_agent_and_an_account_with_other_roles(
    branch, manager, agent_login, client_for, pingla
):
    member, own, _colleague = agent_login
    StationRole.objects.create(user=member.user, station=pingla, role=StationRole.Role.LENDER)
    remove = f"{BASE.format(pk=branch.pk)}/staff/{member.pk}/remove/"
    assert client_for(manager).post(remove).status_code == 302
    own.agent.refresh_from_db()
    assert own.agent.active
    member.user.refresh_from_db()
    assert member.user.is_active
    assert list(StationRole.objects.filter(user=member.user).values_list("station", flat=True)) == [
        pingla.pk
    ]


@pytest.mark.parametrize("who", ["self", "another manager"])
def test_a_managers_login_is_not_removed(branch, manager, client_for, who):
    target = manager if who == "self" else MemberFactory(branch=branch).user
    member = BranchMember.objects.get(user=target, branch=branch)
    manager.language = "bn"
    manager.save()
    client = client_for(manager)
    response = client.post(f"{BASE.format(pk=branch.pk)}/staff/{member.pk}/remove/", follow=True)
    assert BranchMember.objects.filter(pk=member.pk).exists()
    refusal = {"self": "নিজের লগইন নিজে সরানো যায় না।", "another manager": "ম্যানেজারের লগইন সরানো যায় না।"}
    assert refusal[who] in [str(m) for m in response.context["messages"]]
    assert "/remove/" not in client.get(f"{BASE.format(pk=branch.pk)}/staff/").content.decode()


def test_making_logins_has_the_sign_ups_limit_so_names_cannot_be_tried_one_by_one(
    branch, manager, client_for
):
    cache.clear()
    client = client_for(manager)
    with override_settings(
        RATELIMIT_ENABLE=True, RATE_LIMITS={**settings.RATE_LIMITS, "signup": "3/m"}
    ):
        codes = [
            client.post(
                f"{BASE.format(pk=branch.pk)}/staff/", {"username": f"probe{n}"}
            ).status_code
            for n in range(4)
        ]
        assert client.get(f"{BASE.format(pk=branch.pk)}/staff/").status_code == 200
    assert codes == [200, 200, 200, 429]


def test_a_login_made_by_a_bengali_manager_reads_bengali_unless_told_otherwise(
    branch, manager, client_for
):
    manager.language = "bn"
    manager.save()
    client = client_for(manager)
    page = client.get(f"{BASE.format(pk=branch.pk)}/staff/")
    assert page.context["form"]["language"].value() == "bn"
    for username, language in (("rekha-office", "bn"), ("amit-office", "en")):
        response = client.post(
            f"{BASE.format(pk=branch.pk)}/staff/",
            {
                "first_name": username,
                "username": username,
                "password": "a-Strong-pass-77",
                "language": language,
            },
        )
        assert response.status_code == 302
        assert StationRole.objects.get(user__username=username).user.language == language
