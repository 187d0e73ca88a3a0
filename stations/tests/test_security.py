from __future__ import annotations

import datetime
import os
import re
import subprocess
import sys

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from stations.models import StationRole
from stations.tests.factories import StationRoleFactory, UserFactory

pytestmark = pytest.mark.django_db


def _login(client, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_a_wrong_password_is_told_in_bengali_on_a_bengali_page(client, debra):
    user = UserFactory()
    client.cookies["django_language"] = "bn"
    page = _login(client, user.username, "wrong").content.decode()
    assert "ইউজারনেম বা পাসওয়ার্ড ঠিক নয়" in page
    assert "Please enter a correct" not in page


def test_the_password_length_rule_is_written_in_the_readers_digits():
    with translation.override("bn"):
        assert "১০টি" in password_validation.password_validators_help_text_html()
        with pytest.raises(ValidationError) as refused:
            password_validation.validate_password("a-Strong")
    assert "১০টি" in refused.value.messages[0]
    with translation.override("en"):
        assert "at least 10 characters" in password_validation.password_validators_help_text_html()


def test_repeated_wrong_passwords_lock_the_account_until_the_oc_unlocks_it(
    client, debra, client_for
):
    role = StationRoleFactory(station=debra, role=StationRole.Role.DUTY_OFFICER)
    username = role.user.username
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, username, "wrong")
    locked = _login(client, username, "pass-word-123")
    assert locked.status_code == 429
    assert "too many wrong passwords" in locked.content.decode()

    oc = client_for(StationRoleFactory(station=debra, role=StationRole.Role.OFFICER_IN_CHARGE).user)
    assert username in oc.get("/station/debra/people/lockouts/").content.decode()
    oc.post("/station/debra/people/lockouts/", {"username": username})
    assert _login(client, username, "pass-word-123").status_code == 302


def test_an_oc_cannot_unlock_someone_of_another_station(debra, pingla, client_for):
    outsider = StationRoleFactory(station=pingla).user
    oc = client_for(StationRoleFactory(station=debra, role=StationRole.Role.OFFICER_IN_CHARGE).user)
    response = oc.post(
        "/station/debra/people/lockouts/", {"username": outsider.username}, follow=True
    )
    assert "no role at your station" in response.content.decode()
    duty = client_for(StationRoleFactory(station=debra).user)
    assert duty.get("/station/debra/people/lockouts/").status_code == 404


def test_sign_in_is_rate_limited_per_address(client):
    cache.clear()
    UserFactory(username="someone")
    with override_settings(
        RATELIMIT_ENABLE=True, RATE_LIMITS={**settings.RATE_LIMITS, "login": "3/m"}
    ):
        codes = [_login(client, f"nobody{n}", "x").status_code for n in range(4)]
    assert codes[:3] == [200, 200, 200]
    assert codes[3] == 429


def test_the_admins_sign_in_is_rate_limited_per_address_too(client):
    cache.clear()
    with override_settings(
        RATELIMIT_ENABLE=True, RATE_LIMITS={**settings.RATE_LIMITS, "login": "3/m"}
    ):
        codes = [
            client.post("/admin/login/", {"username": f"nobody{n}", "password": "x"}).status_code
            for n in range(4)
        ]
    assert codes == [200, 200, 200, 429]


def test_pages_carry_a_strict_content_security_policy_and_no_inline_script(debra, client_for):
    client = client_for(
        StationRoleFactory(station=debra, role=StationRole.Role.OFFICER_IN_CHARGE).user
    )
    for url in ["/", "/accounts/login/", "/station/debra/", "/station/debra/audit/"]:
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        script_src = re.search(r"script-src ([^;]*)", policy).group(1)
        assert "'unsafe-inline'" not in script_src
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", response.content.decode()), url
        assert response["X-Frame-Options"] == "DENY"


def test_a_session_ends_after_the_idle_time(client_for):
    client = client_for(UserFactory())
    response = client.get("/")
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert int(cookie["max-age"]) == settings.SESSION_COOKIE_AGE


def test_a_session_is_renewed_once_an_interval_not_written_on_every_request(client_for):
    client = client_for(UserFactory())
    client.get("/")
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    first_expiry = Session.objects.get(session_key=key).expire_date
    with CaptureQueriesContext(connection) as quiet:
        response = client.get("/")
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert not any("django_session" in q["sql"] and "UPDATE" in q["sql"] for q in quiet)
    later = datetime.timedelta(seconds=settings.SESSION_RENEW_SECONDS + 1)
    with time_machine.travel(datetime.datetime.now(datetime.UTC) + later):
        response = client.get("/")
    assert int(response.cookies[settings.SESSION_COOKIE_NAME]["max-age"]) == (
        settings.SESSION_COOKIE_AGE
    )
    assert Session.objects.get(session_key=key).expire_date > first_expiry


def test_production_settings_pass_the_deploy_check():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "escort_portal.settings.production",
        "SECRET_KEY": "x" * 20 + "a-long-random-production-key-" + "y" * 30,
        "ALLOWED_HOSTS": "escort.example.org",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/escort_portal",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "path", ["/lenders/registrations/", "/lenders/areas/", "/lenders/incidents/"]
)
def test_a_nul_character_in_a_search_box_finds_nothing_instead_of_failing(debra, client_for, path):
    duty = client_for(StationRoleFactory(station=debra, role=StationRole.Role.DUTY_OFFICER).user)
    assert duty.get(f"/station/debra{path}", {"q": "a\x00b"}).status_code == 200


@pytest.mark.parametrize("path", ["/people/lockouts/", "/people/second-factor/"])
def test_a_nul_character_in_a_username_is_answered_as_nobody_of_the_station(
    debra, client_for, path
):
    oc = client_for(StationRoleFactory(station=debra, role=StationRole.Role.OFFICER_IN_CHARGE).user)
    response = oc.post(f"/station/debra{path}", {"username": "a\x00b"}, follow=True)
    assert response.status_code == 200
    assert "your station" in response.content.decode()


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_a_username_longer_than_any_account_is_a_wrong_sign_in_not_an_error(client, path):
    response = client.post(path, {"username": "x" * 300, "password": "wrong"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_a_form_refused_for_its_old_token_says_so_in_the_readers_language_on_a_phone_page(debra):
    # A page left open while the person signed in again elsewhere: its token is stale.
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    user = StationRoleFactory(station=debra, role=StationRole.Role.LENDER).user
    user.language = "bn"
    user.save(update_fields=["language"])
    client.force_login(user)
    client.cookies["django_language"] = "bn"
    client.get("/chat/phone/")
    response = client.post("/chat/phone/code/", {"csrfmiddlewaretoken": "x" * 64})
    page = response.content.decode()
    assert response.status_code == 403
    assert 'name="viewport"' in page
    assert "কিছুই করা হয়নি" in page
    assert "CSRF" not in page and "Forbidden" not in page
