from __future__ import annotations

import datetime
from io import StringIO

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from escort_portal.celery import app
from incidents import services as incident_services
from incidents.models import Incident, SosAlert
from lenders.models import BranchMember, RosterEntry
from lenders.retention import RetentionReport, retention_apply
from lenders.tasks import retention_station
from lenders.tests.factories import EntryFactory, MemberFactory
from notifications.models import Message
from stations.models import Station, StationDay
from stations.tests.factories import StationRoleFactory, UserFactory

pytestmark = pytest.mark.django_db

IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
OLD_DAY = datetime.datetime(2026, 6, 1, 11, 0, tzinfo=IST)
TODAY = datetime.datetime(2026, 12, 1, 11, 0, tzinfo=IST)
DETAILS = {
    "centres": "Bhabanipur centre 4",
    "vehicle_registration": "WB 34 A 1234",
    "deposit_point": "Debra branch",
    "notes": "Takes the canal road",
}


def _trip(date: datetime.date) -> RosterEntry:
    return EntryFactory(roster__date=date, roster__status="filed", **DETAILS)


@pytest.fixture
def old_and_new(in_debra):
    """An old day with a trip, an SOS and an incident, and the same today; each with the
    messages and audit records they make."""
    StationRoleFactory(station=in_debra, role="duty")
    made = {}
    for label, moment in (("old", OLD_DAY), ("new", TODAY)):
        with time_machine.travel(moment, tick=False):
            entry = _trip(moment.date())
            agent = MemberFactory(
                branch=entry.roster.branch, role=BranchMember.Role.AGENT, agent=entry.agent
            ).user
            alert = incident_services.sos_raise(
                entry=entry, by=agent, latitude=22.37, longitude=87.55
            )
            incident = incident_services.incident_record(
                by=UserFactory(),
                occurred_at=timezone.now(),
                kind="attempt",
                area=entry.area,
                place="Loyada more",
                fir_number="Debra PS 123/26",
                narrative="Two men on a bike followed the agent.",
            )
        made[label] = (entry, alert, incident)
    return made


def _reload(*rows):
    for row in rows:
        row.refresh_from_db()
    return rows


def _rebuild(date: datetime.date) -> dict[str, object]:
    """The dashboard's figures for `date` as `rebuild_dashboard` counts them today."""
    with time_machine.travel(TODAY, tick=False):
        call_command(
            "rebuild_dashboard", "--from", date.isoformat(), "--station", "debra", stdout=StringIO()
        )
    day = StationDay.objects.get(station__slug="debra", date=date)
    return {f.name: getattr(day, f.name) for f in day._meta.fields if f.name != "updated_at"}


def _apply(**options) -> RetentionReport:
    with time_machine.travel(TODAY, tick=False):
        return retention_apply(**options)


def test_it_clears_old_personal_data_and_keeps_the_rows_and_the_recent(in_debra, old_and_new):
    report = _apply()

    assert report.before == TODAY.date() - datetime.timedelta(days=90)
    # The SOS is an incident of its own, beside the attempt.
    assert report.cleared == (("entries", 1), ("SOS locations", 1), ("incident narratives", 2))
    assert report.messages > 0
    old_entry, old_alert, old_incident = _reload(*old_and_new["old"])
    assert {name: getattr(old_entry, name) for name in DETAILS} == dict.fromkeys(DETAILS, "")
    assert (old_alert.latitude, old_alert.longitude, old_alert.accuracy_m) == (None, None, None)
    assert (old_incident.narrative, old_incident.place) == ("", "")
    # What the figures and the station's records count by stays.
    assert old_entry.agent_id and old_entry.area_id and old_entry.cash_band
    assert old_entry.depart_at < old_entry.return_at
    assert old_alert.entry_id == old_entry.pk and old_alert.incident.kind == Incident.Kind.SOS
    assert (old_incident.kind, old_incident.fir_number) == ("attempt", "Debra PS 123/26")
    assert old_incident.area_id == old_entry.area_id
    assert old_incident.occurred_at == OLD_DAY

    new_entry, new_alert, new_incident = _reload(*old_and_new["new"])
    assert {name: getattr(new_entry, name) for name in DETAILS} == DETAILS
    assert new_alert.latitude is not None
    assert new_incident.narrative and new_incident.place
    assert not Message.objects.filter(created_at__lt=TODAY - datetime.timedelta(days=90)).exists()
    assert Message.objects.filter(created_at__date=TODAY.date()).exists()


