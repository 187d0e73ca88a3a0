from __future__ import annotations

import datetime
import re
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from lenders import services as lender_services
from lenders.models import CashBand, LenderBranch
from lenders.tests.factories import AgentFactory, AreaFactory, BranchFactory, MemberFactory
from stations import dashboard, stats
from stations.models import Station, StationDay, Subdivision
from stations.tests.factories import StationRoleFactory, SubdivisionRoleFactory, UserFactory

pytestmark = pytest.mark.django_db

IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
MORNING = datetime.datetime(2026, 12, 1, 7, 0, tzinfo=IST)
TODAY = MORNING.date()


@pytest.fixture
def clock():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


FIGURE_FIELDS = [
    "branches_approved",
    "branches_pending",
    "rosters_filed",
    "rosters_missing",
    "entries",
    "pending_branches",
    "never_filed_branches",
]


def _figures(station: Station, date: datetime.date) -> dict:
    """The station's figures once the minute job has recounted what changed."""
    stats.recount_waiting()
    day = StationDay.objects.get(station=station, date=date)
    return {name: getattr(day, name) for name in FIGURE_FIELDS}


def _entry(branch, agent, area, start: str, end: str) -> lender_services.EntryInput:
    return lender_services.EntryInput(
        agent=agent,
        area=area,
        depart_at=datetime.time.fromisoformat(start),
        return_at=datetime.time.fromisoformat(end),
        cash_band=CashBand.UNDER_50K,
    )


def _scripted_day(station: Station, on_commit) -> None:
    """A morning at a station: registrations, a decision, rosters filed and changed, then
    committed (`on_commit` is pytest-django's django_capture_on_commit_callbacks)."""
    user = UserFactory()
    with tenant_context(station), on_commit(execute=True):
        pending = lender_services.branch_register(
            user=user,
            lender_name="Arohan",
            kind="mfi",
            branch_name="Debra",
            address="NH 6",
            manager_name="R Das",
            manager_phone="+919830012345",
        )
        approved = lender_services.branch_register(
            user=UserFactory(),
            lender_name="Bandhan",
            kind="bank",
            branch_name="Debra",
            address="Bazar",
            manager_name="S Pal",
            manager_phone="+919830012346",
        )
        lender_services.branch_approve(branch=approved, by=user)
        silent = BranchFactory(status=LenderBranch.Status.APPROVED)
        area = AreaFactory()
        agent, other = AgentFactory(branch=approved), AgentFactory(branch=approved)
        first = lender_services.roster_entry_add(
            branch=approved,
            date=TODAY,
            data=_entry(approved, agent, area, "09:00", "10:00"),
            by=user,
        )
        lender_services.roster_entry_add(
            branch=approved,
            date=TODAY,
            data=_entry(approved, other, area, "09:00", "11:00"),
            by=user,
        )
        lender_services.roster_entry_delete(entry=first)
        assert pending.status == "pending"
        assert silent.status == "approved"


def test_the_read_model_follows_the_days_changes_as_they_happen(
    debra, clock, django_capture_on_commit_callbacks
):
    _scripted_day(debra, django_capture_on_commit_callbacks)
    figures = _figures(debra, TODAY)
    assert figures["branches_approved"] == 2
    assert figures["branches_pending"] == 1
    assert figures["rosters_filed"] == 1
    assert figures["rosters_missing"] == 1
    assert figures["entries"] == 1
    assert figures["pending_branches"] == ["Arohan, Debra"]
    assert len(figures["never_filed_branches"]) == 1


def test_a_rebuild_from_the_station_schemas_matches_the_live_read_model(
    debra, clock, django_capture_on_commit_callbacks
):
    _scripted_day(debra, django_capture_on_commit_callbacks)
    live = _figures(debra, TODAY)
    StationDay.objects.filter(station=debra).delete()
    call_command(
        "rebuild_dashboard", "--from", TODAY.isoformat(), "--station", "debra", stdout=StringIO()
    )
    assert _figures(debra, TODAY) == live


def test_the_sdpo_sees_every_station_of_the_subdivision_and_nothing_of_another(
    debra, pingla, tamluk, client_for, clock
):
    sdpo = SubdivisionRoleFactory(subdivision=debra.subdivision).user
    page = client_for(sdpo).get("/sdpo/").content.decode()
    assert "Debra" in page
    assert "Pingla" in page
    assert "Tamluk" not in page


def test_a_date_typed_far_in_the_past_or_future_shows_a_dashboard_not_an_error(
    debra, client_for, clock
):
    client = client_for(SubdivisionRoleFactory(subdivision=debra.subdivision).user)
    for typed in ("0001-01-01", "0001-01-29", "0001-01-30", "1900-01-01", "9999-12-31"):
        response = client.get(f"/sdpo/?date={typed}")
        assert response.status_code == 200, typed
        assert "Debra" in response.content.decode()


