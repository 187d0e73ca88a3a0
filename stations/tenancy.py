"""Which station the code is running for."""

from __future__ import annotations

from .db import connection
from .models import Station


def schema_station() -> Station:
    """The station whose schema the connection is in: the one a request was routed to, a job
    was queued in, or a `tenant_context` entered. (A request's station, or None on the public
    site, is `stations.access.current_station(request)`.)"""
    return connection.tenant