def test_the_dashboard_figures_rebuilt_afterwards_are_the_same(in_debra, old_and_new):
    before = {date: _rebuild(date) for date in (OLD_DAY.date(), TODAY.date())}
    assert (before[OLD_DAY.date()]["entries"], before[OLD_DAY.date()]["sos"]) == (1, 1)
    assert before[OLD_DAY.date()]["incidents"] == 2

    _apply()

    assert {date: _rebuild(date) for date in before} == before


def test_it_clears_the_audit_trails_copies_of_old_details_and_keeps_who_did_what(
    in_debra, old_and_new
):
    with time_machine.travel(OLD_DAY, tick=False):
        gone = _trip(OLD_DAY.date())
        gone_pk = gone.pk
        gone.delete()
    entry_events = RosterEntry.pgh_event_model.objects
    old_entry, old_alert, _ = old_and_new["old"]
    new_entry = old_and_new["new"][0]
    assert entry_events.get(pgh_obj_id=old_entry.pk).notes == "Takes the canal road"
    events = entry_events.count()

    report = _apply()

    # The old entry's, its SOS's, the two old incidents' and the deleted entry's two.
    assert report.audit_records == 6
    assert entry_events.count() == events  # the clearing itself is not recorded
    assert entry_events.filter(pgh_obj_id=gone_pk).count() == 2  # made, then deleted
    for event in entry_events.filter(pgh_obj_id__in=[old_entry.pk, gone_pk]):
        assert all(getattr(event, name) == "" for name in DETAILS)
    assert entry_events.get(pgh_obj_id=old_entry.pk).agent_id == old_entry.agent_id
    assert SosAlert.pgh_event_model.objects.get(pgh_obj_id=old_alert.pk).latitude is None
    assert entry_events.get(pgh_obj_id=new_entry.pk).notes == "Takes the canal road"


def test_a_dry_run_counts_and_changes_nothing(in_debra, old_and_new):
    old_entry = old_and_new["old"][0]
    messages = Message.objects.count()
    out = StringIO()

    with time_machine.travel(TODAY, tick=False):
        call_command("apply_retention", "--station", "debra", "--dry-run", stdout=out)

    assert out.getvalue().startswith(
        "debra: before 2026-09-02: would clear 1 entries, 1 SOS locations, 2 incident narratives,"
    )
    _reload(old_entry)
    assert old_entry.notes == "Takes the canal road"
    assert Message.objects.count() == messages
    dry = _apply(dry_run=True)
    assert dry == _apply()


def test_running_it_again_clears_nothing_more(in_debra, old_and_new):
    _apply()
    again = _apply()

    nothing_cleared = tuple((name, 0) for name, _count in again.cleared)
    nothing_purged = tuple((name, 0) for name, _count in again.purged)
    assert again == RetentionReport(again.before, nothing_cleared, 0, 0, nothing_purged)
    assert SosAlert.objects.count() == 2
    assert RosterEntry.objects.count() == 2


def test_it_follows_the_stations_retention_days(in_debra, old_and_new):
    in_debra.retention_days = 365
    in_debra.save(update_fields=["retention_days"])

    report = _apply()

    assert [count for _name, count in report.cleared] == [0, 0, 0]
    assert report.messages == 0
    _reload(old_and_new["old"][0])
    assert old_and_new["old"][0].notes == "Takes the canal road"


def test_the_command_reports_every_station_and_refuses_an_unknown_one(in_debra, old_and_new):
    out = StringIO()
    with time_machine.travel(TODAY, tick=False):
        call_command("apply_retention", stdout=out)
        with pytest.raises(CommandError, match="No such station: nowhere"):
            call_command("apply_retention", "--station", "nowhere", stdout=StringIO())

    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == ["debra", "pingla", "tamluk"]
    assert "cleared 1 entries, 1 SOS locations, 2 incident narratives" in lines[0]


def test_the_nightly_task_clears_the_station_it_runs_in(in_debra, old_and_new):
    with time_machine.travel(TODAY, tick=False):
        retention_station.run()

    assert _reload(old_and_new["old"][0])[0].centres == ""
    entry = settings.CELERY_BEAT_SCHEDULE["retention"]
    assert entry["task"] in app.tasks
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({2}, {30})


def test_a_station_keeps_details_for_a_month_at_least(debra):
    debra.retention_days = 0
    with pytest.raises(ValidationError) as error:
        debra.full_clean()
    assert "greater than or equal to 30" in " ".join(error.value.message_dict["retention_days"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Station.objects.filter(pk=debra.pk).update(retention_days=0)
