"""Keeping the SDPO dashboard's read model (`StationDay`) current.

Each station app registers a function that counts its own facts for a date in the current
station schema; `refresh` locks the day's row, runs them all and writes the result, inside the
caller's transaction. `stations` imports none of those apps: they register themselves in their
AppConfig.ready().
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from django.db import connection, transaction
from django.utils import timezone

from .models import Station, StationDay

Figures = Callable[[datetime.date], dict[str, object]]
_providers: list[Figures] = []


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
