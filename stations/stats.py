"""Keeping the SDPO dashboard's read model (`StationDay`) current.

Each station app registers a function that counts its own facts for a date in the current
station schema; `refresh` locks the day's row, runs them all and writes the result. Services
call `refresh_on_commit`, which runs it once their transaction has committed. `stations` imports
none of those apps: they register themselves in their AppConfig.ready().
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from functools import partial
from weakref import WeakKeyDictionary

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone
from django_tenants.utils import tenant_context

from .db import connection
from .models import Station, StationDay

Figures = Callable[[datetime.date], dict[str, object]]
_providers: list[Figures] = []

# Per connection, the (schema, date) pairs a committed change still waits to have recounted.
_waiting: WeakKeyDictionary[BaseDatabaseWrapper, set[tuple[str, datetime.date]]] = (
    WeakKeyDictionary()
)


def register(provider: Figures) -> Figures:
    if provider not in _providers:
        _providers.append(provider)
    return provider


@transaction.atomic
def refresh(*, date: datetime.date | None = None) -> StationDay:
    """Recount the current station's figures for `date` (default today) and store them.

    The row is locked before counting, so two changes committing at once are counted one
    after the other and the later count sees the earlier change.
    """
    station: Station = connection.tenant
    date = date or timezone.localdate()
    StationDay.objects.get_or_create(station_id=station.pk, date=date)
    day = StationDay.objects.select_for_update().get(station_id=station.pk, date=date)
    for provider in _providers:
        for name, value in provider(date).items():
            setattr(day, name, value)
    day.save()
    return day


def refresh_on_commit(*, date: datetime.date | None = None) -> None:
    """Recount the current station's figures for `date` (default today) once the caller's
    transaction commits; at once outside a transaction.

    Counting inside the change's transaction held the station's `StationDay` row lock until
    that transaction committed, so every lender of a station filing at once waited for every
    other's whole request. After the commit the lock is held only for the recount itself.

    The figures stay exact: a change's recount starts only after the change has committed, and
    counts only once it holds the row lock. The last recount to take the lock therefore counts
    after every change has committed, and the row keeps its count, which includes them all. If
    the recount fails (the database gone just after the commit), the change stands, the figures
    wait for the next change of that day or for `rebuild_dashboard`, and the other on-commit
    jobs (notifications) still run.

    Several changes of one station and date in one transaction are recounted once: every one
    registers a callback, and the first to run recounts for all of them.
    """
    station: Station = connection.tenant
    # The date the change is for, fixed now: a commit just after midnight is not tomorrow's.
    key = (station.schema_name, date or timezone.localdate())
    _waiting.setdefault(transaction.get_connection(), set()).add(key)
    transaction.on_commit(partial(_refresh_waiting, station, key), robust=True)


def _refresh_waiting(station: Station, key: tuple[str, datetime.date]) -> None:
    # Removed only here, as a recount starts, and every change that added the key has committed
    # by then (callbacks run after the commit): a callback finding it gone had its change counted.
    # A key left by a rolled-back change is harmless: the next change adds it with a callback.
    waiting = _waiting.get(transaction.get_connection(), set())
    if key not in waiting:
        return
    waiting.discard(key)
    if connection.schema_name == station.schema_name:
        refresh(date=key[1])
    else:
        # A caller that switched stations inside its transaction commits in another schema.
        with tenant_context(station):
            refresh(date=key[1])
