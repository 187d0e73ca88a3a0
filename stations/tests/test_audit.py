from __future__ import annotations

import datetime
import re

import pytest
import time_machine
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django_tenants.utils import tenant_context

from escort_portal.formats import page_date
from escorts.models import DutySheet, EscortRun, RunEntry
from escorts.tasks import station_tick
from escorts.tests.factories import TeamFactory
from lenders import services as lender_services
from lenders.models import CollectionArea, FieldAgent, Roster
from lenders.tests.factories import (
    AgentFactory,
    AreaFactory,
    BranchFactory,
    EntryFactory,
    MemberFactory,
    RosterFactory,
)
from stations import selectors, services
from stations.models import StationRole
from stations.tests.factories import StationRoleFactory, UserFactory

pytestmark = pytest.mark.django_db

IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))


@pytest.fixture
def bengali_oc(in_debra):
    """The station's officer-in-charge, who reads the portal in Bengali."""
    return StationRoleFactory(
        station=in_debra, role=StationRole.Role.OFFICER_IN_CHARGE, user__language="bn"
    ).user


@pytest.fixture
def oc(debra, client_for):
    return client_for(
        StationRoleFactory(station=debra, role=StationRole.Role.OFFICER_IN_CHARGE).user
    )


def test_a_change_is_in_its_own_stations_trail_with_who_made_it(in_debra, pingla, client_for, oc):
    member = MemberFactory(branch=BranchFactory())
    client_for(member.user).post(
        f"/station/debra/lenders/branch/{member.branch.pk}/agents/new/",
        {"name": "Mampi Bag", "employee_id": "A77", "phone": "9830012399"},
    )
    agent = FieldAgent.objects.get(name="Mampi Bag")
    event = agent.events.get()
    assert event.pgh_label == "insert"
    assert event.pgh_context["user"] == member.user.pk
    with tenant_context(pingla):
        assert not FieldAgent.pgh_event_model.objects.filter(name="Mampi Bag").exists()

    page = oc.get("/station/debra/audit/?search=Mampi").content.decode()
    assert "Mampi Bag" in page
    assert member.user.username in page


def test_the_page_shows_what_changed_from_what(in_debra, oc):
    agent = AgentFactory(name="Rina Das", phone="+919830012300")
    agent.phone = "+919830099999"
    agent.save()

    page = oc.get(f"/station/debra/audit/?search={agent.pk}&model=lenders.fieldagent")
    text = page.content.decode()
    assert "+919830012300 → +919830099999" in text
    assert text.count("Rina Das") >= 2  # the change and the creation


def test_changes_made_in_bulk_are_recorded_too(in_debra):
    """A queryset update or a bulk insert sends no signal; the trail must not depend on one."""
    roster = RosterFactory(date=datetime.date(2026, 12, 1))
    area = AreaFactory(status=CollectionArea.Status.PROPOSED)
    entry = EntryFactory(roster=roster, area=area)
    into = AreaFactory()

    lender_services.rosters_lock(date=roster.date)
    lender_services.area_merge(area=area, into=into)

    assert roster.events.filter(status=Roster.Status.LOCKED).exists()
    assert entry.events.filter(area=into).exists()


def test_nobody_can_edit_or_delete_the_trail(in_debra):
    AgentFactory(name="Rina Das")
    events = FieldAgent.pgh_event_model.objects.filter(name="Rina Das")
    for attempt in (lambda: events.update(name="Someone else"), events.delete):
        with pytest.raises(DatabaseError), transaction.atomic():
            attempt()
    assert events.count() == 1


def test_a_new_station_records_its_own_changes(db, debra):
    station = services.station_create(
        slug="kharagpur-town", name="Kharagpur Town", subdivision=debra.subdivision
    )
    with tenant_context(station):
        AgentFactory(name="Rina Das", branch=BranchFactory())
        assert FieldAgent.pgh_event_model.objects.filter(name="Rina Das").count() == 1
    with tenant_context(debra):
        assert not FieldAgent.pgh_event_model.objects.filter(name="Rina Das").exists()


@pytest.mark.parametrize("field", ["page", "search"])
def test_a_superscript_digit_in_the_page_or_the_search_is_no_number(in_debra, oc, field):
    assert oc.get("/station/debra/audit/", {field: "²"}).status_code == 200


def test_only_the_officer_in_charge_sees_the_trail(debra, client_for, oc):
    assert oc.get("/station/debra/audit/").status_code == 200
    duty = client_for(StationRoleFactory(station=debra).user)
    assert duty.get("/station/debra/audit/").status_code == 404


