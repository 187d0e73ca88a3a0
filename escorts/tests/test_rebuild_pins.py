"""A rebuild keeps what the duty officer decided by hand: the runs they shaped are pinned, come
back unchanged in the new version, and the planner plans the rest around them. The Rebuild button
asks first, saying what is kept and what is replaced."""

from __future__ import annotations

import pytest
from django.db import connection

from escorts import planning, services
from escorts.models import DutySheet, EscortRun, RunEntry, TeamOffDuty, UncoveredEntry
from escorts.tests.building import build_due
from escorts.tests.conftest import TODAY, entry
from escorts.tests.factories import TeamFactory
from lenders.tests.factories import AreaFactory
from stations.models import StationRole
from stations.routing import station_reverse
from stations.tests.factories import StationRoleFactory, UserFactory

pytestmark = pytest.mark.django_db


def url(name: str, *args) -> str:
    return station_reverse(connection.tenant, name, *args)


@pytest.fixture
def duty(station):
    return StationRoleFactory(station=station, role=StationRole.Role.DUTY_OFFICER).user


@pytest.fixture
def instances(monkeypatch):
    """The instances the builds gave the planner, the planner itself running as ever."""
    seen = []
    real = planning.planner.solve

    def recording(instance, **kwargs):
        seen.append(instance)
        return real(instance, **kwargs)

    monkeypatch.setattr(planning.planner, "solve", recording)
    return seen


@pytest.fixture
def day(station, clock):
    """Three teams; two agents in one village and one in another, built at cut-off."""
    teams = [TeamFactory(name=name, capacity=2) for name in ("Alpha", "Bravo", "Charlie")]
    near = AreaFactory(name="Malancha")
    other = AreaFactory(name="Radhamohanpur", latitude=22.32, longitude=87.52)
    a = entry(area=near)
    b = entry(area=near, start="10:30", end="11:30")
    c = entry(area=other, start="13:00", end="14:00")
    sheet = build_due()
    return {"sheet": sheet, "teams": teams, "near": near, "a": a, "b": b, "c": c}


def _rebuild(by) -> DutySheet:
    sheet = services.duty_sheet_rebuild(date=TODAY, by=by)
    services.duty_sheet_build_run(sheet_pk=sheet.pk)
    sheet.refresh_from_db()
    assert sheet.build_status == DutySheet.Build.DONE
    return sheet


def _run_of(sheet: DutySheet, entry) -> EscortRun:
    return RunEntry.objects.select_related("run").get(sheet=sheet, entry=entry).run


def _free_team(day):
    """A team with no run on the latest sheet, so a run moved to it is the officer's choice."""
    sheet = DutySheet.objects.filter(date=TODAY).order_by("-version").first()
    used = set(EscortRun.objects.filter(sheet=sheet).values_list("team_id", flat=True))
    return next(team for team in day["teams"] if team.pk not in used)


def test_a_planner_run_is_not_pinned_and_every_hand_edit_pins_its_run(day):
    officer = UserFactory()
    assert not EscortRun.objects.filter(sheet=day["sheet"], pinned=True).exists()
    moved = services.run_move_entry(date=TODAY, entry=day["b"], to_team=_free_team(day), by=officer)
    assert moved.pinned
    run_c = _run_of(day["sheet"], day["c"])
    assert not run_c.pinned
    run_c = services.run_set_meeting_point(
        date=TODAY, run=run_c, meeting_point="Temple gate", by=officer
    )
    assert EscortRun.objects.get(pk=run_c.pk).pinned
    run_a = _run_of(day["sheet"], day["a"])
    late = entry(area=day["near"], start="10:15", end="11:00")
    services.run_move_entry(date=TODAY, entry=late, to_run=run_a, by=officer)
    assert EscortRun.objects.get(pk=run_a.pk).pinned


def test_a_team_changed_by_hand_or_a_run_made_by_hand_is_pinned(day):
    officer = UserFactory()
    made = services.run_create(date=TODAY, team=_free_team(day), entries=[day["c"]], by=officer)
    assert made.pinned
    run_a = _run_of(day["sheet"], day["a"])
    changed = services.run_change_team(date=TODAY, run=run_a, team=_free_team(day), by=officer)
    assert changed.pinned


def test_a_rebuild_keeps_a_pinned_runs_entries_team_times_and_meeting_point(day, instances):
    officer = UserFactory()
    team = _free_team(day)
    moved = services.run_move_entry(date=TODAY, entry=day["b"], to_team=team, by=officer)
    services.run_set_meeting_point(
        date=TODAY, run=moved, meeting_point="Harirajpur more, by the tea stall", by=officer
    )
    second = _rebuild(officer)
    kept = _run_of(second, day["b"])
    assert kept.team_id == team.pk
    assert (kept.start, kept.end) == (moved.start, moved.end)
    assert [link.entry_id for link in kept.run_entries.all()] == [day["b"].pk]
    assert kept.meeting_point == "Harirajpur more, by the tea stall"
    assert kept.pinned and kept.copied_from_id == moved.pk and kept.created_by == officer
    # The planner was told to keep it, not left to find it again.
    pinned = instances[-1].pinned_runs
    assert [run.requests for run in pinned] == [(f"e{day['b'].pk}",)]
    assert pinned[0].team == f"t{team.pk}"


