"""Removing personal data older than the station's retention period (`Station.retention_days`).

What goes, for trips before the limit: the centres, vehicle, deposit point and notes of roster
entries, the location of SOS alerts, the place and narrative of incidents, the same values in
the audit trail's records of those rows, and the station's messages (notifications.services).

What stays: every row the dashboard counts (rosters, entries, incidents, SOS alerts, runs) with
the fields it counts by (date, times, area, cash band, kind, status, FIR number), so
`rebuild_dashboard` gives the same figures for any day afterwards; and who did what when in the
audit trail.

Entries, incidents and SOS alerts keep their field agent. The agent is the branch's record of its
employee, not a detail of one trip: the branch keeps it current, deactivates it when the person
leaves and may reactivate it, and an incident with an FIR number has to say whom it concerned.
Whether an agent who left long ago should be anonymised is the branch's decision, not this clock's.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from auditlog.models import LogEntry
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from notifications.services import message_purge

from .models import Incident, RosterEntry, SosAlert

# The fields cleared on each kind of row, and what they are cleared to.
CLEARED: dict[type[models.Model], dict[str, object]] = {
    RosterEntry: {"centres": "", "vehicle_registration": "", "deposit_point": "", "notes": ""},
    SosAlert: {"latitude": None, "longitude": None, "accuracy_m": None},
    Incident: {"place": "", "narrative": ""},
}
# What an audit record keeps of a cleared field: that it changed, not from what to what.
AUDIT_CLEARED = ["", ""]
AUDIT_BATCH = 500


@dataclass(frozen=True)
class RetentionReport:
    """How many rows had (or, in a dry run, have) details to clear. `before` is the first day
    kept in full."""

    before: datetime.date
    entries: int
    sos_alerts: int
    incidents: int
    audit_records: int
    messages: int


def retention_limit(*, today: datetime.date | None = None) -> datetime.date:
    """The first day still kept in full in the current station."""
    today = today or timezone.localdate()
    return today - datetime.timedelta(days=connection.tenant.retention_days)


def _still_holding(model: type[models.Model]) -> Q:
    """Rows with at least one field not cleared yet: running again touches nothing."""
    held = Q()
    for name, empty in CLEARED[model].items():
        held |= Q(**{f"{name}__isnull": False}) if empty is None else ~Q(**{name: empty})
    return held


def _old(
    before: datetime.date, start: datetime.datetime
) -> dict[type[models.Model], models.QuerySet]:
    """Every row of each kind that is past the limit, whether cleared already or not."""
    return {
        RosterEntry: RosterEntry.objects.filter(roster__date__lt=before),
        SosAlert: SosAlert.objects.filter(raised_at__lt=start),
        Incident: Incident.objects.filter(occurred_at__lt=start),
    }


def _audit_records(
    model: type[models.Model], old: models.QuerySet, start: datetime.datetime
) -> models.QuerySet[LogEntry]:
    """Audit records of `model` made before the limit that still hold a cleared field's values:
    those of rows past the limit, and those of rows deleted since (their details are as old as
    the record). Records of rows still within the period wait until the row is past it."""
    kept = model.objects.exclude(pk__in=old.values("pk")).values("pk")
    holding = Q()
    for name in CLEARED[model]:
        holding |= Q(changes__has_key=name) & ~Q(**{f"changes__{name}": AUDIT_CLEARED})
    return (
        # By name, not through ContentType's cache: its ids are per process, not per schema.
        LogEntry.objects.filter(
            content_type__app_label=model._meta.app_label,
            content_type__model=model._meta.model_name,
            timestamp__lt=start,
        )
        .exclude(object_id__in=kept)
        .filter(holding)
    )


def _audit_clear(model: type[models.Model], records: models.QuerySet) -> int:
    count = 0
    batch: list[LogEntry] = []
    for record in records.only("pk", "changes").iterator(chunk_size=AUDIT_BATCH):
        for name in CLEARED[model]:
            if name in record.changes:
                record.changes[name] = AUDIT_CLEARED
        batch.append(record)
        if len(batch) == AUDIT_BATCH:
            count += LogEntry.objects.bulk_update(batch, ["changes"])
            batch = []
    return count + LogEntry.objects.bulk_update(batch, ["changes"])


@transaction.atomic
def retention_apply(*, dry_run: bool = False) -> RetentionReport:
    """Clear what the current station keeps past its retention period; with `dry_run`, only
    count it. Idempotent: only rows still holding a detail are touched, so a second run (or a
    retried task) clears nothing more and reports zeros.

    One transaction per station, so a failure leaves the station as it was. Rows are cleared
    with UPDATE, not save(): no figure is counted from these fields, and the audit trail's
    record of a save would copy the old values into the trail once more.
    """
    before = retention_limit()
    start = timezone.make_aware(datetime.datetime.combine(before, datetime.time.min))
    old = _old(before, start)
    counts: dict[type[models.Model], int] = {}
    audit = 0
    for model, rows in old.items():
        records = _audit_records(model, rows, start)
        holding = rows.filter(_still_holding(model))
        if dry_run:
            counts[model] = holding.count()
            audit += records.count()
        else:
            counts[model] = holding.update(**CLEARED[model])
            audit += _audit_clear(model, records)
    return RetentionReport(
        before=before,
        entries=counts[RosterEntry],
        sos_alerts=counts[SosAlert],
        incidents=counts[Incident],
        audit_records=audit,
        messages=message_purge(before=start, dry_run=dry_run),
    )