def test_filters_by_person_kind_and_day(in_debra, oc, client_for):
    # Made first: the person behind a request stays attached until its transaction ends, and
    # a test is one transaction.
    AgentFactory(name="Rina Das")
    member = MemberFactory(branch=BranchFactory())
    client_for(member.user).post(
        f"/station/debra/lenders/branch/{member.branch.pk}/agents/new/",
        {"name": "Mampi Bag", "employee_id": "A77", "phone": "9830012399"},
    )
    today = datetime.date.today().isoformat()

    mine = oc.get(f"/station/debra/audit/?actor={member.user.username}").content.decode()
    assert "Mampi Bag" in mine and "Rina Das" not in mine
    agents = oc.get("/station/debra/audit/?model=lenders.fieldagent").content.decode()
    assert "Mampi Bag" in agents and "Rina Das" in agents
    rosters = oc.get("/station/debra/audit/?model=lenders.roster").content.decode()
    assert "Mampi Bag" not in rosters
    old = oc.get("/station/debra/audit/?until=2020-01-01").content.decode()
    assert "Mampi Bag" not in old
    assert "Mampi Bag" in oc.get(f"/station/debra/audit/?since={today}").content.decode()


def test_a_scheduled_jobs_changes_carry_its_name(in_debra, oc):
    day = datetime.date(2026, 12, 1)
    roster = RosterFactory(date=day, status=Roster.Status.FILED)
    after_cutoff = datetime.datetime(2026, 12, 1, 10, 0, tzinfo=IST)

    with time_machine.travel(after_cutoff, tick=False):
        station_tick.apply()

    locked = roster.events.get(status=Roster.Status.LOCKED)
    assert locked.pgh_context == {"job": "escorts.station_tick"}
    page = oc.get("/station/debra/audit/?model=lenders.roster").content.decode()
    assert "scheduled job: station tick" in page


def test_the_stations_trail_has_its_own_peoples_roles_and_no_one_elses(
    debra, pingla, oc, client_for
):
    someone = UserFactory(username="new-duty-officer")
    elsewhere = UserFactory(username="pingla-newcomer")
    services.station_role_grant(user=someone, station=debra, role=StationRole.Role.DUTY_OFFICER)
    services.station_role_grant(user=elsewhere, station=pingla, role=StationRole.Role.DUTY_OFFICER)

    page = oc.get("/station/debra/audit/?model=stations.stationrole").content.decode()
    assert "new-duty-officer" in page
    assert "pingla-newcomer" not in page


def test_the_trail_pages_fifty_at_a_time(in_debra, oc):
    branch = BranchFactory()
    for n in range(60):
        AgentFactory(branch=branch, name=f"Pager agent {n}")

    url = "/station/debra/audit/?model=lenders.fieldagent&search=Pager+agent"
    first = oc.get(url).content.decode()
    second = oc.get(f"{url}&page=2").content.decode()
    assert first.count("<tr>") - 1 == 50
    assert "page=2" in first and "Older" in first
    assert second.count("<tr>") - 1 == 10
    assert "Newer" in second and "Older" not in second
    assert "search=Pager+agent" in second  # the filter stays on as the pages turn


def test_a_bengali_officer_in_charge_reads_a_recorded_time_all_in_bengali_digits(
    bengali_oc, client_for
):
    branch = BranchFactory(status="pending")
    with time_machine.travel(datetime.datetime(2026, 12, 1, 10, 15, tzinfo=IST), tick=False):
        lender_services.branch_approve(branch=branch, by=bengali_oc)
    page = client_for(bengali_oc).get("/station/debra/audit/").content.decode()
    assert "মঙ্গল ০১ ডিসে. ২০২৬ ১০:১৫" in page  # the branch's decided_at, as it changed
    assert "ডিসে. 2026" not in page


def test_a_bengali_officer_in_charge_reads_the_trails_page_number_in_bengali_digits(
    bengali_oc, client_for
):
    AgentFactory(name="Rina Das")
    page = client_for(bengali_oc).get("/station/debra/audit/?search=Rina&page=2").content.decode()
    assert "পৃষ্ঠা ২" in page


def test_a_page_number_out_of_range_is_harmless_and_keeps_the_filters(in_debra, oc):
    AgentFactory(name="Rina Das")
    AgentFactory(name="Mampi Bag")
    for page in ("0", "-3", "x"):
        text = oc.get(f"/station/debra/audit/?search=Rina&page={page}").content.decode()
        assert "Rina Das" in text and "Mampi Bag" not in text
    deep = oc.get("/station/debra/audit/?search=Rina&page=99999")
    assert deep.status_code == 200
    assert "Page 100" in deep.content.decode()