def test_unpinned_work_is_replanned_around_the_pinned_run(day):
    officer = UserFactory()
    pinned_team = _free_team(day)
    moved = services.run_move_entry(date=TODAY, entry=day["b"], to_team=pinned_team, by=officer)
    unpinned = _run_of(day["sheet"], day["c"])
    TeamOffDuty.objects.create(team=unpinned.team, date=TODAY)
    late = entry(area=day["near"], start="10:00", end="11:00")
    second = _rebuild(officer)
    replanned = _run_of(second, day["c"])
    assert replanned.team_id != unpinned.team_id and not replanned.pinned
    covered = set(RunEntry.objects.filter(sheet=second).values_list("entry_id", flat=True))
    assert {day["a"].pk, day["b"].pk, day["c"].pk, late.pk} <= covered
    kept = _run_of(second, day["b"])
    assert kept.team_id == pinned_team.pk and kept.start == moved.start and kept.end == moved.end


def test_a_pinned_run_whose_team_went_off_duty_is_replanned(day):
    officer = UserFactory()
    team = _free_team(day)
    services.run_move_entry(date=TODAY, entry=day["b"], to_team=team, by=officer)
    TeamOffDuty.objects.create(team=team, date=TODAY)
    second = _rebuild(officer)
    replanned = _run_of(second, day["b"])
    assert replanned.team_id != team.pk and not replanned.pinned


def test_an_entry_taken_off_by_hand_stays_off_after_a_rebuild(day, instances):
    officer = UserFactory()
    services.run_remove_entry(date=TODAY, entry=day["c"], by=officer)
    second = _rebuild(officer)
    assert not RunEntry.objects.filter(sheet=second, entry=day["c"]).exists()
    item = UncoveredEntry.objects.get(sheet=second, entry=day["c"])
    assert item.reason == UncoveredEntry.Reason.REMOVED
    assert f"e{day['c'].pk}" not in {request.id for request in instances[-1].requests}
    # Put on a run again, it is planned like any other entry at the next rebuild.
    services.run_move_entry(date=TODAY, entry=day["c"], to_team=_free_team(day), by=officer)
    third = _rebuild(officer)
    assert RunEntry.objects.filter(sheet=third, entry=day["c"]).exists()


def test_an_unpinned_run_is_replanned_and_pinning_twice_changes_nothing(day, instances):
    officer = UserFactory()
    run_a = _run_of(day["sheet"], day["a"])
    services.run_set_pinned(date=TODAY, run=run_a, pinned=True, by=officer)
    services.run_set_pinned(date=TODAY, run=run_a, pinned=True, by=officer)
    assert EscortRun.objects.get(pk=run_a.pk).pinned
    services.run_set_pinned(date=TODAY, run=run_a, pinned=False, by=officer)
    _rebuild(officer)
    assert instances[-1].pinned_runs == ()


# --- The pages ---


def test_rebuild_asks_first_listing_what_is_kept_and_what_is_replaced(day, duty, client_for):
    team = _free_team(day)
    moved = services.run_move_entry(date=TODAY, entry=day["b"], to_team=team, by=duty)
    client = client_for(duty)
    sheet_page = client.get(url("escorts:sheet", TODAY)).content.decode()
    # The button is a link to the question, not a form that rebuilds.
    assert f'href="{url("escorts:sheet_rebuild", TODAY)}"' in sheet_page
    assert f'action="{url("escorts:sheet_rebuild", TODAY)}"' not in sheet_page
    assert "data-pinned" in sheet_page
    versions = DutySheet.objects.count()
    page = client.get(url("escorts:sheet_rebuild", TODAY)).content.decode()
    assert DutySheet.objects.count() == versions  # a GET rebuilds nothing
    assert f"R{moved.pk} · {team.name}" in page
    unpinned = EscortRun.objects.filter(sheet=day["sheet"], pinned=False).count()
    assert unpinned >= 1
    assert f"{unpinned} unpinned run" in page
    assert "Yes, rebuild" in page


def test_confirming_the_rebuild_makes_a_new_version(day, duty, client_for):
    client = client_for(duty)
    response = client.post(url("escorts:sheet_rebuild", TODAY))
    assert response.status_code == 302
    latest = DutySheet.objects.filter(date=TODAY).order_by("-version").first()
    assert latest.version == day["sheet"].version + 1
    assert latest.origin == DutySheet.Origin.REBUILD


def test_the_officer_pins_and_unpins_a_run_from_the_sheet(day, duty, client_for):
    client = client_for(duty)
    run = _run_of(day["sheet"], day["c"])
    pin = url("escorts:run_pin", TODAY, run.pk)
    assert pin in client.get(url("escorts:sheet", TODAY)).content.decode()
    assert client.post(pin, {"pinned": "1"}).status_code == 302
    assert EscortRun.objects.get(pk=run.pk).pinned
    assert client.get(pin).status_code == 405
    assert client.post(pin, {"pinned": "0"}).status_code == 302
    assert not EscortRun.objects.get(pk=run.pk).pinned
