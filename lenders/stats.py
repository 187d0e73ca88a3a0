"""The lender side's figures for the SDPO dashboard (see stations.stats)."""

from __future__ import annotations

import datetime

from django.db.models import Exists, OuterRef
from django.utils import timezone

from .models import Incident, LenderBranch, Roster, RosterEntry, SosAlert

LIST_LIMIT = 20


def figures(date: datetime.date) -> dict[str, object]:
    approved = LenderBranch.objects.filter(status=LenderBranch.Status.APPROVED)
    pending = LenderBranch.objects.filter(status=LenderBranch.Status.PENDING)
    has_entries = RosterEntry.objects.filter(roster=OuterRef("pk"))
    filed = Roster.objects.filter(date=date).filter(Exists(has_entries))
    filed_branches = filed.values("branch_id")
    # A branch that said it has no collection that day is not missing a roster.
    no_collection = Roster.objects.filter(date=date, no_collection=True).values("branch_id")
    ever_filed = RosterEntry.objects.filter(roster__branch=OuterRef("pk"))
    never_filed = approved.exclude(Exists(ever_filed))
    # Open alerts are today's business whatever day they were raised.
    open_sos = (
        list(
            SosAlert.objects.filter(acknowledged_at__isnull=True)
            .select_related("entry__area", "entry__roster__branch")
            .order_by("-raised_at", "-pk")
        )
        if date == timezone.localdate()
        else []
    )
    return {
        "branches_approved": approved.count(),
        "branches_pending": pending.count(),
        "rosters_filed": filed.count(),
        "rosters_missing": approved.exclude(pk__in=filed_branches)
        .exclude(pk__in=no_collection)
        .count(),
        "entries": RosterEntry.objects.filter(roster__date=date).count(),
        "pending_branches": [str(branch) for branch in pending[:LIST_LIMIT]],
        "never_filed_branches": [str(branch) for branch in never_filed[:LIST_LIMIT]],
        "incidents": Incident.objects.filter(occurred_at__date=date)
        .exclude(status=Incident.Status.REPORTED)
        .count(),
        "sos": SosAlert.objects.filter(raised_at__date=date).count(),
        "sos_open": len(open_sos),
        "open_sos_alerts": [
            {
                "pk": alert.pk,
                "raised_at": alert.raised_at.isoformat(),
                "area": alert.entry.area.name,
                "area_bn": alert.entry.area.name_bn,
                "branch": str(alert.entry.roster.branch),
            }
            for alert in open_sos[:LIST_LIMIT]
        ],
    }
