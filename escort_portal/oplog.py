"""The operations log: one line per request and per task, which production writes as JSON
(escort_portal.settings.production): who (a user id), station, path or task, status, duration.

Nothing personal goes in: the user is a number, and a request's path is its URL pattern
(`/station/debra/lenders/branch/<int:branch_pk>/roster/<isodate:date>/`), so no name, phone
number or search typed into a query string reaches the log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from celery import Task
from celery.signals import task_postrun, task_prerun
from django.http import HttpRequest, HttpResponse
from django_tenants.utils import get_public_schema_name

from stations.db import connection

requests_log = logging.getLogger("escort_portal.requests")
tasks_log = logging.getLogger("escort_portal.tasks")


def _milliseconds_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


class RequestLogMiddleware:
    """Outermost, so the duration is the whole request's and a 500 is logged as a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        user = getattr(request, "user", None)
        tenant = getattr(request, "tenant", None)
        match = request.resolver_match
        requests_log.info(
            "request",
            extra={
                "user": user.pk if user is not None and user.is_authenticated else None,
                # A station that does not exist is served as one without a name (slug "").
                "station": tenant.slug or None
                if tenant is not None and tenant.schema_name != get_public_schema_name()
                else None,
                "method": request.method,
                # Unmatched paths (static files, 404s) are logged as they came.
                "path": f"/{match.route}" if match is not None else request.path,
                "status": response.status_code,
                "duration_ms": _milliseconds_since(started),
            },
        )
        return response


# When each running task started, and in which schema: tenant-schemas-celery switches to the
# station's schema before the task (and this handler) and back to public before the end's.
_task_started: dict[str, tuple[float, str]] = {}


@task_prerun.connect
def _task_start(task_id: str, **kwargs: object) -> None:
    _task_started[task_id] = (time.perf_counter(), connection.schema_name)


@task_postrun.connect
def _task_done(task_id: str, task: Task, state: str | None = None, **kwargs: object) -> None:
    started, schema = _task_started.pop(task_id, (None, None))
    tasks_log.info(
        "task",
        extra={
            "task": task.name,
            "task_id": task_id,
            "station": schema if schema != get_public_schema_name() else None,
            "status": state,
            "duration_ms": _milliseconds_since(started) if started is not None else None,
        },
    )
