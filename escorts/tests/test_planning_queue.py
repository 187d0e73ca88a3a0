"""The morning's drafts on a queue of their own: what the cut-off job queues, where, in which
order, and with what planner budget."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings
from django_tenants.utils import tenant_context

from escort_portal.celery import WorkerJobs, app
from escorts import planning, services
from escorts.models import DutySheet
from escorts.tests.conftest import MORNING, TODAY, entry
from escorts.tests.factories import TeamFactory
from stations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued() -> Iterator[Callable[[str], list[tuple[str, list]]]]:
    """The test broker's queues emptied before and after; reads a queue's messages (task name and
    arguments) in the order a worker gets them."""
    channel = app.connection_for_write().default_channel
    keys = [
        channel._q_for_pri(queue, priority)
        for queue in settings.CELERY_TASK_QUEUES
        for priority in channel.priority_steps
    ]
    channel.client.delete(*keys)

    def read(queue: str) -> list[tuple[str, list]]:
        found = []
        with app.connection_for_read() as connection:
            consumer = connection.SimpleQueue(queue)
            while True:
                try:
                    message = consumer.get(timeout=0.5)
                except consumer.Empty:
                    break
                found.append((message.headers["task"], message.payload[0]))
                message.ack()
            consumer.close()
        return found

    yield read
    channel.client.delete(*keys)


def test_the_cut_off_queues_the_draft_for_a_planning_worker_and_the_minute_job_goes_on(
    station, clock, queued, django_capture_on_commit_callbacks
):
    TeamFactory()
    entry(start="10:00", end="12:00")
    with django_capture_on_commit_callbacks(execute=True):
        services.station_tick()
    sheet = DutySheet.objects.get(date=TODAY)
    # The minute job claimed the version and left the planning to the planning queue.
    assert (sheet.build_status, sheet.build_stage) == (DutySheet.Build.RUNNING, "queued")
    assert sheet.build_started_at is None
    assert queued(settings.CELERY_PLANNING_QUEUE) == [("escorts.duty_sheet_build", [sheet.pk])]
    assert queued(settings.CELERY_TASK_DEFAULT_QUEUE) == []
    built = services.duty_sheet_build_run(sheet_pk=sheet.pk)
    assert built.build_status == DutySheet.Build.DONE
    assert built.build_started_at is not None


def test_the_minute_jobs_and_notifications_stay_on_the_default_queue():
    route = app.amqp.router.route
    assert route({}, "escorts.duty_sheet_build")["queue"].name == settings.CELERY_PLANNING_QUEUE
    for name in ("escorts.station_tick", "notifications.message_deliver", "lenders.roster_remind"):
        assert route({}, name)["queue"].name == settings.CELERY_TASK_DEFAULT_QUEUE


def test_drafts_leave_the_queue_in_the_order_their_first_trips_do_and_a_rebuild_first(
    station, pingla, clock, queued, django_capture_on_commit_callbacks
):
    TeamFactory()
    entry(start="11:30", end="13:00")  # Debra's first trip leaves in 2.5 hours
    with tenant_context(pingla):
        TeamFactory()
        entry(start="09:20", end="11:00")  # Pingla's in 20 minutes
        entry(start="12:00", end="13:00")
    with django_capture_on_commit_callbacks(execute=True):
        debra_sheet = services.station_tick()  # Debra's tick comes first
        with tenant_context(pingla):
            pingla_sheet = services.station_tick()
        tomorrow = TODAY + datetime.timedelta(days=1)
        rebuild = services.duty_sheet_rebuild(date=tomorrow, by=UserFactory())
    assert debra_sheet is not None and pingla_sheet is not None
    order = [pk for _task, (pk,) in queued(settings.CELERY_PLANNING_QUEUE)]
    assert order == [rebuild.pk, pingla_sheet.pk, debra_sheet.pk]


def test_a_build_waiting_in_the_queue_is_not_taken_for_a_lost_one_within_its_wait(station, clock):
    TeamFactory()
    entry()
    sheet = services.duty_sheet_queue_due()
    assert sheet is not None
    # Far past the planner's budget and grace, but no worker has started it yet.
    clock.shift(datetime.timedelta(seconds=settings.BUILD_QUEUE_SECONDS - 60))
    assert services.duty_sheet_queue_due() is None
    clock.shift(datetime.timedelta(minutes=2))
    again = services.duty_sheet_queue_due()
    assert again is not None and again.version == sheet.version + 1


@pytest.mark.parametrize(
    ("leaves_in", "priority"),
    [(0, 1), (14, 1), (15, 2), (40, 3), (119, 8), (180, 9), (-30, 1), (None, 9)],
)
def test_the_queue_priority_follows_the_first_departure(leaves_in, priority):
    first = None if leaves_in is None else MORNING + datetime.timedelta(minutes=leaves_in)
    assert planning.build_priority(first, now=MORNING) == priority


@pytest.mark.parametrize(
    ("entries", "most", "seconds"),
    [(0, 10, 2), (30, 10, 2), (120, 10, 3), (200, 10, 5), (400, 10, 10), (1000, 10, 10),
     (1000, 30, 25), (50, 1, 1)],
)  # fmt: skip
def test_a_days_planner_budget_fits_its_size_within_the_stations_setting(entries, most, seconds):
    assert planning.budget_seconds(entries, most=most) == seconds


def test_a_small_day_is_claimed_with_a_small_budget(in_debra, clock):
    in_debra.planner_seconds = 10
    TeamFactory()
    for _ in range(3):
        entry()
    sheet = services.duty_sheet_queue_due()
    assert sheet is not None and sheet.build_seconds == planning.BUDGET_LEAST_SECONDS


@pytest.mark.parametrize(
    ("jobs", "takes"),
    [("all", {"default", "planning"}), ("planning", {"planning"}), ("others", {"default"})],
)
def test_a_workers_jobs_option_picks_its_queues(jobs, takes):
    names = {
        "default": settings.CELERY_TASK_DEFAULT_QUEUE,
        "planning": settings.CELERY_PLANNING_QUEUE,
    }

    class Worker:
        pass

    worker = Worker()
    worker.app = app  # type: ignore[attr-defined]
    queues = app.amqp.queues
    try:
        WorkerJobs(worker, jobs=jobs)
        assert set(queues.consume_from) == {names[name] for name in takes}
    finally:
        queues.select(list(settings.CELERY_TASK_QUEUES))
