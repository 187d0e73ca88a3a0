"""Reads of the incident register and of SOS alerts."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db.models import Q, QuerySet

from .models import Incident, SosAlert


def area_ids_at_raised_risk(*, on: datetime.date) -> set[int]:
    """Areas with a snatching or an attempt in the last INCIDENT_RAISES_RISK_DAYS days: the
    planner treats them as high risk whatever their recorded level."""
    since = on - datetime.timedelta(days=settings.INCIDENT_RAISES_RISK_DAYS)
    return set(
        Incident.objects.filter(
            kind__in=[Incident.Kind.SNATCHING, Incident.Kind.ATTEMPT],
            occurred_at__date__gt=since,
            occurred_at__date__lte=on,
            area__isnull=False,
        )
        .exclude(status=Incident.Status.REPORTED)
        .values_list("area_id", flat=True)
    )


def incident_list(*, kind: str = "", status: str = "", search: str = "") -> QuerySet[Incident]:
    incidents = Incident.objects.select_related("area", "branch", "agent")
    if kind:
        incidents = incidents.filter(kind=kind)
    if status:
        incidents = incidents.filter(status=status)
    if search:
        incidents = incidents.filter(
            Q(place__icontains=search)
            | Q(fir_number__icontains=search)
            | Q(narrative__icontains=search)
            | Q(area__name__icontains=search)
            | Q(area__name_bn__icontains=search)
            | Q(branch__lender_name__icontains=search)
            | Q(branch__branch_name__icontains=search)
        )
    return incidents


def sos_list_open() -> QuerySet[SosAlert]:
    return SosAlert.objects.filter(acknowledged_at__isnull=True).select_related(
        "entry__agent", "entry__area", "entry__roster__branch"
    )
