"""The Celery app. Tasks queued inside a station's schema context run in that schema."""

from __future__ import annotations

import os

from celery.signals import worker_ready
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "escort_portal.settings.local")

app = CeleryApp("escort_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def _heartbeat_on_start(sender: object, **kwargs: object) -> None:
    # Health turns green as soon as a worker is up, not a beat interval later.
    from stations.tasks import heartbeat_all_stations

    heartbeat_all_stations.delay()
