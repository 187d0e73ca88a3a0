"""Keeping the SDPO dashboard's read model (`StationDay`) current.

Each station app registers a function that counts its own facts for a date in the current
station schema; `refresh` locks the day's row, runs them all and writes the result. Services
call `refresh_on_commit`, which marks the day once their transaction has committed; the minute
job (`recount_waiting`) recounts the marked days, off the request path. `stations` imports
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
from .models import Station, StationDay, StationDayRecount

Figures = Callable[[datetime.date], dict[str, object]]
_providers: list[Figures] = []

# Per connection, the (station, date) pairs the open transaction will mark when it commits.
_waiting: WeakKeyDictionary[BaseDatabaseWrapper, set[tuple[int, datetime.date]]] = (
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


def refresh_on_commit(*, date: datetime.date | None = None, at_once: bool = False) -> None:
    """Have the current station's figures for `date` (default today) recounted by the minute
    job once the caller's transaction commits (at once outside a transaction).

    The change's request only marks the day (one `INSERT ... ON CONFLICT DO NOTHING`, after the
    commit, so no lock is held under the change's transaction): counting the station's facts
    in the request took half of a roster filing's time. Any number of changes to one day wait
    as one row, counted once.

    The figures are exact within a minute: a change is committed before its mark is written,
    and `recount_waiting` removes a mark before it counts. A change whose mark is written
    before the removal committed before the count; one written after makes a new mark, and the
    next run counts it. If writing the mark fails (the database gone just after the commit),
    the change stands and its day waits for the next change or for `rebuild_dashboard`.

    `at_once` recounts right after the commit instead, in the caller's request, for the rare
    change a station must see at once (an SOS raised or taken).
    """
    station: Station = connection.tenant
    # The date the change is for, fixed now: a commit just after midnight is not tomorrow's.
    key = (station.pk, date or timezone.localdate())
    _waiting.setdefault(transaction.get_connection(), set()).add(key)
    transaction.on_commit(partial(_mark, key, at_once), robust=True)


def _mark(key: tuple[int, datetime.date], at_once: bool) -> None:
    # Every change registers a callback; the first to run marks the day for all of them. A key
    # left by a rolled-back change is harmless: the next change adds it with a callback.
    waiting = _waiting.get(transaction.get_connection(), set())
    if key not in waiting:
        return
    waiting.discard(key)
    station_id, date = key
    if at_once:
        with tenant_context(Station.objects.get(pk=station_id)):
            refresh(date=date)
        return
    StationDayRecount.objects.bulk_create(
        [StationDayRecount(station_id=station_id, date=date)], ignore_conflicts=True
    )


def recount_waiting(*, limit: int = 500) -> int:
    """Recount the station days that changed since they were last counted; how many.

    Marks are taken with SKIP LOCKED and removed before counting, so two runs at once share
    the work and never count one day twice.
    """
    with transaction.atomic():
        claimed = list(
            StationDayRecount.objects.select_for_update(skip_locked=True)
            .order_by("since")
            .values_list("pk", "station_id", "date")[:limit]
        )
        StationDayRecount.objects.filter(pk__in=[pk for pk, _, _ in claimed]).delete()
    stations = Station.objects.in_bulk({station_id for _, station_id, _ in claimed})
    for _, station_id, date in claimed:
        if station_id in stations:
            with tenant_context(stations[station_id]):
                refresh(date=date)
    return len(claimed)
