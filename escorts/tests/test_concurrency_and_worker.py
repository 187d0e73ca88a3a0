"""The build with real concurrency: two connections at once, and a real Celery worker.

These tests need rows other connections can see, so they commit them from a thread of their
own and delete them again afterwards (the test's own transaction would hide them)."""

from __future__ import annotations

import datetime
import threading
import time

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import tenant_context

from escort_portal.celery import app
from escorts import services
from escorts.models import DutySheet, EscortRun, EscortTeam, Officer
from escorts.tasks import station_tick, tick_all_stations
from escorts.tests.building import build_due
from escorts.tests.conftest import IST, entry, in_other_connection
from escorts.tests.factories import TeamFactory
from lenders.models import CollectionArea, FieldAgent, LenderBranch, Roster
from lenders.tests.factories import AreaFactory, BranchFactory
from stations.models import Station, StationJobDue, User

pytestmark = pytest.mark.django_db


def _seed(date: datetime.date) -> None:
    TeamFactory(name="Concurrent team", capacity=3)
    branch = BranchFactory(lender_name="Committed lender")
    area = AreaFactory(name="Committed village")
    entry(branch=branch, area=area, date=date)
    entry(branch=branch, area=area, date=date, start="10:15", end="11:00")


def _clean(date: datetime.date) -> None:
    StationJobDue.objects.all().delete()  # the worker's tick stores the station's next time
    DutySheet.objects.filter(date=date).delete()
    Roster.objects.filter(branch__lender_name="Committed lender").delete()
    FieldAgent.objects.filter(branch__lender_name="Committed lender").delete()
    LenderBranch.objects.filter(lender_name="Committed lender").delete()
    CollectionArea.objects.filter(name="Committed village").delete()
    EscortTeam.objects.filter(name="Concurrent team").delete()
    Officer.objects.filter(teams_led__isnull=True, teams__isnull=True).delete()


@pytest.fixture
def committed(debra):
    made: list[datetime.date] = []

    def seed(date: datetime.date) -> None:
        in_other_connection(debra, lambda: _clean(date))
        in_other_connection(debra, lambda: _seed(date))
        made.append(date)

    yield seed
    for date in made:
        in_other_connection(debra, lambda date=date: _clean(date))


def test_two_builds_at_once_make_one_sheet(debra, committed):
    date = datetime.date(2026, 12, 5)
    committed(date)
    now = datetime.datetime(2026, 12, 5, 9, 0, tzinfo=IST)
    barrier = threading.Barrier(2)
    results: list = []

    def build() -> None:
        with tenant_context(debra):
            connection.tenant.planner_seconds = 1
            barrier.wait(timeout=30)
            sheet = build_due(now=now)
            results.append(sheet.pk if sheet else None)
        connection.close()

    threads = [threading.Thread(target=lambda: in_other_connection(debra, build)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    def count() -> tuple[int, int]:
        return (
            DutySheet.objects.filter(date=date).count(),
            EscortRun.objects.filter(sheet__date=date).count(),
        )

    # One claimed the date and built; the other found it claimed.
    assert sorted(pk is not None for pk in results) == [False, True]
    assert in_other_connection(debra, count) == (1, 1)


@pytest.fixture
def early_cutoff(debra):
    """Cut-off at midnight and a one-second planner for the worker, put back afterwards."""
    saved = (debra.roster_cutoff, debra.planner_seconds)

    def change(cutoff: datetime.time, seconds: int) -> None:
        def work() -> None:
            Station.objects.filter(pk=debra.pk).update(
                roster_cutoff=cutoff, planner_seconds=seconds
            )

        in_other_connection(debra, work)

    change(datetime.time(0, 0), 1)
    yield
    change(*saved)


def test_the_worker_builds_todays_draft_at_cut_off(debra, committed, early_cutoff, celery_worker):
    from django.utils import timezone

    today = timezone.localdate()
    committed(today)
    with tenant_context(debra):
        station_tick.delay()

    def built() -> tuple[str, int] | None:
        sheet = DutySheet.objects.filter(date=today).first()
        if sheet is None or sheet.is_building:
            return None
        return sheet.build_status, EscortRun.objects.filter(sheet=sheet).count()

    deadline = time.monotonic() + 60
    outcome = None
    while time.monotonic() < deadline and outcome is None:
        outcome = in_other_connection(debra, built)
        time.sleep(0.3)
    assert outcome == (DutySheet.Build.DONE, 1)
    statuses = in_other_connection(
        debra, lambda: set(Roster.objects.filter(date=today).values_list("status", flat=True))
    )
    assert statuses == {Roster.Status.LOCKED}
    assert celery_worker.poll() is None


def test_the_beat_task_queues_the_tick_in_every_station_without_a_next_time(debra):
    StationJobDue.objects.all().delete()
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    client = app.connection_for_write().default_channel.client
    client.delete(queue)
    try:
        assert tick_all_stations() == Station.objects.live().count()
        assert client.llen(queue) == Station.objects.live().count()
    finally:
        client.delete(queue)


def test_the_worker_rebuilds_keeping_the_meeting_point_the_officer_set(
    debra, committed, celery_worker
):
    date = datetime.date(2026, 12, 7)
    committed(date)
    officer = in_other_connection(debra, lambda: User.objects.create(username="pin-rebuilder"))

    def first_version() -> int:
        sheet, _ = services._build_claim(date=date, origin=DutySheet.Origin.CUTOFF, by=None)
        services.duty_sheet_build_run(sheet_pk=sheet.pk)
        run = EscortRun.objects.get(sheet=sheet)
        services.run_set_meeting_point(date=date, run=run, meeting_point="Temple gate", by=officer)
        return services.duty_sheet_rebuild(date=date, by=officer).version

    try:
        version = in_other_connection(debra, first_version)

        def rebuilt() -> tuple[str, str, bool] | None:
            sheet = DutySheet.objects.filter(date=date, version=version).first()
            if sheet is None or sheet.is_building:
                return None
            run = EscortRun.objects.get(sheet=sheet)
            return sheet.build_status, run.meeting_point, run.pinned

        deadline = time.monotonic() + 60
        outcome = None
        while time.monotonic() < deadline and outcome is None:
            outcome = in_other_connection(debra, rebuilt)
            time.sleep(0.3)
        assert outcome == (DutySheet.Build.DONE, "Temple gate", True)
        assert celery_worker.poll() is None
    finally:
        in_other_connection(debra, lambda: _clean(date))
        in_other_connection(debra, lambda: User.objects.filter(pk=officer.pk).delete())
