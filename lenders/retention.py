"""Removing personal data older than the station's retention period (`Station.retention_days`).

What goes, for trips before the limit: the centres, vehicle, deposit point and notes of roster
entries, what other apps register to be cleared the same way (`register_cleared`: the location of
SOS alerts, the place and narrative of incidents), the same values in the audit trail's records
of those rows, the station's messages (notifications.services), and what other apps register to
remove (`register_purge`: the escorts' tracks and check-ins).

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
from collections.abc import Callable
from dataclasses import dataclass

import pgtrigger
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from escort_portal.audit import event_model_of
from notifications.services import message_purge
from stations import db_roles
from stations.db import connection

from .models import RosterEntry

# Other apps' personal data that goes with age, each by a function of its own that removes
# (or with `dry_run` counts) what is older than `before` and returns how many rows; registered
# in their AppConfig.ready(), since this app imports none of them.
Purge = Callable[..., int]
PURGES: dict[str, Purge] = {}


def register_purge(name: str, purge: Purge) -> None:
    """`purge(*, before: datetime.datetime, dry_run: bool) -> int`, run by `retention_apply`
    in each station, in its transaction."""
    PURGES[name] = purge


# What makes a row past the limit, given the first day kept in full and its first moment: the
# day of its trip or its time. The audit trail's copies carry the same fields, so the same test
# finds them.
Past = Callable[[datetime.date, datetime.datetime], Q]
# Each kind of row with details to clear, by the name the report gives it: the model, the fields
# cleared and what they are cleared to, and what makes a row past the limit. In the report's order.
CLEARED: dict[str, tuple[type[models.Model], dict[str, object], Past]] = {}


def register_cleared(
    name: str, model: type[models.Model], cleared: dict[str, object], past: Past
) -> None:
    """Clear `cleared` on `model` rows past the limit, and in their audit trail's copies (which
    the station's database role may then change in these columns only)."""
    CLEARED[name] = (model, cleared, past)
    db_roles.register_clearable({model: cleared})


register_cleared(
    "entries",
    RosterEntry,
    {"centres": "", "vehicle_registration": "", "deposit_point": "", "notes": ""},
    lambda before, start: Q(roster__date__lt=before),
)


@dataclass(frozen=True)
class RetentionReport:
    """How many rows had (or, in a dry run, have) details to clear. `before` is the first day
    kept in full."""

    before: datetime.date
    # Rows with details cleared, by the name each kind registered with, in the report's order.
    cleared: tuple[tuple[str, int], ...]
    audit_records: int
    messages: int
    # The registered purges' counts, by name (escort positions and check-ins, ...).
    purged: tuple[tuple[str, int], ...] = ()


def retention_limit(*, today: datetime.date | None = None) -> datetime.date:
    """The first day still kept in full in the current station."""
    today = today or timezone.localdate()
    return today - datetime.timedelta(days=connection.tenant.retention_days)


def _still_holding(cleared: dict[str, object]) -> Q:
    """Rows with at least one field not cleared yet: running again touches nothing."""
    held = Q()
    for name, empty in cleared.items():
        held |= Q(**{f"{name}__isnull": False}) if empty is None else ~Q(**{name: empty})
    return held


def _audit_records(
    model: type[models.Model], cleared: dict[str, object], past: Q, start: datetime.datetime
) -> models.QuerySet:
    """The audit trail's copies of `model` rows that still hold a cleared field: copies of a
    trip past the limit, whether the row is still there or deleted since, and copies made before
    the limit (their details are as old as the copy). Copies of rows still within the period
    wait until the row is past it."""
    kept = model._default_manager.exclude(past).values("pk")
    return (
        event_model_of(model)
        ._default_manager.filter(past | Q(pgh_created_at__lt=start))
        .exclude(pgh_obj_id__in=kept)
        .filter(_still_holding(cleared))
    )


def _clear(
    model: type[models.Model],
    cleared: dict[str, object],
    rows: models.QuerySet,
    records: models.QuerySet,
) -> tuple[int, int]:
    """Clear the rows without recording it, then their copies in the trail, which refuses any
    change but this one. The clearing is the retention rule's, not a person's decision: a record
    of it would be one more event per old row every night, saying only that details went."""
    events = event_model_of(model)._meta.label
    with pgtrigger.ignore(f"{model._meta.label}:update_update", f"{events}:append_only"):
        return rows.update(**cleared), records.update(**cleared)


@transaction.atomic
def retention_apply(*, dry_run: bool = False) -> RetentionReport:
    """Clear what the current station keeps past its retention period; with `dry_run`, only
    count it. Idempotent: only rows still holding a detail are touched, so a second run (or a
    retried task) clears nothing more and reports zeros.

    One transaction per station, so a failure leaves the station as it was. Rows are cleared
    with UPDATE, not save(): no figure is counted from these fields.
    """
    before = retention_limit()
    start = timezone.make_aware(datetime.datetime.combine(before, datetime.time.min))
    counts: dict[str, int] = {}
    audit = 0
    for name, (model, cleared, past_of) in CLEARED.items():
        past = past_of(before, start)
        records = _audit_records(model, cleared, past, start)
        holding = model._default_manager.filter(past).filter(_still_holding(cleared))
        if dry_run:
            counts[name] = holding.count()
            audit += records.count()
        else:
            counts[name], cleared_records = _clear(model, cleared, holding, records)
            audit += cleared_records
    return RetentionReport(
        before=before,
        cleared=tuple(counts.items()),
        audit_records=audit,
        messages=message_purge(before=start, dry_run=dry_run),
        purged=tuple(
            (name, purge(before=start, dry_run=dry_run)) for name, purge in PURGES.items()
        ),
    )
