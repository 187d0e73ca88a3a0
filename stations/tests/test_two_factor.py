from __future__ import annotations

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from lenders.tests.factories import BranchFactory, MemberFactory
from stations.models import StationRole
from stations.tests.factories import StationRoleFactory, SubdivisionRoleFactory

pytestmark = pytest.mark.django_db


def _password_only(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def test_a_duty_officer_sets_up_the_authenticator_then_reaches_the_station(debra, settings):
    settings.OTP_REQUIRED = True
    # The app slows down retries after a wrong code; this test retries at once.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    user = StationRoleFactory(station=debra, role=StationRole.Role.DUTY_OFFICER).user
    client = _password_only(user)
    response = client.get("/station/debra/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/two-factor/?next=")

    setup = client.get(response["Location"])
    assert "data:image/svg+xml" in setup.content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    wrong = client.post("/accounts/two-factor/", {"token": "000000", "next": "/station/debra/"})
    assert "not right" in wrong.content.decode()
    done = client.post("/accounts/two-factor/", {"token": _code(device), "next": "/station/debra/"})
    assert done["Location"] == "/station/debra/"
    assert client.get("/station/debra/").status_code == 200
    device.refresh_from_db()
    assert device.confirmed


def test_the_sdpo_needs_the_second_factor_for_the_dashboard(debra, settings):
    settings.OTP_REQUIRED = True
    sdpo = SubdivisionRoleFactory(subdivision=debra.subdivision).user
    response = _password_only(sdpo).get("/sdpo/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/two-factor/")


def test_lenders_go_in_with_their_password_alone(in_debra, settings):
    settings.OTP_REQUIRED = True
    member = MemberFactory(branch=BranchFactory())
    response = _password_only(member.user).get(f"/station/debra/lenders/branch/{member.branch.pk}/")
    assert response.status_code == 200


def test_the_second_factor_page_never_sends_people_off_the_site(debra, client_for):
    user = StationRoleFactory(station=debra).user
    client = client_for(user)
    device = TOTPDevice.objects.get(user=user)
    response = client.post(
        "/accounts/two-factor/", {"token": _code(device), "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"
