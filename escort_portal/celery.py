"""The Celery app. Tasks queued inside a station's schema context run in that schema."""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING

import click
from celery import bootsteps
from celery.signals import task_postrun, task_prerun, worker_ready
from tenant_schemas_celery.app import CeleryApp
from tenant_schemas_celery.task import TenantTask

if TYPE_CHECKING:
    import pghistory
    from celery import Task
    from celery.worker import WorkController

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "escort_portal.settings.local")

logger = logging.getLogger(__name__)

# How often a task that lost its database connection is tried again, and the longest pause.
DATABASE_LOST_RETRIES = 6
DATABASE_LOST_MAX_COUNTDOWN = 60


def _database_lost() -> bool:
    """Whether the default connection no longer works (as opposed to a query that failed)."""
    from django.db import connection

    if connection.connection is None:
        return False
    return not connection.is_usable()


# When this process last wrote each station's heartbeat: a busy worker writes it at most every
# STATION_HEARTBEAT_SECONDS, not once a task.
_station_heartbeats: dict[str, float] = {}
STATION_HEARTBEAT_SECONDS = 30.0


def _station_heartbeat() -> None:
    """A task ran in the current station's schema: its page's "scheduled jobs last ran"."""
    from django.db import DatabaseError
    from django_tenants.utils import get_public_schema_name

    from stations import services
    from stations.db import connection

    schema_name = connection.schema_name
    last = _station_heartbeats.get(schema_name)
    if schema_name == get_public_schema_name() or (
        last is not None and time.monotonic() - last < STATION_HEARTBEAT_SECONDS
    ):
        return
    try:
        services.heartbeat_record()
    except DatabaseError:
        # The task itself succeeded; the next one writes the heartbeat.
        logger.warning("The heartbeat of %s was not recorded", schema_name, exc_info=True)
        return
    _station_heartbeats[schema_name] = time.monotonic()


class PortalTask(TenantTask):
    """Every task of the portal: a task that lost its database connection heals and runs again.

    A database restart breaks every connection a worker holds. Celery's Django fixup closes
    connections only once per CELERY_DB_REUSE_MAX tasks, and a broken connection then fails
    every task with whatever error psycopg2 raised (OperationalError at first, InterfaceError
    "connection already closed" after), so the task that meets it closes the connection and is
    tried again with a fresh one.
    """

    abstract = True

    def __call__(self, *args: object, **kwargs: object) -> object:
        import psycopg2
        from django.db import DatabaseError, connections

        try:
            result = super().__call__(*args, **kwargs)
        except (DatabaseError, psycopg2.Error) as exc:
            if self.request.is_eager or not _database_lost():
                raise
            connections.close_all()
            retries = self.request.retries
            raise self.retry(
                exc=exc,
                countdown=min(DATABASE_LOST_MAX_COUNTDOWN, 2 ** (retries + 1)),
                max_retries=max(self.max_retries or 0, DATABASE_LOST_RETRIES),
            ) from exc
        if not self.request.is_eager:
            _station_heartbeat()
        return result


app = CeleryApp("escort_portal", task_cls=PortalTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Which of the portal's queues a worker takes, without naming them (the names follow
# CELERY_TASK_DEFAULT_QUEUE): a state runs planning workers apart from the rest (README, Workers).
WORKER_JOBS = ("all", "planning", "others")
app.user_options["worker"].add(
    click.Option(
        ["--jobs"],
        type=click.Choice(WORKER_JOBS),
        default="all",
        show_default=True,
        help="planning: only the planner's builds; others: everything but them.",
    )
)


class WorkerJobs(bootsteps.Step):
    """Narrows the worker's queues to its --jobs; runs after Celery's own -Q/-X selection."""

    def __init__(self, parent: WorkController, jobs: str = "all", **options: object) -> None:
        super().__init__(parent, **options)
        from django.conf import settings

        planning = settings.CELERY_PLANNING_QUEUE
        queues = parent.app.amqp.queues
        if jobs == "planning":
            queues.select([planning])
        elif jobs == "others":
            queues.select([name for name in queues.consume_from if name != planning])


app.steps["worker"].add(WorkerJobs)

# A line per task in the operations log (JSON in production).
from escort_portal import oplog  # noqa: E402, F401


@worker_ready.connect
def _heartbeat_on_start(sender: object, **kwargs: object) -> None:
    # Health turns green as soon as a worker is up, not a beat interval later.
    from stations.tasks import heartbeat_all_stations

    heartbeat_all_stations.delay()


# The audit trail's context of each running task, by task id.
_job_contexts: dict[str, pghistory.context] = {}


@task_prerun.connect
def _audit_as_the_job(task_id: str, task: Task, **kwargs: object) -> None:
    # A change a job makes is recorded with the job's name, as a request's is with its person.
    import pghistory

    context = pghistory.context(job=task.name)
    context.__enter__()
    _job_contexts[task_id] = context


@task_postrun.connect
def _audit_job_done(task_id: str, **kwargs: object) -> None:
    context = _job_contexts.pop(task_id, None)
    if context is not None:
        context.__exit__(None, None, None)


@task_postrun.connect
def _check_connections_before_the_next_task(task: Task, **kwargs: object) -> None:
    # What Django does between requests: drop a connection that failed or outlived
    # CONN_MAX_AGE, and (CONN_HEALTH_CHECKS) test the kept one before its next query, so a
    # database restarted between two tasks costs the next one a reconnect, not an error. Not
    # for a task run in the caller's process (apply()): the connection is the caller's.
    from django.db import close_old_connections

    if not task.request.is_eager:
        close_old_connections()
