from __future__ import annotations

import datetime

import pytest
import time_machine
from django.utils import timezone
from django_tenants.utils import tenant_context

from incidents import selectors, services
from incidents.models import Incident, SosAlert
from lenders.models import BranchMember
from lenders.tests.factories import (
    AgentFactory,
    AreaFactory,
    BranchFactory,
    EntryFactory,
    MemberFactory,
)
from notifications import catalogue
from notifications.models import Message
from stations import stats
from stations.models import Station, StationDay
from stations.tests.factories import StationRoleFactory, SubdivisionRoleFactory, UserFactory

pytestmark = pytest.mark.django_db

IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
NOON = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=IST)
TODAY = NOON.date()


@pytest.fixture
def clock():
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


@pytest.fixture
def trip(in_debra, clock):
    """Today's trip of a field agent who has a login of their own."""
    entry = EntryFactory(roster__date=TODAY, roster__status="filed")
    login = MemberFactory(
        branch=entry.roster.branch, role=BranchMember.Role.AGENT, agent=entry.agent
    )
    return entry, login.user


def _today(station) -> StationDay:
    """The station's figures once the minute job has recounted what changed."""
    stats.recount_waiting()
    return StationDay.objects.get(station=station, date=TODAY)


def test_an_officer_records_an_incident_and_the_dashboard_counts_it(
    in_debra, client_for, clock, django_capture_on_commit_callbacks
):
    officer = StationRoleFactory(station=in_debra, role="duty").user
    area = AreaFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(officer).post(
            "/station/debra/lenders/incidents/new/",
            {
                "occurred_at": "2026-12-01T10:15",
                "kind": "snatching",
                "area": area.pk,
                "fir_number": "Debra PS 231/26",
            },
        )
    assert response.status_code == 302
    incident = Incident.objects.get(fir_number="Debra PS 231/26")
    assert incident.status == "open"
    assert _today(in_debra).incidents == 1


def test_the_register_dates_an_incident_in_the_portals_one_format(in_debra, client_for, clock):
    officer = StationRoleFactory(station=in_debra, role="duty").user
    incident = services.incident_record(
        occurred_at=datetime.datetime(2026, 12, 1, 10, 15, tzinfo=IST),
        kind="snatching",
        place="Debra bazar",
        by=officer,
    )
    client = client_for(officer)
    for page in (
        "/station/debra/lenders/incidents/",
        f"/station/debra/lenders/incidents/{incident.pk}/",
    ):
        assert "Tue 01 Dec 2026 10:15" in client.get(page).content.decode()


def test_the_register_finds_an_incident_by_its_area_and_branch_as_the_page_shows_them(
    in_debra, client_for, clock
):
    officer = StationRoleFactory(station=in_debra, role="duty").user
    area = AreaFactory(name="Golbazar", name_bn="গোলবাজার")
    services.incident_record(
        occurred_at=datetime.datetime(2026, 12, 1, 10, 15, tzinfo=IST),
        kind="snatching",
        area=area,
        branch=BranchFactory(lender_name="Bandhan Bank", branch_name="Kharagpur 34"),
        by=officer,
    )
    client = client_for(officer)
    for search in ("Golbazar", "গোলবাজার", "Kharagpur 34"):
        page = client.get("/station/debra/lenders/incidents/", {"q": search}).content.decode()
        assert "10:15" in page or "১০:১৫" in page, search


def test_a_bengali_officer_reads_an_open_incident_as_open_not_as_the_verb(
    in_debra, client_for, clock
):
    officer = StationRoleFactory(station=in_debra, role="duty").user
    officer.language = "bn"
    officer.save()
    incident = services.incident_record(
        occurred_at=datetime.datetime(2026, 12, 1, 10, 15, tzinfo=IST),
        kind="snatching",
        place="Debra bazar",
        by=officer,
    )
    client = client_for(officer)
    for page in (
        "/station/debra/lenders/incidents/",
        f"/station/debra/lenders/incidents/{incident.pk}/",
    ):
        text = client.get(page).content.decode()
        assert ">খোলা</span>" in text
        assert "খুলুন" not in text  # "open it!", the date box's button


def test_the_registers_pages_keep_the_kind_chosen_and_count_in_the_readers_digits(
    in_debra, client_for, clock
):
    officer = StationRoleFactory(station=in_debra, role="duty").user
    for n in range(26):
        services.incident_record(
            occurred_at=NOON - datetime.timedelta(hours=n),
            kind="snatching",
            place=f"Snatching place {n}",
            by=officer,
        )
    services.incident_record(occurred_at=NOON, kind="attempt", place="Attempt place", by=officer)
    client = client_for(officer)
    page = client.get("/station/debra/lenders/incidents/?kind=snatching").content.decode()
    assert "Attempt place" not in page
    assert 'href="?kind=snatching&amp;page=2"' in page
    second = client.get("/station/debra/lenders/incidents/?kind=snatching&page=2").content
    assert "Attempt place" not in second.decode()
    officer.language = "bn"
    officer.save()
    page = client_for(officer).get("/station/debra/lenders/incidents/?kind=snatching")
    assert "পাতা ১ / ২" in page.content.decode()


