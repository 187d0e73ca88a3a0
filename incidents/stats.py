"""The incident register's and SOS alerts' figures for the SDPO dashboard (see stations.stats)."""

from __future__ import annotations

import datetime

from django.utils import timezone

from .models import Incident, SosAlert

# The open alerts the SDPO's dashboard lists per station, newest first.
LIST_LIMIT = 20


def figures(date: datetime.date) -> dict[str, object]:
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
