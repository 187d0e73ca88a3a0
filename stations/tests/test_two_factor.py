from __future__ import annotations

import datetime
import io
import re

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import tenant_context

from lenders.tests.factories import BranchFactory, MemberFactory
from stations import services
from stations.models import EnrolmentCode, StationRole
from stations.tests.factories import StationRoleFactory, SubdivisionRoleFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"


def _password_only(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def _enrol(client: Client, code: str, password: str = PASSWORD, next_url: str = "/station/debra/"):
    return client.post(
        "/accounts/two-factor/", {"code": code, "password": password, "next": next_url}
    )


def test_a_duty_officer_sets_up_the_authenticator_then_reaches_the_station(debra, settings):
    settings.OTP_REQUIRED = True
    # The app slows down retries after a wrong code; this test retries at once.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    user = StationRoleFactory(station=debra, role=StationRole.Role.DUTY_OFFICER).user
    code = services.enrolment_code_issue(user=user, by=None)
    client = _password_only(user)
    response = client.get("/station/debra/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/two-factor/?next=")

    entered = _enrol(client, code)
    setup = client.get(entered["Location"])
    assert "data:image/svg+xml" in setup.content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    wrong = client.post("/accounts/two-factor/", {"token": "000000", "next": "/station/debra/"})
    assert "not right" in wrong.content.decode()
    done = client.post("/accounts/two-factor/", {"token": _code(device), "next": "/station/debra/"})
    shown = client.get(done["Location"]).content.decode()
    recovery = StaticToken.objects.filter(device__user=user).values_list("token", flat=True)
    assert len(recovery) == 10 and all(token in shown for token in recovery)
    written = client.post("/accounts/two-factor/", {"written": "1", "next": "/station/debra/"})
    assert written["Location"] == "/station/debra/"
    assert client.get("/station/debra/").status_code == 200
    device.refresh_from_db()
    assert device.confirmed


def test_a_password_alone_does_not_show_the_authenticator_secret(debra, settings):
    settings.OTP_REQUIRED = True
    user = StationRoleFactory(station=debra).user
    client = _password_only(user)
    page = client.get("/accounts/two-factor/?next=/station/debra/").content.decode()
    assert "data:image/svg+xml" not in page and "fs-6" not in page
    assert not TOTPDevice.objects.filter(user=user).exists()
    # Guessing does not get further either.
    refused = _enrol(client, "abcd-efgh-jkmn")
    assert "not right" in refused.content.decode()
    assert not TOTPDevice.objects.filter(user=user).exists()


def test_an_enrolment_code_is_kept_as_a_hash_and_works_once(debra, settings):
    settings.OTP_REQUIRED = True
    user = StationRoleFactory(station=debra).user
    code = services.enrolment_code_issue(user=user, by=None)
    stored = EnrolmentCode.objects.get(user=user).code_hash
    assert code.replace("-", "") not in stored
    # A wrong password does not use the code up.
    assert "not right" in _enrol(_password_only(user), code, password="wrong").content.decode()
    assert _enrol(_password_only(user), code).status_code == 302
    assert "not right" in _enrol(_password_only(user), code).content.decode()


def test_an_expired_enrolment_code_is_refused(debra, settings):
    settings.OTP_REQUIRED = True
    user = StationRoleFactory(station=debra).user
    code = services.enrolment_code_issue(user=user, by=None)
    EnrolmentCode.objects.filter(user=user).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert "expired" in _enrol(_password_only(user), code).content.decode()


def test_a_recovery_code_signs_in_once(debra, settings):
    settings.OTP_REQUIRED = True
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    user = StationRoleFactory(station=debra).user
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    recovery = services.recovery_codes_issue(user=user)[0]
    first = _password_only(user)
    signed = first.post("/accounts/two-factor/", {"token": recovery, "next": "/station/debra/"})
    assert signed["Location"] == "/station/debra/"
    assert first.get("/station/debra/").status_code == 200
    again = _password_only(user).post("/accounts/two-factor/", {"token": recovery})
    assert "not right" in again.content.decode()


def test_the_officer_in_charge_resets_a_lost_phone(debra, client_for, settings):
    settings.OTP_REQUIRED = True
    oc = StationRoleFactory(station=debra, role=StationRole.Role.OFFICER_IN_CHARGE).user
    officer = StationRoleFactory(station=debra).user
    officer_client = client_for(officer)
    services.recovery_codes_issue(user=officer)
    assert officer_client.get("/station/debra/").status_code == 200

    page = client_for(oc).post(
        "/station/debra/people/second-factor/",
        {"username": officer.username, "confirmed": "yes"},
    )
    code = re.search(r'id="enrolment-code">([a-z0-9-]+)<', page.content.decode()).group(1)
    assert not TOTPDevice.objects.filter(user=officer).exists()
    assert not StaticDevice.objects.filter(user=officer).exists()
    # The phone that was lost, still signed in, is signed out.
    assert officer_client.get("/station/debra/").status_code == 302
    assert _enrol(_password_only(officer), code).status_code == 302


def test_resetting_a_lost_phone_asks_first_and_a_stray_tap_changes_nothing(
    debra, client_for, settings
):
    """A reset signs the officer out everywhere and stops their app: one tap on a phone's list
    of officers must not do it; a first code for an officer without the app needs no asking."""
    settings.OTP_REQUIRED = True
    oc = client_for(StationRoleFactory(station=debra, role=StationRole.Role.OFFICER_IN_CHARGE).user)
    officer = StationRoleFactory(station=debra).user
    officer_client = client_for(officer)

    page = oc.post("/station/debra/people/second-factor/", {"username": officer.username})
    text = page.content.decode()
    assert page.status_code == 200
    assert "enrolment-code" not in text and f'value="{officer.username}"' in text
    assert 'name="confirmed" value="yes"' in text
    assert TOTPDevice.objects.filter(user=officer, confirmed=True).exists()
    assert not EnrolmentCode.objects.exists()
    assert officer_client.get("/station/debra/").status_code == 200

    newcomer = StationRoleFactory(station=debra).user
    page = oc.post("/station/debra/people/second-factor/", {"username": newcomer.username})
    assert 'id="enrolment-code"' in page.content.decode()


def test_an_officer_in_charge_gets_codes_only_for_their_own_officers(
    debra, pingla, client_for, settings
):
    oc = StationRoleFactory(station=debra, role=StationRole.Role.OFFICER_IN_CHARGE).user
    other_oc = StationRoleFactory(station=debra, role=StationRole.Role.OFFICER_IN_CHARGE).user
    elsewhere = StationRoleFactory(station=pingla).user
    lender = StationRoleFactory(station=debra, role=StationRole.Role.LENDER).user
    client = client_for(oc)
    for user in (other_oc, elsewhere, lender):
        client.post("/station/debra/people/second-factor/", {"username": user.username})
    assert not EnrolmentCode.objects.exists()
    duty = client_for(StationRoleFactory(station=debra).user)
    assert duty.get("/station/debra/people/second-factor/").status_code == 404


def test_an_officer_in_charge_cannot_reset_a_second_factor_that_guards_more_than_their_station(
    debra, pingla, client_for
):
    oc = StationRoleFactory(station=debra, role=StationRole.Role.OFFICER_IN_CHARGE).user
    pingla_oc = StationRoleFactory(station=pingla, role=StationRole.Role.OFFICER_IN_CHARGE).user
    StationRoleFactory(station=debra, user=pingla_oc)
    sdpo = SubdivisionRoleFactory(subdivision=debra.subdivision).user
    StationRoleFactory(station=debra, user=sdpo)
    admin = UserFactory(is_staff=True, is_superuser=True)
    StationRoleFactory(station=debra, user=admin)
    client = client_for(oc)
    for user in (pingla_oc, sdpo, admin):
        answer = client.post(
            "/station/debra/people/second-factor/", {"username": user.username}, follow=True
        )
        assert "officers of your station" in answer.content.decode()
    assert not EnrolmentCode.objects.exists()


def test_the_management_command_gives_the_first_admin_an_enrolment_code(db, settings):
    settings.OTP_REQUIRED = True
    admin = UserFactory(is_staff=True, is_superuser=True)
    out = io.StringIO()
    call_command("enrolment_code", admin.username, stdout=out)
    client = _password_only(admin)
    assert _enrol(client, out.getvalue().strip(), next_url="/admin/").status_code == 302
    assert "data:image/svg+xml" in client.get("/accounts/two-factor/").content.decode()


def test_the_admin_needs_the_second_factor(db, client_for, settings):
    settings.OTP_REQUIRED = True
    admin = UserFactory(is_staff=True, is_superuser=True)
    refused = _password_only(admin).get("/admin/stations/station/")
    assert refused.status_code == 302 and refused["Location"].startswith("/admin/login/")
    assert client_for(admin).get("/admin/stations/station/").status_code == 200


def test_the_admin_sign_in_asks_for_the_code(db, settings):
    settings.OTP_REQUIRED = True
    admin = UserFactory(is_staff=True, is_superuser=True)
    device = TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    client = Client()
    form = {"username": admin.username, "password": PASSWORD, "next": "/admin/"}
    without = client.post("/admin/login/", form)
    assert without.status_code == 200
    assert client.get("/admin/").status_code == 302
    # django-otp's admin form: after the password it offers the user's devices to choose from.
    assert device.persistent_id in without.content.decode()
    with_code = client.post(
        "/admin/login/",
        {**form, "otp_device": device.persistent_id, "otp_token": _code(device)},
    )
    assert with_code["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_schema_and_the_password_change_need_the_second_factor(debra, client_for, settings):
    settings.OTP_REQUIRED = True
    user = StationRoleFactory(station=debra).user
    password_only = _password_only(user)
    assert password_only.get("/station/debra/api/schema/").status_code == 404
    changed = password_only.get("/accounts/password_change/")
    assert changed.status_code == 302 and changed["Location"].startswith("/accounts/two-factor/")
    verified = client_for(user)
    assert verified.get("/station/debra/api/schema/").status_code == 200
    assert verified.get("/accounts/password_change/").status_code == 200


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


def test_a_police_password_alone_neither_registers_a_branch_nor_enters_one_elsewhere(
    debra, pingla, settings
):
    settings.OTP_REQUIRED = True
    officer = StationRoleFactory(station=debra, role=StationRole.Role.DUTY_OFFICER).user
    password_only = _password_only(officer)
    register = password_only.get("/lenders/register/")
    assert register.status_code == 302
    assert register["Location"].startswith("/accounts/two-factor/")

    # An officer who is also a branch's manager at another station (registered there before).
    with tenant_context(pingla):
        member = MemberFactory(branch=BranchFactory(), user=officer)
    response = password_only.get(f"/station/pingla/lenders/branch/{member.branch.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/two-factor/")