def test_an_incident_in_the_future_is_refused_and_the_form_keeps_the_input(
    in_debra, client_for, clock
):
    officer = StationRoleFactory(station=in_debra, role="duty").user
    response = client_for(officer).post(
        "/station/debra/lenders/incidents/new/",
        {"occurred_at": "2026-12-02T10:15", "kind": "attempt", "place": "Loyada more"},
    )
    page = response.content.decode()
    assert "cannot be in the future" in page
    assert 'value="Loyada more"' in page


def test_a_branch_report_counts_only_once_the_station_confirms_it(
    in_debra, client_for, clock, django_capture_on_commit_callbacks
):
    member = MemberFactory(branch=BranchFactory())
    with django_capture_on_commit_callbacks(execute=True):
        client_for(member.user).post(
            f"/station/debra/lenders/branch/{member.branch.pk}/incidents/report/",
            {"occurred_at": "2026-12-01T09:00", "kind": "suspicious", "place": "Balichak road"},
        )
    incident = Incident.objects.get(place="Balichak road")
    assert incident.status == "reported"
    assert incident.branch == member.branch
    assert _today(in_debra).incidents == 0
    officer = StationRoleFactory(station=in_debra, role="duty").user
    with django_capture_on_commit_callbacks(execute=True):
        client_for(officer).post(
            f"/station/debra/lenders/incidents/{incident.pk}/status/", {"status": "open"}
        )
    incident.refresh_from_db()
    assert incident.status == "open"
    assert incident.confirmed_by == officer
    assert _today(in_debra).incidents == 1


def test_a_snatching_raises_its_areas_risk_for_the_set_number_of_days(in_debra, settings, clock):
    settings.INCIDENT_RAISES_RISK_DAYS = 30
    area, quiet = AreaFactory(), AreaFactory()
    services.incident_record(
        by=UserFactory(),
        occurred_at=timezone.now() - datetime.timedelta(days=10),
        kind="snatching",
        area=area,
    )
    assert selectors.area_ids_at_raised_risk(on=TODAY) == {area.pk}
    assert selectors.area_ids_at_raised_risk(on=TODAY + datetime.timedelta(days=25)) == set()
    assert quiet.pk not in selectors.area_ids_at_raised_risk(on=TODAY)


def test_the_register_finds_an_incident_by_its_areas_bengali_name_too(in_debra, clock):
    area = AreaFactory(name="Malancha", name_bn="মালঞ্চ")
    services.incident_record(
        by=UserFactory(), occurred_at=timezone.now(), kind="snatching", area=area
    )
    assert selectors.incident_list(search="মালঞ্চ").count() == 1
    assert selectors.incident_list(search="Malancha").count() == 1


def test_an_agent_sends_sos_with_the_phones_location(trip, client_for):
    entry, agent_user = trip
    client = client_for(agent_user)
    page = client.get("/station/debra/lenders/my-trips/").content.decode()
    assert f"/station/debra/lenders/my-trips/{entry.pk}/sos/" in page
    confirm = client.get(f"/station/debra/lenders/my-trips/{entry.pk}/sos/")
    assert "Send SOS" in confirm.content.decode()
    assert SosAlert.objects.count() == 0
    response = client.post(
        f"/station/debra/lenders/my-trips/{entry.pk}/sos/",
        {"latitude": "22.371234", "longitude": "87.551234", "accuracy_m": "20"},
    )
    assert "SOS sent" in response.content.decode()
    alert = SosAlert.objects.get()
    assert str(alert.latitude) == "22.371234"
    assert alert.incident.kind == "sos"
    assert alert.incident.agent == entry.agent


def test_the_sos_answer_to_the_pages_script_gives_the_time_in_the_readers_digits(trip, client_for):
    entry, agent_user = trip
    agent_user.language = "bn"
    agent_user.save()
    response = client_for(agent_user).post(
        f"/station/debra/lenders/my-trips/{entry.pk}/sos/", HTTP_ACCEPT="application/json"
    )
    assert "১২:০০" in response.json()["message"]  # noqa: RUF001


def test_an_sos_with_an_absurd_accuracy_or_fix_time_still_goes_with_its_position(trip, client_for):
    entry, agent_user = trip
    response = client_for(agent_user).post(
        f"/station/debra/lenders/my-trips/{entry.pk}/sos/",
        {
            "latitude": "22.371234",
            "longitude": "87.551234",
            "accuracy_m": "99999999999999999999",
            "located_ms": "99999999999999999999",
        },
    )
    assert "SOS sent" in response.content.decode()
    alert = SosAlert.objects.get()
    assert str(alert.latitude) == "22.371234"
    assert (alert.accuracy_m, alert.located_at) == (1_000_000, None)


