from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tenants.utils import schema_exists

from stations.models import Domain, Station, StationRole, Subdivision, SubdivisionRole, User

pytestmark = pytest.mark.django_db


def _snapshot() -> dict:
    return {
        "subdivisions": sorted(Subdivision.objects.values_list("pk", "name")),
        "stations": sorted(Station.objects.values_list("pk", "slug", "schema_name")),
        "domains": sorted(Domain.objects.values_list("pk", "domain")),
        "users": sorted(User.objects.values_list("pk", "username", "password")),
        "station_roles": sorted(StationRole.objects.values_list("pk", "user_id", "role")),
        "subdivision_roles": sorted(SubdivisionRole.objects.values_list("pk", "user_id", "role")),
    }


def test_seed_demo_loads_the_five_stations_and_their_logins():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    slugs = set(Station.objects.live().values_list("slug", flat=True))
    assert {"kharagpur-town", "kharagpur-rural", "narayangarh", "debra", "pingla"} <= slugs
    assert Station.objects.get(slug="narayangarh").name_bn == "নারায়ণগড়"
    for slug in ["kharagpur-town", "kharagpur-rural", "narayangarh", "debra", "pingla"]:
        assert schema_exists(slug.replace("-", "_"))
        assert User.objects.get(username=f"{slug}-oc").check_password("escort-demo")
        assert StationRole.objects.get(user__username=f"{slug}-duty").role == "duty"
    assert SubdivisionRole.objects.get(user__username="sdpo").subdivision.name == "Kharagpur"
    assert "escort-demo" in out.getvalue()


def test_seed_demo_run_twice_changes_nothing():
    call_command("seed_demo", stdout=StringIO())
    before = _snapshot()
    call_command("seed_demo", stdout=StringIO())
    assert _snapshot() == before


def test_create_station_makes_a_ready_station_in_one_command(client_for):
    out = StringIO()
    call_command(
        "create_station",
        "keshiary",
        "--name",
        "Keshiary",
        "--name-bn",
        "কেশিয়াড়ি",
        "--subdivision",
        "Kharagpur",
        "--cutoff",
        "08:00",
        stdout=out,
    )
    station = Station.objects.get(slug="keshiary")
    assert schema_exists("keshiary")
    assert station.roster_cutoff.hour == 8
    assert "/station/keshiary/" in out.getvalue()
    user = User.objects.create(username="keshiary-oc")
    StationRole.objects.create(user=user, station=station, role="oc")
    assert client_for(user).get("/station/keshiary/").status_code == 200


def test_create_station_refuses_a_slug_in_use():
    with pytest.raises(CommandError):
        call_command(
            "create_station",
            "debra",
            "--name",
            "Debra",
            "--subdivision",
            "Kharagpur",
            stdout=StringIO(),
        )