def test_a_published_sheet_on_the_dashboard_opens_that_days_sheet_of_the_station(
    debra, client_for, clock
):
    day = TODAY - datetime.timedelta(days=3)
    StationDay.objects.create(station=debra, date=day, sheet_published=True)
    client = client_for(SubdivisionRoleFactory(subdivision=debra.subdivision).user)
    page = client.get(f"/sdpo/?date={day}").content.decode()
    assert f'href="/station/debra/escorts/sheet/{day}/">published</a>' in page


@pytest.mark.parametrize("kind", ["lender", "duty", "oc", "nobody"])
def test_the_dashboard_answers_404_to_everyone_but_the_sdpo(debra, client_for, kind):
    if kind == "lender":
        with tenant_context(debra):
            user = MemberFactory(branch=BranchFactory()).user
    elif kind == "nobody":
        user = UserFactory()
    else:
        user = StationRoleFactory(station=debra, role=kind).user
    assert client_for(user).get("/sdpo/").status_code == 404


def test_the_dashboard_reads_in_the_same_number_of_queries_for_more_stations(
    debra, client_for, clock
):
    subdivision = Subdivision.objects.create(name="Wide", district="Test")
    sdpo = SubdivisionRoleFactory(subdivision=subdivision).user
    client = client_for(sdpo)
    client.get("/")  # the first request after sign-in pushes the session's expiry on

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/sdpo/?date={TODAY}").status_code == 200
        return len(captured)

    def add_stations(count: int, start: int) -> None:
        # Rows only: the dashboard never opens a station schema, so none is needed here.
        stations = Station.objects.bulk_create(
            Station(
                schema_name=f"wide_{n}", slug=f"wide-{n}", name=f"Wide {n}", subdivision=subdivision
            )
            for n in range(start, start + count)
        )
        StationDay.objects.bulk_create(
            StationDay(station=s, date=TODAY - datetime.timedelta(days=d), entries=d)
            for s in stations
            for d in range(3)
        )

    add_stations(2, 0)
    queries()  # the first request after sign-in also renews the session
    few = queries()
    add_stations(40, 2)
    assert queries() == few


def test_the_sdpo_dashboard_link_shows_on_the_home_page_only_for_the_sdpo(debra, client_for):
    sdpo = SubdivisionRoleFactory(subdivision=debra.subdivision).user
    assert "/sdpo/" in client_for(sdpo).get("/").content.decode()
    assert "/sdpo/" not in client_for(UserFactory()).get("/").content.decode()


def test_the_sdpo_gets_the_days_summary_once(debra, pingla, clock):
    from notifications.models import Message
    from notifications.services import sdpo_summary_send

    sdpo = SubdivisionRoleFactory(subdivision=debra.subdivision).user
    StationDay.objects.create(station=debra, date=TODAY, rosters_filed=3, runs=2, incidents=1)
    StationDay.objects.create(station=pingla, date=TODAY, rosters_filed=4, entries_uncovered=5)
    assert sdpo_summary_send(subdivision=debra.subdivision, date=TODAY) > 0
    assert sdpo_summary_send(subdivision=debra.subdivision, date=TODAY) == 0
    with tenant_context(debra):
        message = Message.objects.get(recipient=sdpo, channel="in_app")
    assert message.kind == "sdpo_daily_summary"
    assert message.context["rosters"] == "7"
    assert message.context["uncovered"] == "5"


def test_coverage_is_the_covered_share_of_planned_entries_and_none_when_nothing_was_planned():
    assert dashboard.coverage_percent(3, 1) == 75
    assert dashboard.coverage_percent(2, 1) == 67
    assert dashboard.coverage_percent(1, 2, whole=False) == pytest.approx(33.333, abs=0.001)
    assert dashboard.coverage_percent(0, 0) is None
    assert dashboard.coverage_percent(0, 0, whole=False) is None


def test_the_30_day_chart_shows_a_single_day_of_data(debra, client_for, clock):
    sdpo = SubdivisionRoleFactory(subdivision=debra.subdivision).user
    StationDay.objects.create(
        station=debra, date=TODAY, entries=4, entries_covered=3, entries_uncovered=1
    )
    page = client_for(sdpo).get("/sdpo/").content.decode()
    coverage = next(
        f for f in page.split("<figure")[1:] if "Coverage" in f.split("</figcaption>")[0]
    )
    # One day is one point: a line alone would draw nothing.
    assert coverage.count('class="chart-dot"') == 1
    assert "75%" in coverage