def test_an_agent_signing_in_lands_on_their_own_trips_one_tap_from_sos(trip, client_for):
    entry, agent_user = trip
    client = client_for(agent_user)
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == "/station/debra/lenders/my-trips/"
    page = response.content.decode()
    assert f'href="/station/debra/lenders/my-trips/{entry.pk}/sos/"' in page
    assert "Register a lender branch" not in page


def test_the_station_page_offers_a_field_agent_their_trips_not_the_branchs_roster(trip, client_for):
    entry, agent_user = trip
    page = client_for(agent_user).get("/station/debra/").content.decode()
    assert "You are here as: Field agent" in page and "Lender branch staff" not in page
    assert 'href="/station/debra/lenders/my-trips/"' in page
    assert "My branch: roster and agents" not in page
    manager = MemberFactory(branch=entry.roster.branch).user
    page = client_for(manager).get("/station/debra/").content.decode()
    assert "You are here as: Lender branch staff" in page
    assert "My branch: roster and agents" in page


def test_a_branch_manager_lands_on_the_branch_not_the_agents_trips(trip, client_for):
    entry, _agent = trip
    manager = MemberFactory(branch=entry.roster.branch).user
    response = client_for(manager).get("/", follow=True)
    branch_page = f"/station/debra/lenders/branch/{entry.roster.branch.pk}/"
    assert response.redirect_chain[-1][0] == branch_page


def test_the_sos_carries_a_map_link_with_accuracy_and_time_to_the_station(trip, client_for):
    entry, agent_user = trip
    station = Station.objects.get(slug="debra")
    officer = StationRoleFactory(station=station, role="duty").user
    fixed = timezone.now() - datetime.timedelta(seconds=20)
    client_for(agent_user).post(
        f"/station/debra/lenders/my-trips/{entry.pk}/sos/",
        {
            "latitude": "22.371234",
            "longitude": "87.551234",
            "accuracy_m": "20",
            "located_ms": str(int(fixed.timestamp() * 1000)),
        },
    )
    page = client_for(officer).get("/station/debra/lenders/sos/").content.decode()
    osm = (
        "https://www.openstreetmap.org/?mlat=22.371234&amp;mlon=87.551234"
        "#map=17/22.371234/87.551234"
    )
    assert osm in page and 'href="geo:22.371234,87.551234"' in page
    assert "within 20 m" in page
    assert f"located at {timezone.localtime(fixed):%H:%M:%S}" in page
    message = Message.objects.get(recipient=officer, channel="in_app", kind="sos")
    body = catalogue.render("sos", "en", message.context).body
    assert osm.replace("&amp;", "&") in body and "geo:22.371234,87.551234" in body
    assert "within 20 m" in body
    # A Bengali officer reads the accuracy, like the time beside it, in Bengali digits.
    officer.language = "bn"
    officer.save()
    page = client_for(officer).get("/station/debra/lenders/sos/").content.decode()
    assert "২০ মিটারের মধ্যে" in page


def test_pressing_sos_twice_raises_one_alert(trip, client_for):
    entry, agent_user = trip
    client = client_for(agent_user)
    client.post(f"/station/debra/lenders/my-trips/{entry.pk}/sos/")
    client.post(f"/station/debra/lenders/my-trips/{entry.pk}/sos/")
    assert SosAlert.objects.count() == 1
    assert Incident.objects.filter(kind="sos").count() == 1


def test_an_agent_cannot_send_sos_for_someone_elses_trip(trip, client_for):
    entry, agent_user = trip
    other = EntryFactory(roster=entry.roster, agent=AgentFactory(branch=entry.roster.branch))
    client = client_for(agent_user)
    assert client.post(f"/station/debra/lenders/my-trips/{other.pk}/sos/").status_code == 404
    assert SosAlert.objects.count() == 0


def test_an_open_sos_shows_to_the_station_and_the_sdpo_until_taken(
    trip, client_for, django_capture_on_commit_callbacks
):
    entry, agent_user = trip
    with django_capture_on_commit_callbacks(execute=True):
        client_for(agent_user).post(f"/station/debra/lenders/my-trips/{entry.pk}/sos/")
    station = Station.objects.get(slug="debra")
    officer = client_for(StationRoleFactory(station=station, role="duty").user)
    sdpo = client_for(SubdivisionRoleFactory(subdivision=station.subdivision).user)
    assert "open SOS" in officer.get("/station/debra/").content.decode()
    assert entry.agent.name in officer.get("/station/debra/lenders/sos/").content.decode()
    assert _today(station).sos_open == 1
    assert 'class="table-danger"' in sdpo.get("/sdpo/").content.decode()
    # The SDPO sees the alert but leaves taking it to the station.
    with tenant_context(station):
        alert = SosAlert.objects.get()
    assert sdpo.post(f"/station/debra/lenders/sos/{alert.pk}/acknowledge/").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        officer.post(f"/station/debra/lenders/sos/{alert.pk}/acknowledge/")
    assert _today(station).sos_open == 0
    assert "open SOS" not in officer.get("/station/debra/").content.decode()


