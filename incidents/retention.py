"""What the retention job (`lenders.retention`) clears of incidents and SOS alerts past the
station's retention period: the alert's location, the incident's place and narrative. Kind,
status, area, times and FIR number stay, so the dashboard's figures can be rebuilt for any day.
"""

from __future__ import annotations

from django.db.models import Q

from lenders.retention import register_cleared

from .models import Incident, SosAlert


def register() -> None:
    """Called once, from the app's ready(); the report names them in this order."""
    register_cleared(
        "SOS locations",
        SosAlert,
        {"latitude": None, "longitude": None, "accuracy_m": None},
        lambda before, start: Q(raised_at__lt=start),
    )
    register_cleared(
        "incident narratives",
        Incident,
        {"place": "", "narrative": ""},
        lambda before, start: Q(occurred_at__lt=start),
    )
