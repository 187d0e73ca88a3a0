"""When each station next has work for a minute job, kept in the public schema.

A minute job's beat entry reads one public table and queues the job only in the stations whose
time has come (or that have no time yet: a new station). The station's run of the job says when
it next has work (`due_set`); a change that may bring that time forward says "now"
(`due_now`). A run never pushes the time past `STATION_JOB_SWEEP_MINUTES`, so a change that
forgot to say so is caught within that sweep.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .models import Station, StationJobDue
from .tenancy import schema_station


def stations_due(*, job: str, now: datetime.datetime | None = None) -> QuerySet[Station]:
    """The live stations with something due for `job` by `now`: one query on public tables."""
    now = now or timezone.now()
    later = StationJobDue.objects.filter(job=job, due_at__gt=now).values("station_id")
    return Station.objects.live().exclude(pk__in=later)


def due_set(*, job: str, at: datetime.datetime, started: datetime.datetime) -> bool:
    """The current station's run of `job`, begun at `started`, has nothing to do before `at`.

    Not stored when a change said "now" (or an earlier time) after the run began: the run may
    have read the state from before that change, so the earlier of the two is kept. Returns
    whether it was stored."""
    station = schema_station()
    at = min(at, started + datetime.timedelta(minutes=settings.STATION_JOB_SWEEP_MINUTES))
    stored = StationJobDue.objects.filter(station=station, job=job, due_at__lte=started).update(
        due_at=at
    )
    if stored:
        return True
    _, created = StationJobDue.objects.get_or_create(
        station=station, job=job, defaults={"due_at": at}
    )
    if not created:
        # A change set a time after this run began (`due_now`, `due_by`): keep the earlier.
        StationJobDue.objects.filter(station=station, job=job, due_at__gt=at).update(due_at=at)
    return created


def due_now(*jobs: str, station: Station | None = None) -> None:
    """The station (by default the current one) may have work for `jobs` sooner than they last
    said: once the change commits, the next minute's beat entry enters it."""
    station = station or schema_station()

    def mark() -> None:
        now = timezone.now()
        StationJobDue.objects.bulk_create(
            [StationJobDue(station=station, job=job, due_at=now) for job in jobs],
            update_conflicts=True,
            unique_fields=["station", "job"],
            update_fields=["due_at"],
        )

    transaction.on_commit(mark)


def due_by(job: str, *, at: datetime.datetime, station: Station | None = None) -> None:
    """The station (by default the current one) has work for `job` by `at`, which may be
    sooner than the time stored (a run just started is due at its first check-in): once the
    change commits, the stored time becomes the earlier of the two. A time later than the one
    stored changes nothing."""
    station = station or schema_station()

    def sooner() -> None:
        # A station without a time yet gets this one; a later stored time is brought forward.
        StationJobDue.objects.bulk_create(
            [StationJobDue(station=station, job=job, due_at=at)], ignore_conflicts=True
        )
        StationJobDue.objects.filter(station=station, job=job, due_at__gt=at).update(due_at=at)

    transaction.on_commit(sooner)
