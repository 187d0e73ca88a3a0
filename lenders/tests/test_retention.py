from __future__ import annotations

import datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from lenders import services
from lenders.models import BranchMember, RosterEntry, SosAlert
from lenders.retention import retention_apply
from lenders.tests.factories import EntryFactory, MemberFactory
from notifications.models import Message
from stations import stats
from stations.models import StationDay
from stations.tests.factories import StationRoleFactory, UserFactory

pytestmark = pytest.mark.django_db

IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
OLD_DAY = datetime.datetime(2026, 6, 1, 11, 0, tzinfo=IST)
TODAY = datetime.datetime(2026, 12, 1, 11, 0, tzinfo=IST)


def _trip(date: datetime.date) -> RosterEntry:
    return EntryFactory(
        roster__date=date,
        roster__status="filed",
        centres="Bhabanipur centre 4",
        vehicle_registration="WB 34 A 1234",
        deposit_point="Debra branch",
        notes="Takes the canal road",
    )


@pytest.fixture
def old_and_new(in_debra):
    """An old day with a trip, an SOS and an incident, and the same today."""
    StationRoleFactory(station=in_debra, role="duty")
    made = {}
    for label, moment in (("old", OLD_DAY), ("new", TODAY)):
        with time_machine.travel(moment, tick=False):
            entry = _trip(moment.date())
            agent = MemberFactory(
                branch=entry.roster.branch, role=BranchMember.Role.AGENT, agent=entry.agent
            ).user
            alert = services.sos_raise(entry=entry, by=agent, latitude=22.37, longitude=87.55)
            incident = services.incident_record(
                by=UserFactory(),
                occurred_at=timezone.now(),
                kind="attempt",
                place="Loyada more",
                narrative="Two men on a bike followed the agent.",
            )
            stats.refresh(date=moment.date())
        made[label] = (entry, alert, incident)
    return made


def _figures(station, date):
    day = StationDay.objects.get(station=station, date=date)
    return (day.entries, day.incidents, day.sos, day.rosters_filed)


def test_retention_clears_old_personal_data_and_keeps_the_recent(in_debra, old_and_new):
    with time_machine.travel(TODAY, tick=False):
        report = retention_apply()
    # The SOS is an incident of its own, beside the attempt.
    assert (report.entries, report.sos_alerts, report.incidents) == (1, 1, 2)
    assert report.messages > 0
    old_entry, old_alert, old_incident = old_and_new["old"]
    new_entry, new_alert, new_incident = old_and_new["new"]
    for row in (old_entry, old_alert, old_incident, new_entry, new_alert, new_incident):
        row.refresh_from_db()
    assert (old_entry.centres, old_entry.vehicle_registration, old_entry.notes) == ("", "", "")
    assert old_alert.latitude is None
    assert (old_incident.narrative, old_incident.place) == ("", "")
    assert new_entry.centres == "Bhabanipur centre 4"
    assert new_alert.latitude is not None
    assert new_incident.narrative
    assert not Message.objects.filter(created_at__date=OLD_DAY.date()).exists()
    assert Message.objects.filter(created_at__date=TODAY.date()).exists()


def test_retention_leaves_the_dashboards_figures_as_they_were(in_debra, old_and_new):
    before = _figures(in_debra, OLD_DAY.date())
    with time_machine.travel(TODAY, tick=False):
        retention_apply()
        call_command(
            "rebuild_dashboard",
            "--from",
            OLD_DAY.date().isoformat(),
            "--station",
            "debra",
            stdout=StringIO(),
        )
    assert _figures(in_debra, OLD_DAY.date()) == before
    assert before[0] == 1


def test_a_dry_run_counts_and_changes_nothing_and_a_second_run_clears_nothing(
    in_debra, old_and_new
):
    out = StringIO()
    with time_machine.travel(TODAY, tick=False):
        call_command("apply_retention", "--station", "debra", "--dry-run", stdout=out)
        assert "would clear 1 entries, 1 SOS locations, 2 incident narratives" in out.getvalue()
        old_entry = old_and_new["old"][0]
        old_entry.refresh_from_db()
        assert old_entry.notes == "Takes the canal road"
        retention_apply()
        again = retention_apply()
    assert (again.entries, again.sos_alerts, again.incidents, again.messages) == (0, 0, 0, 0)
    assert SosAlert.objects.count() == 2
