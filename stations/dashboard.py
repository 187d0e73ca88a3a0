"""The SDPO's dashboard: reads the public read model only, in a fixed number of queries.

A state has about 500 stations under one PostgreSQL. The page reads values, never model
instances; PostgreSQL sorts the station table, adds up the totals and hands over one page of
rows, so the work here is a page's, not the state's.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, overload

from django.db import connection
from django.db.models import F, FilteredRelation, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Collate
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from escort_portal.formats import native_digits

from .charts import LineChart, line_chart
from .models import Station, StationDay, Subdivision, SubdivisionRole, User, station_display_name
from .routing import station_reverse

TREND_DAYS = 30
# The first day whose trend (the days up to it) the calendar holds: an earlier one is no day
# the dashboard can show.
FIRST_DAY = datetime.date.min + datetime.timedelta(days=TREND_DAYS - 1)
ROWS_PER_PAGE = 50

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
ROW_FIGURES = [*FIGURES, "sheet_published"]

# The station table's order, worst first; a station without figures for the day counts as all
# zeros.
WORST_FIRST = [
    "sos_open",
    "runs_red",
    "runs_amber",
    "entries_uncovered",
    "rosters_missing",
    "runs_overdue",
]

# The short lists a day keeps as they are (names and references, never cash figures).
LISTS = ["pending_branches", "never_filed_branches", "high_priority_uncovered", "open_sos_alerts"]

DAY = "day_"


class StationName(NamedTuple):
    """What the dashboard shows of a station: a link to it, its name and its cut-off (a tuple:
    a state's 500 of them are made on every look at the page)."""

    slug: str
    name: str
    name_bn: str
    roster_cutoff: datetime.time

    @property
    def display_name(self) -> str:
        return station_display_name(self.name, self.name_bn)


@dataclass
class StationRow:
    station: StationName
    # The day's figures by name; None when the station has none for the date.
    day: dict | None


class StationRows(Sequence[StationRow]):
    """The station table, worst first, read a page at a time (a Paginator's object list).

    Ties go by name in code point order, as Python compares strings (collation "C"), then by
    id: the table must not follow the rows' order on disk, which a restore from a backup
    changes.
    """

    def __init__(
        self, stations: QuerySet[Station], date: datetime.date, names: dict[int, StationName]
    ) -> None:
        self.names = names
        self.rows = (
            stations.annotate(day=FilteredRelation("days", condition=Q(days__date=date)))
            .values(
                "pk",
                **{DAY + "id": F("day__id")},
                **{DAY + name: F(f"day__{name}") for name in ROW_FIGURES},
            )
            .order_by(
                *(Coalesce(f"day__{name}", 0).desc() for name in WORST_FIRST),
                Collate("name", "C"),
                "pk",
            )
        )

    def __len__(self) -> int:
        return len(self.names)

    @overload
    def __getitem__(self, index: int) -> StationRow: ...

    @overload
    def __getitem__(self, index: slice) -> list[StationRow]: ...

    def __getitem__(self, index: int | slice) -> StationRow | list[StationRow]:
        if isinstance(index, int):
            return self[index : index + 1][0]
        return [
            StationRow(
                self.names[values["pk"]],
                None
                if values[DAY + "id"] is None
                else {name: values[DAY + name] for name in ROW_FIGURES},
            )
            for values in self.rows[index]
        ]

    def __iter__(self) -> Iterator[StationRow]:
        # One query for all, not one a row as a Sequence would.
        return iter(self[:])


@dataclass
class Dashboard:
    date: datetime.date
    subdivisions: list[Subdivision]
    rows: StationRows
    totals: dict[str, float | None]
    charts: list[LineChart]
    station_trends: list[dict]
    pending: list[tuple[StationName, list[str]]] = field(default_factory=list)
    never_filed: list[tuple[StationName, list[str]]] = field(default_factory=list)
    uncovered: list[tuple[StationName, dict]] = field(default_factory=list)
    open_sos: list[OpenSos] = field(default_factory=list)


@dataclass(frozen=True)
class OpenSos:
    """An open SOS alert of one station, from the read model, with the page to act on it."""

    station: StationName
    raised_at: datetime.datetime
    area: str
    branch: str
    path: str


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


def _trends(
    stations: QuerySet[Station], start: datetime.date, end: datetime.date
) -> tuple[dict[datetime.date, dict], dict[int, dict]]:
    """The figures the trends show, added up per date and per station over the days from
    `start` to `end`: {date: sums}, {station id: sums}.

    One pass over the read model (a state's 30 days are 15,000 rows) with GROUPING SETS, which
    the ORM cannot say, where two GROUP BY queries would read the rows twice.
    """
    within, params = stations.values("pk").query.sql_with_params()
    sums = ("covered", "uncovered", "entries", "incidents")
    # Only the table's name and the ORM's own compiled subquery go into the text; every value is
    # a parameter.
    sql = f"""
        SELECT GROUPING(date), date, station_id, SUM(entries_covered), SUM(entries_uncovered),
            SUM(entries), SUM(incidents)
        FROM {StationDay._meta.db_table}
        WHERE date >= %s AND date <= %s AND station_id IN ({within})
        GROUP BY GROUPING SETS ((date), (station_id))
    """  # noqa: S608
    per_day: dict[datetime.date, dict] = {}
    per_station: dict[int, dict] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [start, end, *params])
        for by_station, date, station_id, *values in cursor.fetchall():
            if by_station:
                per_station[station_id] = dict(zip(sums, values, strict=True))
            else:
                per_day[date] = dict(zip(sums, values, strict=True))
    return per_day, per_station


