"""The SDPO's one bell and inbox over every station of the subdivision, and the open SOS
alerts first on the dashboard; a station's officers keep to their own station."""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine
from django.utils import timezone
from django_tenants.utils import tenant_context

from incidents import services
from lenders.models import BranchMember
from lenders.tests.factories import AreaFactory, EntryFactory, MemberFactory
from notifications import services as notices
from notifications.models import Channel, Message
from notifications.selectors import subdivision_unread_count
from stations.models import InboxCount, Station, StationRole
from stations.routing import station_reverse
from stations.tests.factories import StationRoleFactory, SubdivisionRoleFactory, UserFactory

pytestmark = pytest.mark.django_db

IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
TODAY = datetime.date(2026, 12, 1)


def _sos(station: Station, *, at: str, area: str, committed) -> int:
    """An agent of a branch of `station` presses SOS at `at` (HH:MM) today; the alert's pk."""
    moment = datetime.datetime.combine(TODAY, datetime.time.fromisoformat(at), tzinfo=IST)
    with (
        time_machine.travel(moment, tick=False),
        committed(execute=True),
        tenant_context(station),
    ):
        entry = EntryFactory(
            roster__date=TODAY, roster__status="filed", area=AreaFactory(name=area)
        )
        agent = MemberFactory(
            branch=entry.roster.branch, role=BranchMember.Role.AGENT, agent=entry.agent
        ).user
        return services.sos_raise(entry=entry, by=agent).pk


def _unread(page: str) -> int:
    found = re.search(r'id="notifications-bell".*?(?:data-unread="(\d+)"|</a>)', page, re.S)
    assert found, "no bell on the page"
    return int(found.group(1) or 0)


@pytest.fixture
def two_alerts(debra, pingla, django_capture_on_commit_callbacks):
    sdpo = SubdivisionRoleFactory(subdivision=debra.subdivision).user
    debra_duty = StationRoleFactory(station=debra, role=StationRole.Role.DUTY_OFFICER).user
    pingla_duty = StationRoleFactory(station=pingla, role=StationRole.Role.DUTY_OFFICER).user
    committed = django_capture_on_commit_callbacks
    first = _sos(debra, at="10:00", area="Malancha", committed=committed)
    second = _sos(pingla, at="10:30", area="Jamna", committed=committed)
    return {"sdpo": sdpo, "debra_duty": debra_duty, "pingla_duty": pingla_duty,
            "debra_sos": first, "pingla_sos": second}  # fmt: skip


def test_the_sdpos_bell_counts_sos_from_every_station_and_opens_one_inbox(
    two_alerts, debra, client_for
):
    client = client_for(two_alerts["sdpo"])
    with time_machine.travel(datetime.datetime(2026, 12, 1, 10, 40, tzinfo=IST), tick=False):
        dashboard = client.get("/sdpo/").content.decode()
        in_a_station = client.get(station_reverse(debra, "station:landing")).content.decode()
        inbox = client.get("/sdpo/inbox/").content.decode()
    assert _unread(dashboard) == 2 and _unread(in_a_station) == 2
    assert 'href="/sdpo/inbox/" id="notifications-bell"' in dashboard
    assert "Debra · SOS SOS-" in inbox and "Pingla · SOS SOS-" in inbox
    # Newest first, and each opens in its own station.
    assert inbox.index("Pingla · SOS") < inbox.index("Debra · SOS")
    assert 'action="/station/pingla/notifications/' in inbox


def test_the_dashboard_shows_open_sos_first_newest_first_with_a_link_to_each(
    two_alerts, client_for
):
    client = client_for(two_alerts["sdpo"])
    with time_machine.travel(datetime.datetime(2026, 12, 1, 10, 40, tzinfo=IST), tick=False):
        page = client.get("/sdpo/").content.decode()
    pingla_link = f'href="/station/pingla/lenders/sos/#sos-{two_alerts["pingla_sos"]}"'
    debra_link = f'href="/station/debra/lenders/sos/#sos-{two_alerts["debra_sos"]}"'
    assert pingla_link in page and debra_link in page
    assert page.index(pingla_link) < page.index(debra_link) < page.index("Stations, worst first")
    assert "10:30 · Pingla" in page and "Jamna" in page


def test_a_duty_officer_sees_only_their_own_stations_sos(two_alerts, debra, pingla, client_for):
    client = client_for(two_alerts["pingla_duty"])
    with time_machine.travel(datetime.datetime(2026, 12, 1, 10, 40, tzinfo=IST), tick=False):
        own = client.get(station_reverse(pingla, "station:landing")).content.decode()
        sos_list = client.get(station_reverse(pingla, "incidents:sos_list")).content.decode()
        assert _unread(own) == 1
        assert "Jamna" in sos_list and "Malancha" not in sos_list
        inbox = client.get(station_reverse(pingla, "notifications:inbox")).content.decode()
        assert "Jamna" in inbox and "Malancha" not in inbox
        assert client.get("/sdpo/inbox/").status_code == 404
        assert client.get("/sdpo/").status_code == 404
        assert client.get(station_reverse(debra, "incidents:sos_list")).status_code == 404


def test_the_public_unread_counts_follow_every_message_written_read_and_removed(debra, pingla):
    reader, other = UserFactory(), UserFactory()

    def message(n: int, *, to=reader, channel: str = Channel.IN_APP) -> Message:
        return Message.objects.create(
            recipient=to, channel=channel, kind="sos", language="en", event=f"e{n}"
        )

    with tenant_context(debra):
        first, second, third = message(1), message(2), message(3)
        message(4, channel=Channel.EMAIL)
        message(5, to=other)
        notices.message_mark_read(user=reader, message=first)
        second.delete()
        Message.objects.filter(pk=third.pk).update(recipient=other)
        message(6), message(7)
    with tenant_context(pingla):
        message(8)
        message(9)
        notices.message_mark_all_read(user=reader)
        message(10)
        Message.objects.filter(pk__gt=0).update(updated_at=timezone.now())  # nothing counted moves

    def truth(station: Station, user) -> int:
        with tenant_context(station):
            return Message.objects.filter(
                recipient=user, channel=Channel.IN_APP, read_at__isnull=True
            ).count()

    for station in (debra, pingla):
        for user in (reader, other):
            counted = InboxCount.objects.filter(user=user, station=station).first()
            assert (counted.unread if counted else 0) == truth(station, user)
    assert subdivision_unread_count(user=reader, stations=[debra, pingla]) == 3
    assert subdivision_unread_count(user=other, stations=[debra, pingla]) == 2