def _row_stations(subdivision: Subdivision, names: list[str]) -> list[Station]:
    # Rows only: the dashboard never opens a station schema, so none is needed here.
    key = subdivision.pk
    return Station.objects.bulk_create(
        Station(
            schema_name=f"row_{key}_{n}", slug=f"row-{key}-{n}", name=name, subdivision=subdivision
        )
        for n, name in enumerate(names)
    )


def test_the_station_table_is_worst_first_then_by_name_as_python_orders_it_across_pages(
    client_for, clock
):
    subdivision = Subdivision.objects.create(name="Wide", district="Test")
    # Upper case before lower case, "B" before "a", as Python compares: not the order of a
    # language's collation, which would put "alpha" first.
    names = [f"Station {n:02}" for n in range(55)] + ["alpha", "Beta", "beta"]
    stations = _row_stations(subdivision, names)
    by_name = {s.name: s for s in stations}
    figures = {
        "Station 40": {"rosters_missing": 1},
        "Station 41": {"sos_open": 1},
        "Station 42": {"runs_red": 2},
        "Station 43": {"runs_red": 2, "runs_amber": 1},
        "Station 44": {"entries_uncovered": 3, "entries": 9},
        "Station 45": {"runs_overdue": 1},
        "alpha": {"entries": 5, "entries_covered": 5},
    }
    StationDay.objects.bulk_create(
        StationDay(station=by_name[name], date=TODAY, **values) for name, values in figures.items()
    )
    client = client_for(SubdivisionRoleFactory(subdivision=subdivision).user)

    shown = []
    for number in (1, 2):
        page = client.get(f"/sdpo/?date={TODAY}&page={number}").content.decode()
        table = page.split("Stations, worst first")[1].split("</table>")[0]
        shown += [cell.split("</a>")[0].rsplit(">", 1)[1] for cell in table.split("<td><a ")[1:]]

    worst = ["Station 41", "Station 43", "Station 42", "Station 44", "Station 40", "Station 45"]
    rest = sorted(set(names) - set(worst))
    assert shown == worst + rest
    assert rest[:3] == ["Beta", "Station 00", "Station 01"]
    assert rest[-2:] == ["alpha", "beta"]


def test_the_totals_and_the_lists_cover_every_station_in_the_tables_order(client_for, clock):
    subdivision = Subdivision.objects.create(name="Wide", district="Test")
    stations = _row_stations(subdivision, [f"Station {n:02}" for n in range(60)])
    StationDay.objects.bulk_create(
        StationDay(
            station=station,
            date=TODAY,
            entries=2,
            entries_covered=1,
            entries_uncovered=n % 2,
            pending_branches=[f"Lender {n}"] if n in (4, 57) else [],
            never_filed_branches=["Quiet"] if n == 58 else [],
        )
        for n, station in enumerate(stations)
    )
    # Another day and another subdivision count for nothing.
    StationDay.objects.create(station=stations[0], date=TODAY - datetime.timedelta(days=1))
    other = _row_stations(Subdivision.objects.create(name="Other", district="Test"), ["Far"])
    StationDay.objects.filter(station=stations[0], date=TODAY).update(sos_open=1)
    StationDay.objects.create(station=other[0], date=TODAY, entries=100)
    page = client_for(SubdivisionRoleFactory(subdivision=subdivision).user).get(
        f"/sdpo/?date={TODAY}"
    )
    board = page.context["board"]
    assert board.totals["entries"] == 120
    assert board.totals["entries_uncovered"] == 30
    assert board.totals["sos_open"] == 1
    assert board.totals["coverage_percent"] == 67
    # Odd stations have an uncovered entry: 57 comes before 4 in the table, and in the list.
    assert [(s.name, names) for s, names in board.pending] == [
        ("Station 57", ["Lender 57"]),
        ("Station 04", ["Lender 4"]),
    ]
    assert [s.name for s, _names in board.never_filed] == ["Station 58"]
    assert "Lender 57" in page.content.decode()


def test_a_look_at_the_dashboard_writes_nothing(debra, pingla, client_for, clock):
    sdpo = SubdivisionRoleFactory(subdivision=debra.subdivision).user
    client = client_for(sdpo)
    client.get("/")  # the first request after sign-in pushes the session's expiry on
    with CaptureQueriesContext(connection) as captured:
        for _n in range(3):
            assert client.get(f"/sdpo/?date={TODAY}").status_code == 200
    writes = [
        q["sql"]
        for q in captured
        if q["sql"].split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}
    ]
    assert writes == []


