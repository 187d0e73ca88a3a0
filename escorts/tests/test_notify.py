"""What the duty sheet tells whom: each branch its own escorts, each leader their runs."""

from __future__ import annotations

import pytest
from django.utils import translation

from escorts import services
from escorts.tests.building import build_due
from escorts.tests.conftest import TODAY, entry
from escorts.tests.factories import OfficerFactory, TeamFactory
from lenders.tests.factories import AreaFactory, BranchFactory, MemberFactory
from notifications import catalogue
from notifications.models import Message
from stations.models import StationRole
from stations.tests.factories import StationRoleFactory, UserFactory

pytestmark = pytest.mark.django_db


def _inbox(user) -> list[Message]:
    return list(Message.objects.filter(recipient=user, channel="in_app"))


def test_the_duty_officers_hear_that_the_draft_is_ready(station, clock):
    duty = StationRoleFactory(station=station, role=StationRole.Role.DUTY_OFFICER).user
    lender = MemberFactory(branch=BranchFactory()).user
    TeamFactory()
    entry()
    build_due()
    assert [m.kind for m in _inbox(duty)] == ["sheet_draft_ready"]
    assert _inbox(lender) == []


def test_publishing_tells_each_branch_only_of_its_own_escort(station, clock):
    leader_user = UserFactory()
    TeamFactory(leader=OfficerFactory(user=leader_user), capacity=4)
    area = AreaFactory()
    mine, theirs = BranchFactory(), BranchFactory()
    my_member = MemberFactory(branch=mine).user
    their_member = MemberFactory(branch=theirs).user
    entry(branch=mine, area=area)
    entry(branch=theirs, area=area)
    build_due()
    services.duty_sheet_publish(date=TODAY, by=UserFactory())

    mine_messages = _inbox(my_member)
    assert [m.kind for m in mine_messages] == ["sheet_published"]
    assert f"/branch/{mine.pk}/" in mine_messages[0].context["path"]
    assert str(theirs) not in str(mine_messages[0].context)
    assert [m.kind for m in _inbox(their_member)] == ["sheet_published"]
    assert [m.kind for m in _inbox(leader_user)] == ["sheet_published"]


def test_a_republish_tells_only_those_whose_escort_changed(station, clock):
    TeamFactory(capacity=4)
    area, far = AreaFactory(), AreaFactory()
    steady, moved = BranchFactory(), BranchFactory()
    steady_member = MemberFactory(branch=steady).user
    moved_member = MemberFactory(branch=moved).user
    entry(branch=steady, area=area)
    shifted = entry(branch=moved, area=far, start="14:00", end="15:00")
    build_due()
    officer = UserFactory()
    services.duty_sheet_publish(date=TODAY, by=officer)
    services.run_remove_entry(date=TODAY, entry=shifted, by=officer)
    services.duty_sheet_publish(date=TODAY, by=officer)

    assert [m.kind for m in _inbox(steady_member)] == ["sheet_published"]
    assert sorted(m.kind for m in _inbox(moved_member)) == ["sheet_published", "trip_unescorted"]


def test_publishing_twice_the_same_event_sends_nothing_twice(station, clock):
    TeamFactory()
    member = MemberFactory(branch=BranchFactory()).user
    entry(branch=member.branch_memberships.get().branch)
    sheet = build_due()
    services.duty_sheet_publish(date=TODAY, by=UserFactory())
    from escorts import notify

    sheet.refresh_from_db()
    notify.sheet_published(sheet)
    assert len(_inbox(member)) == 1


def test_each_agents_message_names_the_agent_and_gives_their_own_meeting_time(station, clock):
    TeamFactory(capacity=4)
    area = AreaFactory()
    branch = BranchFactory()
    manager = MemberFactory(branch=branch).user
    early = entry(branch=branch, area=area, start="08:00", end="13:00")
    late = entry(branch=branch, area=area, start="10:00", end="12:00")
    build_due()
    services.duty_sheet_publish(date=TODAY, by=UserFactory())

    contexts = {m.context["agents"]: m.context for m in _inbox(manager)}
    assert set(contexts) == {early.agent.name, late.agent.name}
    assert contexts[early.agent.name]["time"] == "08:00-13:00"
    assert contexts[late.agent.name]["time"] == "10:00-12:00"
    assert contexts[late.agent.name]["meeting_point"] == area.name


def test_a_trip_left_without_escort_is_told_to_the_branch_and_agent_with_the_station_phone(
    station, clock, monkeypatch
):
    monkeypatch.setattr(station, "phone", "+913222263333")
    branch = BranchFactory()
    manager = MemberFactory(branch=branch).user
    trip = entry(branch=branch)
    agent_login = MemberFactory(branch=branch, role="agent", agent=trip.agent).user
    build_due()  # no team at all: nothing can cover it
    services.duty_sheet_publish(date=TODAY, by=UserFactory())

    for person in (manager, agent_login):
        (message,) = _inbox(person)
        assert message.kind == "trip_unescorted"
        assert message.context["agents"] == trip.agent.name
        assert message.context["reason"] == "no escort team on duty"
        assert message.context["phone"] == "+913222263333"
        assert "travel together" in catalogue.render("trip_unescorted", "en", message.context).body


def test_the_reason_for_no_escort_is_in_the_readers_language(station, clock):
    branch = BranchFactory()
    manager = MemberFactory(branch=branch, user=UserFactory(language="bn")).user
    entry(branch=branch)
    build_due()
    services.duty_sheet_publish(date=TODAY, by=UserFactory())
    (message,) = _inbox(manager)
    assert message.context["reason"] != "no escort team on duty"


def test_each_reader_is_told_where_to_meet_and_whom_to_call_in_their_own_language(station, clock):
    leader_user = UserFactory(language="bn")
    TeamFactory(leader=OfficerFactory(user=leader_user, name="Tarun Mahato"), capacity=4)
    area = AreaFactory(name="Malancha", name_bn="মালঞ্চ")
    branch = BranchFactory()
    manager = MemberFactory(branch=branch).user
    entry(branch=branch, area=area)
    build_due()
    # A Bengali officer publishes: the messages do not follow the publisher's page.
    with translation.override("bn"):
        services.duty_sheet_publish(date=TODAY, by=UserFactory(language="bn"))
    [bengali] = _inbox(leader_user)
    body = catalogue.render(bengali.kind, "bn", bengali.context).body
    assert "মিলনস্থল: মালঞ্চ" in body and "যোগাযোগ: এএসআই Tarun Mahato" in body
    [english] = _inbox(manager)
    body = catalogue.render(english.kind, "en", english.context).body
    assert "Meeting point: Malancha" in body and "Contact: ASI Tarun Mahato" in body
