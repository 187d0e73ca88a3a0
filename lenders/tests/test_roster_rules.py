"""The roster rules, through the service every path calls."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from lenders import services
from lenders.models import CashBand, CollectionArea, LenderBranch, Roster, RosterEntry
from lenders.tests.factories import AgentFactory, AreaFactory, BranchFactory, EntryFactory
from stations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# 07:00 in Kharagpur, before the 08:30 cut-off.
MORNING = datetime.datetime(
    2026, 12, 1, 7, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=30))
)
TODAY = MORNING.date()


@pytest.fixture
def clock():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def branch(in_debra):
    return BranchFactory()


def _data(agent, area, start="10:00", end="12:00", **extra) -> services.EntryInput:
    return services.EntryInput(
        agent=agent,
        area=area,
        depart_at=datetime.time.fromisoformat(start),
        return_at=datetime.time.fromisoformat(end),
        cash_band=CashBand.UNDER_50K,
        **extra,
    )


def _errors(exc: pytest.ExceptionInfo) -> dict:
    return exc.value.message_dict


def test_it_files_an_entry_and_marks_the_roster_filed(branch, clock):
    agent, area, user = AgentFactory(branch=branch), AreaFactory(), UserFactory()
    entry = services.roster_entry_add(branch=branch, date=TODAY, data=_data(agent, area), by=user)
    assert entry.roster.status == Roster.Status.FILED
    assert entry.roster.filed_by == user
    assert not entry.is_late


def test_return_must_be_after_departure(branch, clock):
    with pytest.raises(ValidationError) as exc:
        services.roster_entry_add(
            branch=branch,
            date=TODAY,
            by=UserFactory(),
            data=_data(AgentFactory(branch=branch), AreaFactory(), "12:00", "11:00"),
        )
    assert "Return must be after departure" in _errors(exc)["return_at"][0]


def test_one_agent_cannot_be_in_two_overlapping_entries(branch, clock):
    agent, area, user = AgentFactory(branch=branch), AreaFactory(), UserFactory()
    services.roster_entry_add(branch=branch, date=TODAY, data=_data(agent, area), by=user)
    with pytest.raises(ValidationError) as exc:
        services.roster_entry_add(
            branch=branch, date=TODAY, data=_data(agent, area, "11:30", "13:00"), by=user
        )
    assert "already out 10:00-12:00" in _errors(exc)["agent"][0]
    # Back-to-back trips are fine.
    services.roster_entry_add(
        branch=branch, date=TODAY, data=_data(agent, area, "12:00", "13:00"), by=user
    )


def test_the_agent_must_be_the_branchs_and_active(branch, clock):
    other_branch_agent = AgentFactory(branch=BranchFactory())
    inactive = AgentFactory(branch=branch, active=False)
    for agent in (other_branch_agent, inactive):
        with pytest.raises(ValidationError) as exc:
            services.roster_entry_add(
                branch=branch, date=TODAY, data=_data(agent, AreaFactory()), by=UserFactory()
            )
        assert "active field agent of this branch" in _errors(exc)["agent"][0]


def test_the_area_must_be_one_the_station_accepted(branch, clock):
    proposed = AreaFactory(status=CollectionArea.Status.PROPOSED)
    with pytest.raises(ValidationError) as exc:
        services.roster_entry_add(
            branch=branch,
            date=TODAY,
            by=UserFactory(),
            data=_data(AgentFactory(branch=branch), proposed),
        )
    assert "station's areas" in _errors(exc)["area"][0]


@pytest.mark.parametrize("status", ["pending", "suspended", "rejected"])
def test_a_branch_that_is_not_approved_files_nothing(in_debra, clock, status):
    branch = BranchFactory(status=status)
    with pytest.raises(ValidationError, match="cannot file rosters"):
        services.roster_entry_add(
            branch=branch,
            date=TODAY,
            by=UserFactory(),
            data=_data(AgentFactory(branch=branch), AreaFactory()),
        )


def test_only_today_and_tomorrow_can_be_filed(branch, clock):
    agent, area = AgentFactory(branch=branch), AreaFactory()
    for date in (TODAY - datetime.timedelta(days=1), TODAY + datetime.timedelta(days=2)):
        with pytest.raises(ValidationError, match="today and tomorrow only"):
            services.roster_entry_add(
                branch=branch, date=date, data=_data(agent, area), by=UserFactory()
            )


def test_the_roster_locks_at_the_stations_cut_off(branch, clock):
    agent, area, user = AgentFactory(branch=branch), AreaFactory(), UserFactory()
    entry = services.roster_entry_add(branch=branch, date=TODAY, data=_data(agent, area), by=user)
    clock.move_to(MORNING.replace(hour=8, minute=30))
    with pytest.raises(ValidationError, match="locked at the 08:30 cut-off"):
        services.roster_entry_add(
            branch=branch, date=TODAY, data=_data(agent, area, "14:00", "15:00"), by=user
        )
    with pytest.raises(ValidationError, match="locked"):
        services.roster_entry_delete(entry=entry)
    # Tomorrow's roster is still open.
    tomorrow = TODAY + datetime.timedelta(days=1)
    services.roster_entry_add(branch=branch, date=tomorrow, data=_data(agent, area), by=user)


def test_a_duty_officer_adds_after_cut_off_and_the_entry_is_marked_late(branch, clock):
    clock.move_to(MORNING.replace(hour=9))
    services.rosters_lock(date=TODAY)
    entry = services.roster_entry_add(
        branch=branch,
        date=TODAY,
        by=UserFactory(),
        as_officer=True,
        data=_data(AgentFactory(branch=branch), AreaFactory()),
    )
    assert entry.is_late


def test_replacing_a_roster_reports_every_bad_row_and_saves_nothing(branch, clock):
    agent, area, user = AgentFactory(branch=branch), AreaFactory(), UserFactory()
    kept = services.roster_entry_add(branch=branch, date=TODAY, data=_data(agent, area), by=user)
    rows = [
        _data(agent, area, "09:00", "10:00"),
        _data(agent, area, "12:00", "11:00"),
        _data(agent, area, "09:30", "10:30"),  # clashes with the first row
        _data(None, area),
    ]
    with pytest.raises(services.RosterRowsInvalid) as exc:
        services.roster_entries_replace(branch=branch, date=TODAY, rows=rows, by=user)
    assert sorted(exc.value.rows) == [1, 2, 3]
    assert list(RosterEntry.objects.filter(roster__branch=branch)) == [kept]


def test_replacing_a_roster_with_good_rows_swaps_them_in(branch, clock):
    agent, area, user = AgentFactory(branch=branch), AreaFactory(), UserFactory()
    services.roster_entry_add(branch=branch, date=TODAY, data=_data(agent, area), by=user)
    rows = [_data(agent, area, "09:00", "10:00"), _data(agent, area, "10:00", "11:00")]
    entries = services.roster_entries_replace(branch=branch, date=TODAY, rows=rows, by=user)
    times = sorted(e.depart_at.hour for e in RosterEntry.objects.filter(roster__branch=branch))
    assert len(entries) == 2
    assert times == [9, 10]


def test_copy_from_last_roster_skips_what_no_longer_fits(branch, clock):
    user = UserFactory()
    earlier = TODAY - datetime.timedelta(days=3)
    keep, gone = AgentFactory(branch=branch), AgentFactory(branch=branch)
    EntryFactory(roster__branch=branch, roster__date=earlier, agent=keep)
    EntryFactory(roster__branch=branch, roster__date=earlier, agent=gone)
    gone.active = False
    gone.save()
    result = services.roster_copy_from_last(branch=branch, date=TODAY, by=user)
    assert [e.agent for e in result.added] == [keep]
    assert len(result.skipped) == 1
    assert result.source.date == earlier


def test_approval_flow_records_who_decided_and_why(in_debra):
    officer = UserFactory()
    branch = BranchFactory(status=LenderBranch.Status.PENDING)
    with pytest.raises(ValidationError):
        services.branch_reject(branch=branch, by=officer, reason=" ")
    branch = services.branch_reject(branch=branch, by=officer, reason="No RBI number")
    assert branch.status == "rejected"
    assert branch.decision_reason == "No RBI number"
    branch = services.branch_approve(branch=branch, by=officer)
    assert branch.status == "approved"
    assert branch.decided_by == officer
    assert branch.decided_at <= timezone.now()
