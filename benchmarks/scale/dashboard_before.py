"""The SDPO dashboard's `build` as it was before it read values (commit 47caad9), kept so that
`benchmarks.scale.run` times it beside today's in the same run: every station and day of the
subdivisions loaded as model instances, sorted and added up in Python.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet, Sum
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from stations.charts import LineChart, line_chart
from stations.models import Station, StationDay, Subdivision, SubdivisionRole, User

TREND_DAYS = 30
ROWS_PER_PAGE = 50


@dataclass
class StationRow:
    station: Station
    day: StationDay | None

    @property
    def sort_key(self) -> tuple:
        # Ties by name: the table must not follow the rows' order on disk, which a restore from a
        # backup changes.
        day = self.day
        if day is None:
            return (0, 0, 0, 0, 0, 0, self.station.name)
        return (
            -day.sos_open,
            -day.runs_red,
            -day.runs_amber,
            -day.entries_uncovered,
            -day.rosters_missing,
            -day.runs_overdue,
            self.station.name,
        )


@dataclass
class Dashboard:
    date: datetime.date
    subdivisions: list[Subdivision]
    rows: list[StationRow]
    totals: dict[str, int]
    charts: list[LineChart]
    station_trends: list[dict]
    pending: list[tuple[Station, list[str]]] = field(default_factory=list)
    never_filed: list[tuple[Station, list[str]]] = field(default_factory=list)
    uncovered: list[tuple[Station, dict]] = field(default_factory=list)


FIGURES = [
    "branches_approved",
    "branches_pending",
    "rosters_filed",
    "rosters_missing",
    "entries",
    "entries_covered",
    "entries_uncovered",
    "runs",
    "runs_acknowledged",
    "runs_completed",
    "runs_overdue",
    "runs_amber",
    "runs_red",
    "incidents",
    "sos_open",
    "sos",
]


def subdivisions_overseen(*, user: User) -> QuerySet[Subdivision]:
    return Subdivision.objects.filter(roles__user=user).distinct()


def may_oversee(*, user: User) -> bool:
    return user.is_authenticated and SubdivisionRole.objects.filter(user=user).exists()


def coverage_percent(covered: int, uncovered: int, *, whole: bool = True) -> float | None:
    """Covered entries as a share of the planned ones, in whole percent unless `whole` is
    False; None when nothing was planned."""
    planned = covered + uncovered
    if not planned:
        return None
    percent = 100 * covered / planned
    return round(percent) if whole else percent


def _summed(days: QuerySet[StationDay], *, by: str) -> QuerySet[StationDay, dict]:
    """The days' figures the trends show, added up per value of `by` (a date, a station)."""
    return days.values(by).annotate(
        covered=Sum("entries_covered"),
        uncovered=Sum("entries_uncovered"),
        entries=Sum("entries"),
        incidents=Sum("incidents"),
    )


def build(*, user: User, date: datetime.date) -> Dashboard:
    subdivisions = list(subdivisions_overseen(user=user))
    stations = list(
        Station.objects.live().filter(subdivision__in=subdivisions).select_related("subdivision")
    )
    station_ids = [station.pk for station in stations]
    days = {
        day.station_id: day
        for day in StationDay.objects.filter(station_id__in=station_ids, date=date)
    }
    rows = sorted((StationRow(s, days.get(s.pk)) for s in stations), key=lambda r: r.sort_key)
    totals = {name: sum(getattr(day, name) for day in days.values()) for name in FIGURES}
    totals["coverage_percent"] = coverage_percent(
        totals["entries_covered"], totals["entries_uncovered"]
    )

    start = date - datetime.timedelta(days=TREND_DAYS - 1)
    in_range = Q(station_id__in=station_ids, date__gte=start, date__lte=date)
    per_day = {row["date"]: row for row in _summed(StationDay.objects.filter(in_range), by="date")}
    dates = [start + datetime.timedelta(days=n) for n in range(TREND_DAYS)]

    def coverage(row: dict | None) -> float | None:
        return coverage_percent(row["covered"], row["uncovered"], whole=False) if row else None

    def label(day: datetime.date) -> str:
        return day.strftime("%d/%m")

    charts = [
        line_chart(
            _("Coverage"),
            [(label(d), coverage(per_day.get(d))) for d in dates],
            unit="%",
            ceiling=100,
        ),
        line_chart(
            _("Roster entries"),
            [(label(d), (per_day.get(d) or {}).get("entries", 0)) for d in dates],
        ),
        line_chart(
            _("Incidents"), [(label(d), (per_day.get(d) or {}).get("incidents", 0)) for d in dates]
        ),
    ]
    trends = list(_summed(StationDay.objects.filter(in_range), by="station_id"))
    by_id = {station.pk: station for station in stations}
    for trend in trends:
        trend["station"] = by_id[trend["station_id"]]
        trend["coverage_percent"] = coverage_percent(trend["covered"], trend["uncovered"])
    trends.sort(
        key=lambda t: (
            t["coverage_percent"] is None,
            t["coverage_percent"] or 0,
            t["station"].name,
        )
    )

    dashboard = Dashboard(date, subdivisions, rows, totals, charts, trends)
    for row in rows:
        if row.day is None:
            continue
        if row.day.pending_branches:
            dashboard.pending.append((row.station, row.day.pending_branches))
        if row.day.never_filed_branches:
            dashboard.never_filed.append((row.station, row.day.never_filed_branches))
        for item in row.day.high_priority_uncovered:
            dashboard.uncovered.append((row.station, _in_reader_language(item)))
    return dashboard


def _in_reader_language(item: dict) -> dict:
    """An uncovered entry of the read model, kept in English, in the reader's language."""
    bengali = get_language() == "bn" and item.get("area_bn")
    # The reason is one of the sheet's reason labels, whose translations the catalogue holds.
    return {
        **item,
        "area": item["area_bn"] if bengali else item["area"],
        "reason": _(item["reason"]),
    }