def test_the_dashboard_reads_stations_and_days_as_values_not_model_instances(client_for, clock):
    subdivision = Subdivision.objects.create(name="Wide", district="Test")
    stations = _row_stations(subdivision, [f"Station {n:02}" for n in range(60)])
    StationDay.objects.bulk_create(
        StationDay(station=s, date=TODAY - datetime.timedelta(days=d), entries=d, sos_open=1)
        for s in stations
        for d in range(3)
    )
    client = client_for(SubdivisionRoleFactory(subdivision=subdivision).user)
    made = []

    def count(sender, **kwargs) -> None:
        made.append(sender)

    post_init.connect(count, sender=Station)
    post_init.connect(count, sender=StationDay)
    try:
        page = client.get(f"/sdpo/?date={TODAY}").content.decode()
    finally:
        post_init.disconnect(count, sender=Station)
        post_init.disconnect(count, sender=StationDay)
    # The page's own station, routing's public tenant, is the one instance.
    assert [sender for sender in made if sender is StationDay] == []
    assert len([sender for sender in made if sender is Station]) <= 1
    assert "Station 49" in page
    assert "Station 50" not in page


def _uncovered_day(subdivision: Subdivision) -> Station:
    """A station whose day has counts of two digits and a high-priority entry left uncovered."""
    station = _row_stations(subdivision, ["Debra"])[0]
    StationDay.objects.create(
        station=station,
        date=TODAY,
        entries=12,
        entries_covered=9,
        entries_uncovered=3,
        runs=4,
        runs_red=1,
        incidents=2,
        high_priority_uncovered=[
            {
                "time": "08:30-12:30",
                "area": "Bazar",
                "area_bn": "বাজার",
                "branch": "Arohan, Debra",
                "reason": "No team on duty",
            }
        ],
    )
    return station


def test_a_bengali_dashboard_writes_times_and_counts_in_bengali_digits_not_what_machines_read(
    client_for, clock
):
    subdivision = Subdivision.objects.create(name="Wide", district="Test")
    station = _uncovered_day(subdivision)
    sdpo = SubdivisionRoleFactory(subdivision=subdivision).user
    sdpo.language = "bn"
    sdpo.save()
    shown = client_for(sdpo).get(f"/sdpo/?date={TODAY}").content.decode().split("<main", 1)[1]
    # The read model's time, the totals, the station's row and the 30-day table.
    assert "০৮:৩০-১২:৩০ · বাজার" in shown
    assert '<div class="fs-4">৭৫%</div>' in shown and '<div class="fs-4">১২</div>' in shown
    assert '">৯ / <span' in shown and '">৪ (০ / ০ / ০)</td>' in shown  # noqa: RUF001
    red = f'data-watch="{station.slug}"><span class="badge text-bg-danger">'
    assert red + "১</span> / ০" in shown  # noqa: RUF001
    assert '">১২</td><td data-label="ঘটনা">২</td>' in shown
    # No text a person reads keeps an ASCII digit (the chart's day labels included)...
    assert re.findall(r">[^<]*[0-9][^<]*<", shown) == []
    # ...while the date box's value, the chart's coordinates and the bar's width stay ASCII.
    assert f'value="{TODAY}"' in shown
    assert re.search(r'points="[0-9., ]+"', shown)
    assert '<rect width="75" height="10"' in shown


def test_an_english_dashboard_keeps_its_times_and_counts_in_ascii_digits(client_for, clock):
    subdivision = Subdivision.objects.create(name="Wide", district="Test")
    station = _uncovered_day(subdivision)
    sdpo = SubdivisionRoleFactory(subdivision=subdivision).user
    shown = client_for(sdpo).get(f"/sdpo/?date={TODAY}").content.decode().split("<main", 1)[1]
    assert "08:30-12:30 · Bazar" in shown
    assert '<div class="fs-4">75%</div>' in shown and '<div class="fs-4">12</div>' in shown
    assert f'data-watch="{station.slug}"><span class="badge text-bg-danger">1</span> / 0' in shown
    assert not re.findall("[০-৯]", shown)  # noqa: RUF001


def test_a_date_not_of_the_calendar_shows_today_and_says_so(debra, client_for, clock):
    sdpo = SubdivisionRoleFactory(subdivision=debra.subdivision).user
    sdpo.language = "bn"
    sdpo.save()
    page = client_for(sdpo).get("/sdpo/?date=2026-02-30").content.decode()
    assert "“2026-02-30” ক্যালেন্ডারের কোনো তারিখ নয়: আজকের তথ্য দেখানো হচ্ছে।" in page
    assert "ক্যালেন্ডারের" not in client_for(sdpo).get("/sdpo/").content.decode()
