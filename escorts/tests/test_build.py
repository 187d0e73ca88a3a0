"""The cut-off job and the build of a draft sheet, through the services the tasks call."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from escorts import planning, services
from escorts.models import (
    DutySheet,
    EscortRun,
    RunEntry,
    TeamOffDuty,
    UncoveredEntry,
    build_grace,
)
from escorts.tests.building import build_due
from escorts.tests.conftest import MORNING, TODAY, entry
from escorts.tests.factories import TeamFactory
from incidents import services as incident_services
from lenders.models import CashBand, CollectionArea, Roster
from lenders.tests.factories import AreaFactory
from stations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _reasons(sheet: DutySheet) -> dict[int, str]:
    return dict(UncoveredEntry.objects.filter(sheet=sheet).values_list("entry_id", "reason"))


def test_nothing_is_built_before_the_cut_off(station, clock):
    clock.move_to(MORNING.replace(hour=8, minute=29))
    entry()
    assert build_due() is None
    assert not DutySheet.objects.exists()


def test_at_cut_off_it_locks_rosters_and_builds_one_draft(station, clock):
    TeamFactory(capacity=2)
    area = AreaFactory()
    a, b = entry(area=area), entry(area=area, start="10:30", end="11:30")
    sheet = build_due()
    assert sheet.version == 1
    assert sheet.status == DutySheet.Status.DRAFT
    assert sheet.build_status == DutySheet.Build.DONE
    assert sheet.origin == DutySheet.Origin.CUTOFF
    run = EscortRun.objects.get(sheet=sheet)
    assert {link.entry_id for link in run.run_entries.all()} == {a.pk, b.pk}
    assert (run.start, run.end) == (datetime.time(10, 0), datetime.time(12, 0))
    assert set(Roster.objects.values_list("status", flat=True)) == {Roster.Status.LOCKED}
    # Run again (a retry, the next minute's tick): nothing new.
    assert build_due() is None
    assert DutySheet.objects.count() == 1


def test_every_uncovered_entry_has_its_reason(station, clock):
    TeamFactory(capacity=1, shift_start=datetime.time(8), shift_end=datetime.time(14))
    area = AreaFactory()
    nowhere = AreaFactory(latitude=None, longitude=None)
    covered = entry(area=area, cash_band=CashBand.OVER_2L)
    crowded = entry(area=area, cash_band=CashBand.UNDER_50K)
    no_map = entry(area=nowhere)
    evening = entry(area=area, start="15:00", end="18:00")
    sheet = build_due()
    assert RunEntry.objects.filter(sheet=sheet).get().entry_id == covered.pk
    assert _reasons(sheet) == {
        crowded.pk: UncoveredEntry.Reason.NO_TEAM_FREE,
        no_map.pk: UncoveredEntry.Reason.NO_COORDINATES,
        evening.pk: UncoveredEntry.Reason.OUTSIDE_SHIFTS,
    }


def test_teams_off_duty_and_inactive_are_left_out(station, clock):
    off = TeamFactory()
    TeamOffDuty.objects.create(team=off, date=TODAY)
    TeamFactory(active=False)
    item = entry()
    sheet = build_due()
    assert not EscortRun.objects.filter(sheet=sheet).exists()
    assert _reasons(sheet) == {item.pk: UncoveredEntry.Reason.NO_TEAM_ON_DUTY}


def test_the_priority_table_puts_cash_and_risk_first(station):
    high = AreaFactory(risk=CollectionArea.Risk.HIGH)
    normal = AreaFactory()
    assert planning.priority(entry(area=high, cash_band=CashBand.OVER_2L), raised=set()) == 10
    assert planning.priority(entry(area=normal, cash_band=CashBand.UNDER_50K), raised=set()) == 1
    bands = [(band, risk) for band in CashBand.values for risk in CollectionArea.Risk.values]
    assert set(planning.PRIORITY) == set(bands)


def test_a_recent_snatching_plans_its_area_as_high_risk(station, clock):
    area = AreaFactory()
    item = entry(area=area, cash_band=CashBand.OVER_2L)
    assert planning.priority(item, raised=planning.raised_risk_area_ids(TODAY)) == 6
    incident_services.incident_record(
        by=UserFactory(), occurred_at=timezone.now(), kind="snatching", area=area
    )
    assert planning.priority(item, raised=planning.raised_risk_area_ids(TODAY)) == 10


def test_a_rebuild_makes_a_new_version_and_keeps_the_old(
    station, clock, django_capture_on_commit_callbacks
):
    TeamFactory()
    entry()
    first = build_due()
    officer = UserFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        second = services.duty_sheet_rebuild(date=TODAY, by=officer)
    assert len(callbacks) == 2  # the build is queued for a worker; the minute job is told
    assert second.version == 2 and second.is_building
    # Asked again while it builds: the same version, nothing queued.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.duty_sheet_rebuild(date=TODAY, by=officer) == second
    assert callbacks == []
    services.duty_sheet_build_run(sheet_pk=second.pk)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == DutySheet.Status.SUPERSEDED
    assert second.status == DutySheet.Status.DRAFT
    assert second.build_status == DutySheet.Build.DONE
    assert second.created_by == officer
    assert EscortRun.objects.filter(sheet=first).count() == 1
    assert EscortRun.objects.filter(sheet=second).count() == 1
    # A retried build task of a finished version changes nothing.
    services.duty_sheet_build_run(sheet_pk=second.pk)
    assert EscortRun.objects.filter(sheet=second).count() == 1


def test_a_build_that_dies_is_marked_failed_and_can_be_rebuilt(station, clock, monkeypatch):
    TeamFactory()
    entry()
    sheet, claimed = services._build_claim(date=TODAY, origin=DutySheet.Origin.CUTOFF, by=None)
    assert claimed

    def boom(*args, **kwargs):
        raise RuntimeError("planner crashed")

    monkeypatch.setattr(planning, "solve", boom)
    with pytest.raises(RuntimeError):
        services.duty_sheet_build_run(sheet_pk=sheet.pk)
    sheet.refresh_from_db()
    assert sheet.build_status == DutySheet.Build.FAILED
    monkeypatch.undo()
    rebuilt = services.duty_sheet_rebuild(date=TODAY, by=UserFactory())
    assert rebuilt.version == 2


def test_the_database_allows_one_draft_and_one_row_per_version(station):
    DutySheet.objects.create(date=TODAY, version=1, origin=DutySheet.Origin.CUTOFF)
    with pytest.raises(IntegrityError), transaction.atomic():
        DutySheet.objects.create(date=TODAY, version=2, origin=DutySheet.Origin.REBUILD)
    with pytest.raises(IntegrityError), transaction.atomic():
        DutySheet.objects.create(
            date=TODAY, version=1, origin=DutySheet.Origin.REBUILD, status="superseded"
        )


def test_a_build_abandoned_by_a_killed_worker_is_rebuilt_by_the_next_cut_off_job(station, clock):
    TeamFactory()
    entry()
    # The worker died after starting the build: the version is left "building".
    abandoned, claimed = services._build_claim(date=TODAY, origin=DutySheet.Origin.CUTOFF, by=None)
    assert claimed
    services._build_start(abandoned)
    assert build_due() is None  # still within its time and grace
    clock.move_to(MORNING + build_grace() + datetime.timedelta(minutes=1))
    rebuilt = build_due()
    assert rebuilt is not None
    assert rebuilt.version == abandoned.version + 1
    assert rebuilt.build_status == DutySheet.Build.DONE
    abandoned.refresh_from_db()
    assert abandoned.status == DutySheet.Status.SUPERSEDED
    assert abandoned.build_status == DutySheet.Build.FAILED
    assert DutySheet.objects.filter(date=TODAY, status=DutySheet.Status.DRAFT).count() == 1
