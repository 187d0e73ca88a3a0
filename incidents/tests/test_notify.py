"""The incident register's and SOS alerts' messages."""

from __future__ import annotations

import datetime

import pytest
import time_machine

from incidents import services
from lenders.models import BranchMember
from lenders.tests.factories import EntryFactory, MemberFactory
from notifications.models import Message
from stations.models import StationRole
from stations.tests.factories import StationRoleFactory, SubdivisionRoleFactory

pytestmark = pytest.mark.django_db

IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))


def _kinds(user) -> list[str]:
    return sorted(
        Message.objects.filter(recipient=user, channel="in_app").values_list("kind", flat=True)
    )


def test_sos_reaches_the_stations_officers_and_the_sdpo_once_on_every_channel(in_debra):
    with time_machine.travel(datetime.datetime(2026, 12, 1, 11, 0, tzinfo=IST), tick=False):
        entry = EntryFactory(roster__date=datetime.date(2026, 12, 1), roster__status="filed")
        agent = MemberFactory(
            branch=entry.roster.branch, role=BranchMember.Role.AGENT, agent=entry.agent
        ).user
        duty = StationRoleFactory(station=in_debra, role=StationRole.Role.DUTY_OFFICER).user
        duty.email = "duty@example.org"
        duty.save()
        sdpo = SubdivisionRoleFactory(subdivision=in_debra.subdivision).user
        escort = StationRoleFactory(station=in_debra, role=StationRole.Role.ESCORT_OFFICER).user
        services.sos_raise(entry=entry, by=agent)
        services.sos_raise(entry=entry, by=agent)
    assert _kinds(duty) == ["sos"]
    assert _kinds(sdpo) == ["sos"]
    assert _kinds(escort) == []
    assert Message.objects.filter(recipient=duty, kind="sos", channel="email").count() == 1
    assert all(m.urgent for m in Message.objects.filter(kind="sos"))
