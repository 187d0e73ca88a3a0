"""The dashboard's read model is recounted by the minute job after a change commits, never in
the change's request or under its transaction, and still counts every change exactly."""

from __future__ import annotations

import datetime
import threading

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from escorts.tests.conftest import in_other_connection
from lenders import services as lender_services
from lenders.models import CashBand, CollectionArea, FieldAgent, LenderBranch, Roster
from lenders.tests.factories import AgentFactory, AreaFactory, BranchFactory
from stations import stats
from stations.models import Station, StationDay, StationDayRecount, User
from stations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
# 07:00 on 8 December 2026, before the 08:30 cut-off: a day no other test commits rows for.
MORNING = datetime.datetime(2026, 12, 8, 7, 0, tzinfo=IST)
TODAY = MORNING.date()
TOMORROW = TODAY + datetime.timedelta(days=1)


@pytest.fixture
def clock():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


def _day(station: Station, date: datetime.date = TODAY) -> dict:
    day = StationDay.objects.get(station=station, date=date)
    return {
        field.name: getattr(day, field.name)
        for field in StationDay._meta.fields
        if field.name not in ("id", "updated_at")
    }


def _file(
    branch: LenderBranch,
    agent: FieldAgent,
    area: CollectionArea,
    by: User,
    date: datetime.date = TODAY,
) -> None:
    lender_services.roster_entry_add(
        branch=branch,
        date=date,
        data=lender_services.EntryInput(
            agent=agent,
            area=area,
            depart_at=datetime.time(9, 0),
            return_at=datetime.time(10, 0),
            cash_band=CashBand.UNDER_50K,
        ),
        by=by,
    )


def _day_locks(captured: CaptureQueriesContext) -> int:
    return sum(
        '"stations_stationday"' in query["sql"] and "FOR UPDATE" in query["sql"]
        for query in captured.captured_queries
    )


def _marks(station: Station) -> list[datetime.date]:
    return sorted(StationDayRecount.objects.filter(station=station).values_list("date", flat=True))


def test_a_filing_reaches_the_dashboard_by_the_minute_job_not_in_its_request(
    in_debra, clock, no_marks, django_capture_on_commit_callbacks
):
    branch, area, user = BranchFactory(), AreaFactory(), UserFactory()
    with (
        CaptureQueriesContext(connection) as filing,
        django_capture_on_commit_callbacks(execute=True),
    ):
        _file(branch, AgentFactory(branch=branch), area, user)
    assert not any('stations_stationday"' in query["sql"] for query in filing)
    assert not StationDay.objects.filter(station=in_debra, date=TODAY).exists()
    assert _marks(in_debra) == [TODAY]
    assert stats.recount_waiting() == 1
    figures = _day(in_debra)
    assert figures["entries"] == 1
    assert figures["rosters_filed"] == 1
    assert _marks(in_debra) == []
    stats.refresh(date=TODAY)
    assert _day(in_debra) == figures


def test_changes_of_one_day_wait_as_one_mark_and_are_recounted_once(
    in_debra, clock, no_marks, django_capture_on_commit_callbacks
):
    branch, area, user = BranchFactory(), AreaFactory(), UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        _file(branch, AgentFactory(branch=branch), area, user)
        _file(branch, AgentFactory(branch=branch), area, user)
        _file(branch, AgentFactory(branch=branch), area, user, date=TOMORROW)
    with django_capture_on_commit_callbacks(execute=True):
        _file(branch, AgentFactory(branch=branch), area, user)
    assert _marks(in_debra) == [TODAY, TOMORROW]
    with CaptureQueriesContext(connection) as captured:
        assert stats.recount_waiting() == 2
    assert _day_locks(captured) == 2  # today and tomorrow
    assert _day(in_debra)["entries"] == 3
    assert _day(in_debra, TOMORROW)["entries"] == 1


def test_a_change_rolled_back_leaves_the_next_change_recounted(
    in_debra, clock, django_capture_on_commit_callbacks
):
    branch, area, user = BranchFactory(), AreaFactory(), UserFactory()

    class Undo(Exception):
        pass

    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(Undo), transaction.atomic():
            _file(branch, AgentFactory(branch=branch), area, user)
            raise Undo
        _file(branch, AgentFactory(branch=branch), area, user)
    stats.recount_waiting()
    assert _day(in_debra)["entries"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        _file(branch, AgentFactory(branch=branch), area, user)
    stats.recount_waiting()
    assert _day(in_debra)["entries"] == 2


def test_the_recount_runs_in_the_station_of_the_change_whatever_the_schema_at_commit(
    debra, clock, django_capture_on_commit_callbacks
):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        with tenant_context(debra):
            branch, area = BranchFactory(), AreaFactory()
            _file(branch, AgentFactory(branch=branch), area, user)
        assert connection.schema_name == "public"
    stats.recount_waiting()
    assert _day(debra)["entries"] == 1


def test_the_minute_job_is_on_the_beat_schedule():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["dashboard-recount"]
    assert entry["task"] == "stations.dashboard_recount"
    assert entry["schedule"] <= 60


LENDERS = 6


@pytest.fixture
def filers(debra):
    """Branches with an agent each, an area and a user, committed; removed afterwards."""

    def make() -> tuple[User, CollectionArea, list[tuple[LenderBranch, FieldAgent]]]:
        user = UserFactory(username="concurrent-filer")
        area = AreaFactory(name="Concurrent bazar")
        branches = [BranchFactory(lender_name="Concurrent lender") for _ in range(LENDERS)]
        return user, area, [(branch, AgentFactory(branch=branch)) for branch in branches]

    def clean() -> None:
        Roster.objects.filter(branch__lender_name="Concurrent lender").delete()
        FieldAgent.objects.filter(branch__lender_name="Concurrent lender").delete()
        LenderBranch.objects.filter(lender_name="Concurrent lender").delete()
        CollectionArea.objects.filter(name="Concurrent bazar").delete()
        StationDay.objects.filter(station=debra, date=TODAY).delete()
        StationDayRecount.objects.filter(station=debra).delete()
        User.objects.filter(username="concurrent-filer").delete()

    in_other_connection(debra, clean)
    try:
        yield in_other_connection(debra, make)
    finally:
        in_other_connection(debra, clean)


def test_lenders_filing_at_the_same_moment_are_all_counted(debra, clock, filers):
    user, area, branches = filers
    barrier = threading.Barrier(LENDERS)
    errors: list[BaseException] = []

    def file(branch: LenderBranch, agent: FieldAgent) -> None:
        # A connection of its own per lender, as each gunicorn worker has.
        try:
            with tenant_context(debra):
                barrier.wait(timeout=30)
                _file(branch, agent, area, user)
        except BaseException as exc:  # noqa: BLE001  (handed back to the test thread)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=file, args=pair) for pair in branches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []

    def counted_and_recounted() -> tuple[dict, dict]:
        assert _marks(debra) == [TODAY]
        assert stats.recount_waiting() == 1
        counted = _day(debra)
        stats.refresh(date=TODAY)
        return counted, _day(debra)

    counted, recounted = in_other_connection(debra, counted_and_recounted)
    assert counted["entries"] == LENDERS
    assert counted == recounted