def test_lenders_cannot_open_the_stations_incident_register(in_debra, client_for):
    client = client_for(MemberFactory(branch=BranchFactory()).user)
    assert client.get("/station/debra/lenders/incidents/").status_code == 404
    assert client.get("/station/debra/lenders/sos/").status_code == 404


def test_the_sdpo_reads_the_incident_register_but_cannot_write_it(in_debra, client_for, clock):
    incident = services.incident_record(
        by=UserFactory(), occurred_at=timezone.now(), kind="attempt", place="Duan"
    )
    sdpo = client_for(SubdivisionRoleFactory(subdivision=in_debra.subdivision).user)
    assert "Duan" in sdpo.get("/station/debra/lenders/incidents/").content.decode()
    assert sdpo.get(f"/station/debra/lenders/incidents/{incident.pk}/").status_code == 200
    assert sdpo.get("/station/debra/lenders/incidents/new/").status_code == 404
    assert sdpo.get(f"/station/debra/lenders/incidents/{incident.pk}/edit/").status_code == 404


def test_a_full_fir_reference_is_kept_whole(in_debra, clock):
    reference = (
        "Debra PS Case No. 1234/2026 dated 01.12.2026 u/s 309(4)/3(5) BNS, 2023 and 304(2) BNS"
    )
    incident = services.incident_record(
        by=UserFactory(),
        occurred_at=timezone.now(),
        kind="snatching",
        area=AreaFactory(),
        fir_number=reference,
    )
    incident.refresh_from_db()
    assert incident.fir_number == reference


def test_an_sos_from_a_bengali_phone_reads_in_each_officers_own_language(
    in_debra, trip, client_for
):
    entry, agent_user = trip
    agent_user.language = "bn"
    agent_user.save()
    client_for(agent_user).post(f"/station/debra/lenders/my-trips/{entry.pk}/sos/")
    incident = SosAlert.objects.get().incident
    assert incident.narrative == "SOS pressed by the field agent."
    page = f"/station/debra/lenders/incidents/{incident.pk}/"
    english = StationRoleFactory(station=in_debra, role="duty").user
    assert "SOS pressed by the field agent." in client_for(english).get(page).content.decode()
    bengali = StationRoleFactory(station=in_debra, role="duty").user
    bengali.language = "bn"
    bengali.save()
    assert "ফিল্ড এজেন্ট এসওএস টিপেছেন।" in client_for(bengali).get(page).content.decode()


def test_an_sos_and_an_incident_reach_a_bengali_inbox_with_the_areas_bengali_name(
    in_debra, trip, client_for
):
    entry, agent_user = trip
    entry.area.name, entry.area.name_bn = "Malancha", "মালঞ্চ"
    entry.area.save()
    officer = StationRoleFactory(station=in_debra, role="duty").user
    client_for(agent_user).post(f"/station/debra/lenders/my-trips/{entry.pk}/sos/")
    services.incident_record(
        by=officer, occurred_at=timezone.now(), kind="snatching", area=entry.area
    )
    for kind in ("sos", "incident_recorded"):
        message = Message.objects.get(recipient=officer, channel="in_app", kind=kind)
        bengali = catalogue.render(kind, "bn", message.context)
        assert "মালঞ্চ" in bengali.body and "Malancha" not in bengali.body
        english = catalogue.render(kind, "en", message.context)
        assert "Malancha" in english.body and "মালঞ্চ" not in english.body
        assert "মালঞ্চ" in bengali.sms and "Malancha" in english.sms
    officer.language = "bn"
    officer.save()
    inbox = client_for(officer).get("/station/debra/notifications/").content.decode()
    assert "মালঞ্চ" in inbox and "Malancha" not in inbox


def test_an_incident_and_an_sos_are_named_by_the_stations_clock_not_utc(trip, client_for):
    entry, agent_user = trip
    client_for(agent_user).post(
        f"/station/debra/lenders/my-trips/{entry.pk}/sos/",
        {"latitude": "22.371234", "longitude": "87.551234", "accuracy_m": "20"},
    )
    alert = SosAlert.objects.get()
    alert.refresh_from_db()
    # NOON is 12:00 in India (06:30 UTC): the audit trail and the admin name them by it.
    assert str(alert).endswith("· 12:00")
    assert str(alert.incident).endswith("· 2026-12-01 12:00")