def test_a_bengali_officer_in_charge_reads_every_kind_of_record_in_bengali(in_debra):
    with translation.override("bn"):
        labels = dict(selectors.audit_models(station=in_debra))
    assert labels["lenders.branchmember"] == "শাখার লগইন"
    assert labels["incidents.sosalert"] == "এসওএস সতর্কবার্তা"
    assert labels["escorts.runentry"] == "রানের এন্ট্রি"
    # An abbreviation keeps its capitals.
    assert labels["lenders.branchapikey"] == "API কী"
    assert not [label for label in labels.values() if re.search("[a-z]{3}", label)]


def _runs_with_entries(count: int) -> None:
    sheet, _ = DutySheet.objects.get_or_create(
        date=datetime.date(2026, 12, 2),
        version=1,
        defaults={"origin": DutySheet.Origin.CUTOFF, "build_status": DutySheet.Build.DONE},
    )
    for _n in range(count):
        entry = EntryFactory()
        run = EscortRun.objects.create(
            sheet=sheet,
            team=TeamFactory(),
            area=entry.area,
            start=datetime.time(10, 0),
            end=datetime.time(12, 0),
        )
        RunEntry.objects.create(sheet=sheet, run=run, entry=entry)


def test_the_trails_queries_do_not_grow_with_the_entries_on_runs_it_shows(in_debra, oc):
    """A busy morning's sheet puts hundreds of entries on runs: each row of the trail names its
    run by team and area, read with the page's other labels, not one row at a time."""
    url = "/station/debra/audit/?model=escorts.runentry"
    _runs_with_entries(2)
    oc.get(url)  # the first request of a session reads a few things once
    with CaptureQueriesContext(connection) as few:
        assert oc.get(url).status_code == 200
    _runs_with_entries(10)
    with CaptureQueriesContext(connection) as many:
        page = oc.get(url).content.decode()
    assert page.count("<tr>") - 1 == 12
    assert len(many) == len(few)


def test_a_bengali_trail_writes_recorded_dates_times_and_numbers_in_bengali_digits(
    bengali_oc, client_for
):
    DutySheet.objects.create(
        date=datetime.date(2026, 12, 2),
        version=3,
        origin=DutySheet.Origin.CUTOFF,
        build_status=DutySheet.Build.DONE,
    )
    TeamFactory(capacity=4, shift_start=datetime.time(7, 30))
    client = client_for(bengali_oc)
    sheet = client.get("/station/debra/audit/?model=escorts.dutysheet").content.decode()
    assert "→ বুধ ০২ ডিসে. ২০২৬" in sheet and "→ ৩" in sheet
    assert "→ 2026-12-02" not in sheet and "→ 3<" not in sheet
    team = client.get("/station/debra/audit/?model=escorts.escortteam").content.decode()
    assert "→ ০৭:৩০" in team and "→ ৪" in team  # noqa: RUF001
    assert "→ 07:30" not in team


def test_a_bengali_trail_names_runs_and_sheets_in_bengali_digits_and_team_names_as_typed(
    bengali_oc, client_for
):
    sheet = DutySheet.objects.create(
        date=datetime.date(2026, 12, 2),
        version=1,
        origin=DutySheet.Origin.CUTOFF,
        build_status=DutySheet.Build.DONE,
    )
    entry = EntryFactory(area=AreaFactory(name="Talbagicha", name_bn="তালবাগিচা"))
    run = EscortRun.objects.create(
        sheet=sheet,
        team=TeamFactory(name="Mobile X4"),
        area=entry.area,
        start=datetime.time(12, 30),
        end=datetime.time(15, 45),
    )
    RunEntry.objects.create(sheet=sheet, run=run, entry=entry)
    client = client_for(bengali_oc)
    for kind in ("escortrun", "runentry"):
        page = client.get(f"/station/debra/audit/?model=escorts.{kind}").content.decode()
        assert "Mobile X4 · তালবাগিচা · ১২:৩০-১৫:৪৫" in page, kind
        assert "12:30-15:45" not in page, kind
        # The sheet each is on, by its date and version as the sheet's page writes them.
        assert "→ বুধ ০২ ডিসে. ২০২৬ v১" in page and "2026-12-02" not in page, kind
    with translation.override("bn"):
        roster = f"{entry.roster.branch} · {page_date(entry.roster.date)}"
    page = client.get("/station/debra/audit/?model=lenders.rosterentry").content.decode()
    assert f"→ {roster}" in page
    # The records and the chat replies keep ASCII digits.
    with translation.override("bn"):
        assert str(run) == "Mobile X4 · তালবাগিচা · 12:30-15:45"
