"""A duty officer's rebuild mends the sheet it replaces: what still holds of it is kept."""

from __future__ import annotations

import pytest

from escorts import planning, services
from escorts.models import DutySheet, EscortRun, RunEntry, TeamOffDuty
from escorts.tests.building import build_due
from escorts.tests.conftest import TODAY, entry
from escorts.tests.factories import TeamFactory
from lenders.tests.factories import AreaFactory
from stations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _runs(sheet: DutySheet) -> set[tuple[int, str, frozenset[int]]]:
    return {
        (
            run.team_id,
            f"{run.start:%H:%M}-{run.end:%H:%M}",
            frozenset(link.entry_id for link in run.run_entries.all()),
        )
        for run in EscortRun.objects.filter(sheet=sheet).prefetch_related("run_entries")
    }


@pytest.fixture
def planner_calls(monkeypatch):
    """What the rebuild asked of the planner, the planner itself running as ever."""
    calls: list[dict] = []
    real = planning.planner.solve

    def recording(instance, **kwargs):
        calls.append(kwargs)
        return real(instance, **kwargs)

    monkeypatch.setattr(planning.planner, "solve", recording)
    return calls


def test_a_rebuild_after_a_team_goes_off_duty_keeps_the_other_teams_runs(
    station, clock, planner_calls
):
    stays, leaves = TeamFactory(capacity=2), TeamFactory(capacity=2)
    market, bazaar = AreaFactory(), AreaFactory()
    for area in (market, bazaar):
        entry(area=area)
        entry(area=area, start="10:30", end="11:30")
    first = build_due()
    assert {team for team, _, _ in _runs(first)} == {stays.pk, leaves.pk}
    TeamOffDuty.objects.create(team=leaves, date=TODAY)
    second = services.duty_sheet_rebuild(date=TODAY, by=UserFactory())
    services.duty_sheet_build_run(sheet_pk=second.pk)
    second.refresh_from_db()
    assert second.build_status == DutySheet.Build.DONE
    assert {run for run in _runs(first) if run[0] == stays.pk} == _runs(second)
    cutoff, rebuild = planner_calls
    assert cutoff.get("previous") is None
    assert rebuild["previous"] == planning.previous_plan(first)
    assert rebuild["seconds"] <= planning.REPLAN_SECONDS


def test_a_rebuild_plans_a_late_entry_next_to_the_runs_it_keeps(station, clock, planner_calls):
    TeamFactory(capacity=3)
    area = AreaFactory()
    early = [entry(area=area), entry(area=area, start="10:30", end="11:30")]
    first = build_due()
    late = entry(area=area, start="10:15", end="11:00")
    second = services.duty_sheet_rebuild(date=TODAY, by=UserFactory())
    services.duty_sheet_build_run(sheet_pk=second.pk)
    covered = set(RunEntry.objects.filter(sheet=second).values_list("entry_id", flat=True))
    assert covered == {early[0].pk, early[1].pk, late.pk}
    assert planner_calls[-1]["previous"] == planning.previous_plan(first)


def test_a_failed_or_missing_sheet_gives_no_plan_to_start_from(station, clock):
    TeamFactory()
    entry()
    assert planning.previous_plan(None) is None
    sheet, _ = services._build_claim(date=TODAY, origin=DutySheet.Origin.CUTOFF, by=None)
    sheet.build_status = DutySheet.Build.FAILED
    sheet.save(update_fields=["build_status"])
    assert planning.previous_plan(sheet) is None