def build(*, user: User, date: datetime.date) -> Dashboard:
    subdivisions = list(subdivisions_overseen(user=user))
    # A subquery wherever it is used: the state's station ids never travel to Python.
    stations = Station.objects.live().filter(subdivision__in=subdivisions)
    days = StationDay.objects.filter(station__in=stations, date=date)
    sums = days.aggregate(**{name: Coalesce(Sum(name), 0) for name in FIGURES})
    totals: dict[str, float | None] = {
        **sums,
        "coverage_percent": coverage_percent(sums["entries_covered"], sums["entries_uncovered"]),
    }

    start = date - datetime.timedelta(days=TREND_DAYS - 1)
    per_day, per_station = _trends(stations, start, date)
    days_shown = [start + datetime.timedelta(days=n) for n in range(TREND_DAYS)]
    dates = [(day, day.strftime("%d/%m")) for day in days_shown]

    def coverage(row: dict | None) -> float | None:
        return coverage_percent(row["covered"], row["uncovered"], whole=False) if row else None

    charts = [
        line_chart(
            _("Coverage"),
            [(label, coverage(per_day.get(d))) for d, label in dates],
            unit="%",
            ceiling=100,
        ),
        line_chart(
            _("Roster entries"),
            [(label, (per_day.get(d) or {}).get("entries", 0)) for d, label in dates],
        ),
        line_chart(
            _("Incidents"),
            [(label, (per_day.get(d) or {}).get("incidents", 0)) for d, label in dates],
        ),
    ]
    names = {
        pk: StationName(*values) for pk, *values in stations.values_list("pk", *StationName._fields)
    }
    trends = [
        {
            **figures,
            "station": names[station_id],
            "coverage_percent": coverage_percent(figures["covered"], figures["uncovered"]),
        }
        for station_id, figures in per_station.items()
    ]
    # Sorted here, not by PostgreSQL: the order is by the whole percent as Python rounds it.
    trends.sort(
        key=lambda t: (
            t["coverage_percent"] is None,
            t["coverage_percent"] or 0,
            t["station"].name,
            t["station"].slug,
        )
    )

    dashboard = Dashboard(
        date, subdivisions, StationRows(stations, date, names), totals, charts, trends
    )
    # Only the days with something to list, in the table's order.
    listed = (
        days.exclude(**{name: [] for name in LISTS})
        .order_by(
            *(F(name).desc() for name in WORST_FIRST), Collate("station__name", "C"), "station_id"
        )
        .values("station_id", *LISTS)
    )
    for day in listed:
        station = names[day["station_id"]]
        if day["pending_branches"]:
            dashboard.pending.append((station, day["pending_branches"]))
        if day["never_filed_branches"]:
            dashboard.never_filed.append((station, day["never_filed_branches"]))
        for item in day["high_priority_uncovered"]:
            dashboard.uncovered.append((station, _in_reader_language(item)))
        dashboard.open_sos += [_open_sos(station, alert) for alert in day["open_sos_alerts"]]
    dashboard.open_sos.sort(key=lambda alert: alert.raised_at, reverse=True)
    return dashboard


def _open_sos(station: StationName, alert: dict) -> OpenSos:
    bengali = get_language() == "bn" and alert.get("area_bn")
    return OpenSos(
        station=station,
        raised_at=datetime.datetime.fromisoformat(alert["raised_at"]),
        area=alert["area_bn"] if bengali else alert["area"],
        branch=alert["branch"],
        path=f"{station_reverse(station, 'incidents:sos_list')}#sos-{alert['pk']}",
    )


def _in_reader_language(item: dict) -> dict:
    """An uncovered entry of the read model, kept in English with ASCII times, in the reader's
    language and numerals."""
    bengali = get_language() == "bn" and item.get("area_bn")
    # The reason is one of the sheet's reason labels, whose translations the catalogue holds.
    return {
        **item,
        "area": item["area_bn"] if bengali else item["area"],
        "time": native_digits(item["time"]),
        "reason": _(item["reason"]),
    }
