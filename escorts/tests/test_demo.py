from __future__ import annotations

import pytest

from escorts import demo
from escorts.models import EscortTeam, Officer
from stations.models import StationRole, User

pytestmark = pytest.mark.django_db


def test_the_demo_gives_each_station_teams_and_leader_logins_once(pingla):
    logins = demo.seed(station=pingla, password="demo-pass-123")
    assert 3 <= len(logins) <= 6
    assert logins[0][0] == "pingla-escort1"
    leader = User.objects.get(username="pingla-escort1")
    assert leader.check_password("demo-pass-123")
    assert StationRole.objects.get(user=leader, station=pingla).role == "escort"
    from django_tenants.utils import tenant_context

    with tenant_context(pingla):
        counts = (EscortTeam.objects.count(), Officer.objects.count())
        team = EscortTeam.objects.get(name="Mobile 1")
        assert team.leader.user == leader
        assert team.members.count() == 2
    leader.set_password("changed-by-user")
    leader.save()
    assert demo.seed(station=pingla, password="demo-pass-123") == logins
    leader.refresh_from_db()
    assert leader.check_password("changed-by-user")  # passwords are set only on create
    with tenant_context(pingla):
        assert (EscortTeam.objects.count(), Officer.objects.count()) == counts
