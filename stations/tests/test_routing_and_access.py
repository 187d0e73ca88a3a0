from __future__ import annotations

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django_tenants.utils import tenant_context

from stations.models import StationRole, SubdivisionRole
from stations.selectors import station_list_live
from stations.tests.factories import StationRoleFactory, SubdivisionRoleFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_it_routes_station_paths_to_the_station_schema(debra, client_for):
    user = StationRoleFactory(station=debra).user
    response = client_for(user).get("/station/debra/")
    assert response.status_code == 200
    assert response.wsgi_request.tenant == debra
    assert connection.schema_name == "debra"
    assert "Debra" in response.content.decode()


def test_it_keeps_one_stations_rows_out_of_anothers_schema(debra, pingla):
    user = UserFactory()
    with tenant_context(debra):
        LogEntry.objects.create(
            user=user,
            content_type=ContentType.objects.get_for_model(StationRole),
            object_repr="made at Debra",
            action_flag=ADDITION,
        )
        assert LogEntry.objects.filter(object_repr="made at Debra").exists()
    with tenant_context(pingla):
        assert not LogEntry.objects.filter(object_repr="made at Debra").exists()
    assert not LogEntry.objects.filter(object_repr="made at Debra").exists()


def test_it_answers_404_for_a_station_that_does_not_exist(client_for, debra):
    user = StationRoleFactory(station=debra).user
    assert client_for(user).get("/station/nowhere/").status_code == 404


def test_it_sends_anonymous_users_to_login(client, debra):
    response = client.get("/station/debra/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/station/debra/")


def test_it_answers_404_to_a_user_with_no_role_in_the_station(debra, client_for):
    assert client_for(UserFactory()).get("/station/debra/").status_code == 404


def test_it_answers_404_at_pingla_to_debras_duty_officer(debra, pingla, client_for):
    client = client_for(StationRoleFactory(station=debra).user)
    assert client.get("/station/debra/").status_code == 200
    response = client.get("/station/pingla/")
    assert response.status_code == 404
    assert "Pingla" not in response.content.decode()


def test_it_lets_the_sdpo_into_every_station_of_the_subdivision_only(
    debra, pingla, tamluk, client_for
):
    sdpo = SubdivisionRoleFactory(subdivision=debra.subdivision).user
    client = client_for(sdpo)
    assert client.get("/station/debra/").status_code == 200
    assert client.get("/station/pingla/").status_code == 200
    assert client.get("/station/tamluk/").status_code == 404


def test_it_refuses_an_inactive_user_with_a_role(debra, client_for):
    role = StationRoleFactory(station=debra)
    client = client_for(role.user)
    role.user.is_active = False
    role.user.save()
    assert client.get("/station/debra/").status_code in (302, 404)


def test_home_lists_the_stations_a_user_may_enter_with_the_role(debra, pingla, tamluk, client_for):
    user = UserFactory()
    StationRoleFactory(user=user, station=tamluk, role=StationRole.Role.OFFICER_IN_CHARGE)
    SubdivisionRoleFactory(user=user, subdivision=debra.subdivision, role=SubdivisionRole.Role.SDPO)
    page = client_for(user).get("/").content.decode()
    assert "/station/debra/" in page
    assert "/station/pingla/" in page
    assert "/station/tamluk/" in page
    assert "Officer-in-charge" in page


def test_home_hides_stations_the_user_has_no_role_in(debra, pingla, client_for):
    user = StationRoleFactory(station=debra).user
    page = client_for(user).get("/").content.decode()
    assert "/station/debra/" in page
    assert "/station/pingla/" not in page


def test_only_newcomers_and_branch_staff_are_offered_to_register_a_branch(debra, client_for):
    register = "Register a lender branch"
    assert register in client_for(UserFactory()).get("/").content.decode()
    duty = StationRoleFactory(station=debra).user
    assert register not in client_for(duty).get("/").content.decode()
    sdpo = SubdivisionRoleFactory(subdivision=debra.subdivision).user
    assert register not in client_for(sdpo).get("/").content.decode()


def test_an_escort_signing_in_lands_on_their_own_runs(debra, client_for):
    escort = StationRoleFactory(station=debra, role=StationRole.Role.ESCORT_OFFICER).user
    response = client_for(escort).get("/")
    assert response["Location"] == "/station/debra/escorts/my-day/"


def test_home_sends_anonymous_users_to_login(client):
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_station_listings_leave_out_the_public_and_template_schemas(debra):
    schemas = set(station_list_live().values_list("schema_name", flat=True))
    assert {"debra", "pingla", "tamluk"} <= schemas
    assert "public" not in schemas
    assert "station_template" not in schemas


def test_a_form_sent_after_the_session_ended_comes_back_to_its_page_after_signing_in(client, debra):
    # The action's own address answers POST alone: after signing in, a GET of it would be an
    # empty "method not allowed", so the sign-in leads back to the page the form was on.
    day = "/station/debra/escorts/my-day/"
    response = client.post(
        "/station/debra/escorts/my-day/run/1/acknowledge/", HTTP_REFERER=f"http://testserver{day}"
    )
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={day}"
    response = client.post("/chat/phone/code/", HTTP_REFERER="http://testserver/chat/phone/")
    assert response["Location"] == "/accounts/login/?next=/chat/phone/"
    # A page of another site is no way back.
    response = client.post("/chat/phone/code/", HTTP_REFERER="https://elsewhere.example/x/")
    assert response["Location"] == "/accounts/login/?next=/"


def test_a_page_asked_for_before_signing_in_is_the_way_back(client, debra):
    response = client.get("/chat/phone/")
    assert response["Location"] == "/accounts/login/?next=/chat/phone/"
