"""Removing personal data older than the station's retention period.

What goes: the free-text and location details of old trips, SOS alerts and incidents, and old
messages. What stays: every row the dashboard counts (entries, rosters, incidents, SOS, runs),
with its date, times, area, cash band and kind, so figures can still be rebuilt for any day.
Field agents stay as the branch keeps them; their names on old trips are the branch's record.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from notifications.services import message_purge

from .models import Incident, RosterEntry, SosAlert


@dataclass(frozen=True)
class RetentionReport:
    before: datetime.date
    entries: int
    sos_alerts: int
    incidents: int
    messages: int


def retention_limit(*, today: datetime.date | None = None) -> datetime.date:
    """The first day still kept in full."""
    today = today or timezone.localdate()
    return today - datetime.timedelta(days=connection.tenant.retention_days)


@transaction.atomic
def retention_apply(*, dry_run: bool = False) -> RetentionReport:
    """Clear what the current station no longer needs; with `dry_run`, only count it.
    Running it again clears nothing more: only rows still holding details are touched."""
    before = retention_limit()
    start = timezone.make_aware(datetime.datetime.combine(before, datetime.time.min))
    entries = RosterEntry.objects.filter(roster__date__lt=before).exclude(
        centres="", vehicle_registration="", deposit_point="", notes=""
    )
    alerts = SosAlert.objects.filter(raised_at__lt=start).filter(
        Q(latitude__isnull=False) | Q(longitude__isnull=False) | Q(accuracy_m__isnull=False)
    )
    incidents = Incident.objects.filter(occurred_at__lt=start).exclude(narrative="", place="")
    counts = (entries.count(), alerts.count(), incidents.count())
    messages = message_purge(before=start, dry_run=dry_run)
    if not dry_run:
        entries.update(centres="", vehicle_registration="", deposit_point="", notes="")
        alerts.update(latitude=None, longitude=None, accuracy_m=None)
        incidents.update(narrative="", place="")
    return RetentionReport(before, *counts, messages)
