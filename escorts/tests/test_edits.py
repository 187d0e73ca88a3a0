"""Every edit on the sheet checks the planner's rules and says which one is broken."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from escorts import services
from escorts.forms import RunCreateForm
from escorts.models import DutySheet, EscortRun, RunEntry, TeamOffDuty, UncoveredEntry
from escorts.tests.building import build_due
from escorts.tests.conftest import TODAY, entry
from escorts.tests.factories import TeamFactory
from lenders import services as lender_services
from lenders.models import CashBand, RosterEntry
from lenders.tests.factories import AgentFactory, AreaFactory, BranchFactory
from stations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEAR = {"latitude": 22.31, "longitude": 87.5}
# About 44 km from the base: 106 minutes at 25 km/h.
FAR = {"latitude": 22.7, "longitude": 87.5}


@pytest.fixture
def officer():
    return UserFactory()


@pytest.fixture
def day(station, clock):
    """Team Alpha (capacity 2) with one run of two agents in the near village."""
    alpha = TeamFactory(name="Alpha", capacity=2)
    near = AreaFactory(name="Near", **NEAR)
    a = entry(area=near)
    b = entry(area=near, start="10:30", end="11:30")
    sheet = build_due()
    run = EscortRun.objects.get(sheet=sheet)
    return {"sheet": sheet, "alpha": alpha, "near": near, "run": run, "a": a, "b": b}


def _messages(exc) -> str:
    return " ".join(exc.value.messages)


def test_a_full_run_takes_no_more_agents(day, officer):
    extra = entry(area=day["near"], start="10:00", end="11:00")
    services.run_create(date=TODAY, team=TeamFactory(name="Bravo"), entries=[extra], by=officer)
    with pytest.raises(ValidationError) as exc:
        services.run_move_entry(date=TODAY, entry=extra, to_run=day["run"], by=officer)
    assert "Alpha escorts at most 2 agents at once" in _messages(exc)


def test_a_bengali_reader_sees_the_runs_area_by_its_bengali_name(day, officer):
    day["near"].name_bn = "কাছে"
    day["near"].save()
    extra = entry(area=day["near"], start="10:00", end="11:00")
    services.run_create(date=TODAY, team=TeamFactory(name="Bravo"), entries=[extra], by=officer)
    with translation.override("bn"), pytest.raises(ValidationError) as exc:
        services.run_move_entry(date=TODAY, entry=extra, to_run=day["run"], by=officer)
    assert "কাছে " + "10:00-".translate(str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")) in _messages(exc)


def test_a_bengali_officer_picks_a_new_runs_entries_by_their_areas_bengali_names(day):
    day["near"].name_bn = "কাছে"
    day["near"].save()
    extra = entry(area=day["near"], start="10:00", end="11:00")
    with translation.override("bn"):
        form = RunCreateForm(entries=RosterEntry.objects.filter(pk=extra.pk))
        label = form.fields["entries"].label_from_instance(extra)
    assert " · কাছে · ১০:০০-১১:০০" in label  # noqa: RUF001


def test_the_run_must_be_in_the_entrys_area(day, officer):
    other = entry(area=AreaFactory(name="Other", **NEAR))
    with pytest.raises(ValidationError) as exc:
        services.run_move_entry(date=TODAY, entry=other, to_run=day["run"], by=officer)
    assert "collects in Other; that run is in Near" in _messages(exc)


def test_moving_widens_the_run_to_cover_the_entry(day, officer):
    bravo = TeamFactory(name="Bravo", capacity=3)
    target = services.run_move_entry(date=TODAY, entry=day["b"], to_team=bravo, by=officer)
    late = entry(area=day["near"], start="11:00", end="12:30")
    services.run_move_entry(date=TODAY, entry=late, to_run=target, by=officer)
    target.refresh_from_db()
    assert (target.start, target.end) == (datetime.time(10, 30), datetime.time(12, 30))


def test_moving_to_a_team_makes_a_new_run_and_shrinks_the_old(day, officer):
    bravo = TeamFactory(name="Bravo")
    new = services.run_move_entry(date=TODAY, entry=day["a"], to_team=bravo, by=officer)
    assert new.team == bravo and new.created_by == officer
    old = EscortRun.objects.get(pk=day["run"].pk)
    assert (old.start, old.end) == (datetime.time(10, 30), datetime.time(11, 30))
    assert day["sheet"].status == DutySheet.Status.DRAFT


def test_a_team_that_cannot_drive_there_in_time_is_refused(day, officer):
    far = AreaFactory(name="Far", **FAR)
    early = entry(area=far, start="07:30", end="09:00")
    with pytest.raises(ValidationError) as exc:
        services.run_create(date=TODAY, team=day["alpha"], entries=[early], by=officer)
    assert "Alpha cannot reach Far 07:30-09:00 in time" in _messages(exc)


def test_between_runs_the_team_needs_travel_time(day, officer):
    far = AreaFactory(name="Far", **FAR)
    soon_after = entry(area=far, start="12:30", end="13:00")
    with pytest.raises(ValidationError) as exc:
        services.run_create(date=TODAY, team=day["alpha"], entries=[soon_after], by=officer)
    assert "cannot reach Far 12:30-13:00 in time" in _messages(exc)
    assert "Near 10:00-12:00" in _messages(exc)


def test_the_team_must_get_back_to_base_by_the_end_of_its_shift(day, officer):
    far = AreaFactory(name="Far", **FAR)
    last = entry(area=far, start="15:00", end="16:30")
    with pytest.raises(ValidationError) as exc:
        services.run_create(date=TODAY, team=day["alpha"], entries=[last], by=officer)
    assert "cannot be back at base by the end of its shift (17:00)" in _messages(exc)


def test_a_hand_made_run_must_cover_its_entries_and_be_in_one_area(day, officer):
    c = entry(area=day["near"], start="13:00", end="14:00")
    with pytest.raises(ValidationError) as exc:
        services.run_create(
            date=TODAY,
            team=day["alpha"],
            entries=[c],
            start=datetime.time(13, 15),
            end=datetime.time(14, 0),
            by=officer,
        )
    assert "does not cover" in _messages(exc)
    d = entry(area=AreaFactory(**NEAR), start="13:00", end="14:00")
    with pytest.raises(ValidationError, match="one area"):
        services.run_create(date=TODAY, team=day["alpha"], entries=[c, d], by=officer)
    run = services.run_create(
        date=TODAY, team=day["alpha"], entries=[c], meeting_point="Bus stand", by=officer
    )
    assert run.meeting_point == "Bus stand"
    assert not UncoveredEntry.objects.filter(entry=c).exists()


def test_the_rules_name_runs_and_shift_times_in_the_readers_numerals(day, officer):
    far = AreaFactory(name="Far", **FAR)
    early = entry(area=far, start="07:30", end="09:00")
    soon_after = entry(area=far, start="12:30", end="13:00")
    last = entry(area=far, start="15:00", end="16:30")
    late = entry(area=day["near"], start="13:00", end="14:00")
    attempts = [
        {"entries": [early]},
        {"entries": [soon_after]},
        {"entries": [last]},
        {"entries": [late], "start": datetime.time(13, 15), "end": datetime.time(14, 0)},
    ]
    fits = [services.CoverOption(run=day["run"], team=day["alpha"], problem=None)]

    def said(language: str) -> str:
        texts = []
        with translation.override(language):
            for attempt in attempts:
                with pytest.raises(ValidationError) as exc:
                    services.run_create(date=TODAY, team=day["alpha"], by=officer, **attempt)
                texts.append(_messages(exc))
            texts.append(services.cover_advice(fits))
        return "\n".join(texts)

    english = said("en")
    for shown in ("Far 07:30-09:00", "the shift (", "Far 12:30-13:00", "from Near 10:00-12:00"):
        assert shown in english
    assert "end of its shift (17:00)" in english and "trip 13:00-14:00" in english
    assert "It fits on the run Alpha · Near · 10:00-12:00." in english
    bengali = said("bn")
    assert not re.findall(r"[0-9]", bengali), "an ASCII digit"
    for shown in ("Far ০৭:৩০-০৯:০০", "Far ১২:৩০-১৩:০০", "Near ১০:০০-১২:০০", "(১৭:০০)"):  # noqa: RUF001
        assert shown in bengali
    assert "যাত্রা ১৩:০০-১৪:০০" in bengali and "এটি Alpha · Near · ১০:০০-১২:০০ রানে" in bengali  # noqa: RUF001


def test_an_area_without_a_location_cannot_be_checked_so_it_is_refused(day, officer):
    lost = entry(area=AreaFactory(name="Unmapped", latitude=None, longitude=None))
    with pytest.raises(ValidationError) as exc:
        services.run_create(date=TODAY, team=day["alpha"], entries=[lost], by=officer)
    assert "Unmapped has no map location" in _messages(exc)


def test_teams_off_duty_or_inactive_get_no_runs(day, officer):
    off = TeamFactory(name="Resting")
    TeamOffDuty.objects.create(team=off, date=TODAY)
    with pytest.raises(ValidationError, match="Resting is off duty"):
        services.run_move_entry(date=TODAY, entry=day["a"], to_team=off, by=officer)
    idle = TeamFactory(name="Idle", active=False)
    with pytest.raises(ValidationError, match="Idle is not active"):
        services.run_change_team(date=TODAY, run=day["run"], team=idle, by=officer)


def test_taking_an_entry_off_lists_it_uncovered(day, officer):
    item = services.run_remove_entry(date=TODAY, entry=day["a"], by=officer)
    assert item.reason == UncoveredEntry.Reason.REMOVED and item.created_by == officer
    with pytest.raises(ValidationError, match="not on a run"):
        services.run_remove_entry(date=TODAY, entry=day["a"], by=officer)
    services.run_remove_entry(date=TODAY, entry=day["b"], by=officer)
    assert not EscortRun.objects.filter(sheet=day["sheet"]).exists()  # empty runs go


def test_taking_off_an_entry_inside_the_runs_hours_records_no_empty_change_of_the_run(
    day, officer, clock
):
    """The audit trail listed "Changed · Escort run" with nothing changed whenever an entry
    came off a run whose hours stayed the same."""
    run = day["run"]
    events = run.events.count()
    clock.shift(datetime.timedelta(minutes=5))  # the officer's edit comes after the build
    services.run_remove_entry(date=TODAY, entry=day["b"], by=officer)  # 10:30-11:30 of 10-12
    run.refresh_from_db()
    assert (run.start, run.end) == (datetime.time(10), datetime.time(12))
    assert run.events.count() == events
    services.run_remove_entry(date=TODAY, entry=day["a"], by=officer)
    assert not EscortRun.objects.filter(pk=run.pk).exists()


def test_changing_the_team_checks_the_new_teams_capacity(day, officer):
    small = TeamFactory(name="Small", capacity=1)
    with pytest.raises(ValidationError, match="Small escorts at most 1"):
        services.run_change_team(date=TODAY, run=day["run"], team=small, by=officer)
    bravo = TeamFactory(name="Bravo")
    run = services.run_change_team(date=TODAY, run=day["run"], team=bravo, by=officer)
    assert run.team == bravo and run.updated_by == officer


def test_a_run_edit_that_fails_on_the_meeting_point_keeps_the_old_team(day, officer):
    bravo = TeamFactory(name="Bravo")
    with pytest.raises(ValidationError):
        services.run_edit(
            date=TODAY, run=day["run"], team=bravo, meeting_point="x" * 201, by=officer
        )
    assert EscortRun.objects.get(sheet=day["sheet"]).team == day["alpha"]


def test_a_late_entry_goes_through_the_roster_rules_and_joins_the_sheet(day, officer):
    branch = BranchFactory()
    data = lender_services.EntryInput(
        agent=AgentFactory(branch=branch),
        area=day["near"],
        depart_at=datetime.time(14),
        return_at=datetime.time(15),
        cash_band=CashBand.OVER_2L,
    )
    late = services.late_entry_add(date=TODAY, branch=branch, data=data, by=officer)
    assert late.is_late
    assert UncoveredEntry.objects.get(entry=late).reason == UncoveredEntry.Reason.LATE
    data.return_at = datetime.time(13)
    with pytest.raises(ValidationError) as exc:
        services.late_entry_add(date=TODAY, branch=branch, data=data, by=officer)
    assert "Return must be after departure" in str(exc.value)


def test_edits_on_an_old_version_reach_the_same_run_in_the_new_one(day, officer):
    services.duty_sheet_publish(date=TODAY, by=officer)
    services.run_set_meeting_point(date=TODAY, run=day["run"], meeting_point="Temple", by=officer)
    # The page still showed the published run; the edit lands on its copy in the draft.
    services.run_set_meeting_point(date=TODAY, run=day["run"], meeting_point="Market", by=officer)
    draft = DutySheet.objects.get(date=TODAY, status=DutySheet.Status.DRAFT)
    assert EscortRun.objects.get(sheet=draft).meeting_point == "Market"
    assert RunEntry.objects.filter(sheet=draft).count() == 2
