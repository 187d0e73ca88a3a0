"""The duty sheet's figures for the SDPO dashboard (see stations.stats)."""

from __future__ import annotations

import datetime
from collections import Counter

from django.utils import timezone, translation

from stations.tenancy import schema_station

from . import planning, watch
from .models import DutySheet, EscortRun, RunEntry, UncoveredEntry

# Uncovered entries at or above this planner priority are listed by name on the dashboard.
HIGH_PRIORITY = 6
LIST_LIMIT = 20


def figures(date: datetime.date) -> dict[str, object]:
    sheet = DutySheet.objects.in_force(date)
    if sheet is None:
        return {
            "entries_covered": 0,
            "entries_uncovered": 0,
            "uncovered_by_reason": {},
            "runs": 0,
            "runs_acknowledged": 0,
            "runs_completed": 0,
            "runs_overdue": 0,
            "runs_amber": 0,
            "runs_red": 0,
            "sheet_published": False,
            "high_priority_uncovered": [],
        }
    runs = EscortRun.objects.filter(sheet=sheet)
    statuses = Counter(runs.values_list("status", flat=True))
    uncovered = list(
        UncoveredEntry.objects.filter(sheet=sheet).select_related(
            "entry__area", "entry__roster__branch"
        )
    )
    raised = planning.raised_risk_area_ids(date)
    # The read model is shared by readers of both languages: it keeps the reason's English
    # words (the dashboard translates them) and the area's name in both.
    with translation.override("en"):
        high = [
            {
                "time": f"{item.entry.depart_at:%H:%M}-{item.entry.return_at:%H:%M}",
                "area": item.entry.area.name,
                "area_bn": item.entry.area.name_bn,
                "branch": str(item.entry.roster.branch),
                "reason": item.get_reason_display(),
            }
            for item in uncovered
            if planning.priority(item.entry, raised=raised) >= HIGH_PRIORITY
        ]
    # Today's only: a past day's waiting runs were missed, not overdue, and nobody watches them.
    now = timezone.now()
    settings = watch.settings_of(schema_station())
    overdue = 0
    stages: Counter[str] = Counter()
    if date == timezone.localdate(now):
        overdue = runs.overdue(now, grace=settings.start_grace).count()
        for run in runs.select_related("watch"):
            state = watch.run_state(
                run=run, sheet=sheet, watch=watch.watch_of(run), settings=settings, now=now
            )
            stages[state.stage] += 1
    return {
        "entries_covered": RunEntry.objects.filter(sheet=sheet).count(),
        "entries_uncovered": len(uncovered),
        "uncovered_by_reason": dict(Counter(item.reason for item in uncovered)),
        "runs": sum(statuses.values()),
        "runs_acknowledged": statuses[EscortRun.Status.ACKNOWLEDGED]
        + statuses[EscortRun.Status.STARTED]
        + statuses[EscortRun.Status.COMPLETED],
        "runs_completed": statuses[EscortRun.Status.COMPLETED],
        "runs_overdue": overdue,
        "runs_amber": stages[watch.AMBER],
        "runs_red": stages[watch.RED],
        "sheet_published": sheet.status == DutySheet.Status.PUBLISHED,
        "high_priority_uncovered": high[:LIST_LIMIT],
    }
