"""The minute jobs enter only the stations with something due: the times each station's run
stores, the changes that bring them forward, the sweep that bounds them, and a real worker."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from escort_portal.celery import app
from escort_portal.testing import wait_for
from escorts import services
from escorts.models import DutySheet, EscortRun
from escorts.tasks import tick_all_stations
from escorts.tests.building import build_due
from escorts.tests.conftest import IST, TODAY, entry, in_other_connection
from escorts.tests.factories import TeamFactory
from lenders import services as lender_services
from lenders.tasks import roster_reminders_all_stations
from lenders.tests.factories import AreaFactory, BranchFactory
from stations import due
from stations.models import Station, StationDayRecount, StationJobDue, WorkerHeartbeat
from stations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

EARLY = datetime.datetime(2026, 12, 1, 7, 0, tzinfo=IST)
TICK = services.TICK_JOB


def _due_at(station: Station, job: str = TICK) -> datetime.datetime:
    return StationJobDue.objects.get(station=station, job=job).due_at


@pytest.fixture
def queue():
    """The test queue, emptied before and after; returns its length."""
    name = settings.CELERY_TASK_DEFAULT_QUEUE
    client = app.connection_for_write().default_channel.client
    client.delete(name)
    yield lambda: client.llen(name)
    client.delete(name)


def test_a_tick_before_cut_off_is_next_due_at_the_cut_off(station):
    cutoff = lender_services.cutoff_at(TODAY)
    with time_machine.travel(cutoff - datetime.timedelta(minutes=20), tick=False):
        services.station_tick()
    assert _due_at(station) == lender_services.cutoff_at(TODAY)


def test_a_published_sheet_makes_its_runs_watch_times_due(station, clock):
    TeamFactory(name="Alpha")
    area = AreaFactory()
    entry(area=area, start="10:00", end="12:00")
    build_due()
    services.duty_sheet_publish(date=TODAY, by=UserFactory())
    run = EscortRun.objects.get(sheet__date=TODAY)
    begins = datetime.datetime.combine(TODAY, run.start, tzinfo=IST)
    minutes = datetime.timedelta(minutes=1)
    services.station_tick()
    # 09:00: the run is to be acknowledged 30 minutes before its start.
    assert _due_at(station) == begins - 30 * minutes
    clock.move_to(begins - 30 * minutes)
    services.station_tick()
    assert _due_at(station) == begins
    clock.move_to(begins)
    services.station_tick()
    assert _due_at(station) == begins + 15 * minutes  # the start grace
    run.status, run.started_at = EscortRun.Status.STARTED, begins + 15 * minutes
    run.save(update_fields=["status", "started_at"])
    clock.move_to(begins + 15 * minutes)
    services.station_tick()
    # Started: its first check-in is due 20 minutes on, and it turns red 10 minutes later.
    assert _due_at(station) == begins + 35 * minutes
    clock.move_to(begins + 35 * minutes)
    services.station_tick()
    assert _due_at(station) == begins + 45 * minutes
    clock.move_to(begins + 45 * minutes)
    services.station_tick()
    # Red and told: nothing more today; the next work is midnight, nearer is the sweep.
    sweep = datetime.timedelta(minutes=settings.STATION_JOB_SWEEP_MINUTES)
    assert _due_at(station) == begins + 45 * minutes + sweep


def test_a_station_far_from_its_next_work_is_still_entered_within_the_sweep(station, clock):
    build_due()  # today's draft built
    services.station_tick()  # 09:00: next work is midnight
    sweep = datetime.timedelta(minutes=settings.STATION_JOB_SWEEP_MINUTES)
    assert _due_at(station) == datetime.datetime(2026, 12, 1, 9, 0, tzinfo=IST) + sweep


def test_new_settings_make_the_station_due_at_once(station, django_capture_on_commit_callbacks):
    with time_machine.travel(EARLY, tick=False):
        services.station_tick()
        lender_services.roster_reminders_run()
        with django_capture_on_commit_callbacks(execute=True):
            services.station_escort_settings_update(
                station=station,
                roster_cutoff=datetime.time(7, 30),
                planner_seconds=1,
                default_speed_kmph=station.default_speed_kmph,
                reminder_lead_minutes=station.reminder_lead_minutes,
                retention_days=station.retention_days,
                by=UserFactory(),
            )
        assert _due_at(station) == EARLY
        assert _due_at(station, lender_services.REMINDERS_JOB) == EARLY
        assert station in due.stations_due(job=TICK)


def test_a_run_does_not_push_back_a_time_a_change_brought_forward_after_it_began(
    station, django_capture_on_commit_callbacks
):
    begun = EARLY
    with (
        time_machine.travel(EARLY + datetime.timedelta(seconds=5), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        due.due_now(TICK)
    stored = due.due_set(job=TICK, at=begun + datetime.timedelta(hours=1), started=begun)
    assert not stored
    assert _due_at(station) == EARLY + datetime.timedelta(seconds=5)


def test_the_reminder_job_is_next_due_when_the_window_opens_and_again_on_approval(
    station, django_capture_on_commit_callbacks
):
    lead = datetime.timedelta(minutes=station.reminder_lead_minutes)
    opens = lender_services.cutoff_at(TODAY) - lead
    with time_machine.travel(opens - datetime.timedelta(hours=1), tick=False):
        lender_services.roster_reminders_run()
    assert _due_at(station, lender_services.REMINDERS_JOB) == opens
    branch = BranchFactory(status="pending")
    with time_machine.travel(opens, tick=False):
        lender_services.roster_reminders_run()
        assert _due_at(station, lender_services.REMINDERS_JOB) > opens
        with django_capture_on_commit_callbacks(execute=True):
            lender_services.branch_approve(branch=branch, by=UserFactory())
        assert _due_at(station, lender_services.REMINDERS_JOB) == opens


def test_the_beat_entries_queue_only_in_stations_with_something_due(debra, pingla, queue):
    live = Station.objects.live().count()
    later = datetime.datetime.now(IST) + datetime.timedelta(hours=1)
    for station in Station.objects.live().exclude(pk=debra.pk):
        for job in (TICK, lender_services.REMINDERS_JOB):
            StationJobDue.objects.create(station=station, job=job, due_at=later)
    assert live > 1
    assert tick_all_stations() == 1
    assert roster_reminders_all_stations() == 1
    assert queue() == 2


def test_a_real_worker_ticks_the_due_station_and_stores_its_next_time(
    debra, pingla, queue, celery_worker
):
    later = datetime.datetime.now(IST) + datetime.timedelta(hours=1)

    def setup() -> None:
        StationJobDue.objects.filter(job=TICK).delete()
        for station in Station.objects.live().exclude(pk=debra.pk):
            StationJobDue.objects.create(station=station, job=TICK, due_at=later)

    def debra_due() -> datetime.datetime | None:
        row = StationJobDue.objects.filter(station=debra, job=TICK).first()
        return row.due_at if row else None

    in_other_connection(debra, setup)
    try:
        started = timezone.now()
        assert tick_all_stations() == 1
        assert wait_for(lambda: in_other_connection(debra, debra_due) is not None)
        stored = in_other_connection(debra, debra_due)
        assert stored > datetime.datetime.now(IST)
        # The tick is the station's "scheduled jobs last ran" on its page.
        assert wait_for(
            lambda: WorkerHeartbeat.objects.filter(
                schema_name="debra", seen_at__gte=started
            ).exists()
        )
        with tenant_context(debra):
            assert debra not in due.stations_due(job=TICK)
        assert tick_all_stations() == 0
        assert celery_worker.poll() is None
    finally:

        def clean() -> None:
            StationJobDue.objects.filter(job=TICK).delete()
            # After the real cut-off the worker's tick builds today's (real) draft: it must not
            # stay for the tests that follow.
            DutySheet.objects.filter(date=timezone.localdate()).delete()
            StationDayRecount.objects.all().delete()

        in_other_connection(debra, clean)
