"""The cut-off job as a planning worker completes it, in the test's own process."""

from __future__ import annotations

import datetime

from escorts import services
from escorts.models import DutySheet


def build_due(*, now: datetime.datetime | None = None) -> DutySheet | None:
    """Queue today's draft as the minute job does at cut-off, then build it here as the planning
    worker would. None when the job has nothing to build."""
    sheet = services.duty_sheet_queue_due(now=now)
    return None if sheet is None else services.duty_sheet_build_run(sheet_pk=sheet.pk)
