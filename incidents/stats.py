"""The incident register's and SOS alerts' figures for the SDPO dashboard (see stations.stats)."""

from __future__ import annotations

import datetime

from django.utils import timezone

from .models import Incident, SosAlert


def figures(date: datetime.date) -> dict[str, object]:
    return {
        "incidents": Incident.objects.filter(occurred_at__date=date)
        .exclude(status=Incident.Status.REPORTED)
        .count(),
        "sos": SosAlert.objects.filter(raised_at__date=date).count(),
        # Open alerts are today's business whatever day they were raised.
        "sos_open": SosAlert.objects.filter(acknowledged_at__isnull=True).count()
        if date == timezone.localdate()
        else 0,
    }
