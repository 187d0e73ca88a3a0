"""The Celery app. Tasks queued inside a station's schema context run in that schema."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from celery.signals import task_postrun, task_prerun, worker_ready
from tenant_schemas_celery.app import CeleryApp

if TYPE_CHECKING:
    import pghistory
    from celery import Task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "escort_portal.settings.local")

app = CeleryApp("escort_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


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
