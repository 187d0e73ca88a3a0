"""The duty sheet's figures reach the SDPO's read model as changes commit, and a rebuild from
the station schema gives the same figures."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from escorts import services
from escorts.models import EscortRun
from escorts.tests.building import build_due
from escorts.tests.conftest import TODAY, entry
from escorts.tests.factories import TeamFactory
from lenders.models import CashBand
from lenders.tests.factories import AreaFactory
from stations import stats
from stations.models import StationDay
from stations.tests.factories import SubdivisionRoleFactory, UserFactory

pytestmark = pytest.mark.django_db


def _day(station) -> dict:
    """The station's figures once the minute job has recounted what changed."""
    stats.recount_waiting()
    day = StationDay.objects.get(station=station, date=TODAY)
    return {
        field.name: getattr(day, field.name)
        for field in StationDay._meta.fields
        if field.name not in ("id", "updated_at")
    }


def test_a_built_and_published_sheet_shows_on_the_dashboard_and_survives_a_rebuild(
    station, clock, django_capture_on_commit_callbacks
):
    TeamFactory(capacity=1)
    covered = entry(cash_band=CashBand.UNDER_50K)
    no_map = entry(area=AreaFactory(latitude=None, longitude=None), cash_band=CashBand.OVER_2L)
    with django_capture_on_commit_callbacks(execute=True):
        sheet = build_due()
    figures = _day(station)
    assert figures["entries"] == 2
    assert figures["entries_covered"] == 1
    assert figures["entries_uncovered"] == 1
    assert figures["uncovered_by_reason"] == {"no_coordinates": 1}
    assert figures["sheet_published"] is False
    assert [item["area"] for item in figures["high_priority_uncovered"]] == [no_map.area.name]

    with django_capture_on_commit_callbacks(execute=True):
        services.duty_sheet_publish(date=TODAY, by=UserFactory())
        run = EscortRun.objects.get(sheet__date=TODAY, sheet__status="published")
        services.run_set_status(run=run, status="acknowledged", by=UserFactory())
    figures = _day(station)
    assert figures["sheet_published"] is True
    assert figures["runs"] == 1
    assert figures["runs_acknowledged"] == 1
    assert covered.pk in run.entries.values_list("pk", flat=True)
    assert sheet.date == TODAY

    StationDay.objects.filter(station=station).delete()
    call_command(
        "rebuild_dashboard", "--from", TODAY.isoformat(), "--station", "debra", stdout=StringIO()
    )
    assert _day(station) == figures


def test_the_minute_job_makes_good_figures_a_lost_recount_left_wrong(
    station, clock, django_capture_on_commit_callbacks
):
    entry(cash_band=CashBand.UNDER_50K)
    StationDay.objects.update_or_create(station=station, date=TODAY, defaults={"entries": 99})

    with django_capture_on_commit_callbacks(execute=True):
        services.station_tick()

    assert _day(station)["entries"] == 1


def test_the_bengali_dashboard_names_the_area_and_the_reason_in_bengali(
    station, clock, client_for, django_capture_on_commit_callbacks
):
    TeamFactory(capacity=1)
    no_map = AreaFactory(name="Kalmijol", name_bn="কালমিজোল", latitude=None, longitude=None)
    entry(area=no_map, cash_band=CashBand.OVER_2L)
    with django_capture_on_commit_callbacks(execute=True):
        build_due()
    stats.recount_waiting()
    sdpo = SubdivisionRoleFactory(
        subdivision=station.subdivision, user=UserFactory(language="bn")
    ).user
    page = client_for(sdpo).get("/sdpo/").content.decode()
    assert "কালমিজোল" in page and "Kalmijol" not in page
    assert "এলাকার অবস্থান দেওয়া নেই" in page and "The area has no location" not in page
