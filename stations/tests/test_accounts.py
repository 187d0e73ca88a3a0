from __future__ import annotations

import pytest
from django.core import mail

from stations.tests.factories import StationRoleFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_user_signs_in_with_username_and_password(client):
    UserFactory(username="debra-duty")
    response = client.post(
        "/accounts/login/", {"username": "debra-duty", "password": "pass-word-123"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_the_back_button_to_the_sign_in_page_of_a_signed_in_person_leads_on_to_their_page(
    debra, client_for
):
    # Signed in from the sign-in page, the phone's back button asks for that page again: it
    # must not look as if the person were signed out (signing in again would make every
    # other open page's form token stale).
    client = client_for(StationRoleFactory(station=debra).user)
    trips = "/station/debra/lenders/my-trips/"
    response = client.get(f"/accounts/login/?next={trips}")
    assert response.status_code == 302 and response["Location"] == trips
    assert client.get("/accounts/login/")["Location"] == "/"
    assert client.get("/accounts/login/?next=/accounts/login/%3Fx%3D1")["Location"] == "/"


def test_a_wrong_password_keeps_the_username_and_says_why(client):
    UserFactory(username="debra-duty")
    response = client.post("/accounts/login/", {"username": "debra-duty", "password": "nope"})
    page = response.content.decode()
    assert response.status_code == 200
    assert 'value="debra-duty"' in page
    assert "correct username and password" in page


def test_the_language_switch_is_remembered_on_the_account(debra, client_for):
    user = StationRoleFactory(station=debra).user
    client = client_for(user)
    response = client.post("/i18n/setlang/", {"language": "bn", "next": "/station/debra/"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "bn"
    # Another device, no cookie: the account's language still applies.
    page = client_for(user).get("/").content.decode()
    assert "আমার থানা" in page


def test_pages_switch_to_bengali_for_anonymous_visitors(client):
    client.post("/i18n/setlang/", {"language": "bn", "next": "/accounts/login/"})
    page = client.get("/accounts/login/").content.decode()
    assert 'lang="bn"' in page
    assert "সাইন ইন" in page


def test_password_reset_mails_a_link_to_a_known_address(client):
    UserFactory(username="oc", email="oc@example.org")
    response = client.post("/accounts/password_reset/", {"email": "oc@example.org"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/accounts/reset/" in mail.outbox[0].body


def test_password_reset_answers_the_same_for_an_unknown_address(client):
    known = client.post("/accounts/password_reset/", {"email": "nobody@example.org"})
    assert known.status_code == 302
    assert known["Location"] == "/accounts/password_reset/done/"
    assert mail.outbox == []


def test_password_change_needs_the_old_password(client_for):
    user = UserFactory()
    response = client_for(user).post(
        "/accounts/password_change/",
        {
            "old_password": "wrong",
            "new_password1": "a-New-pass-99",
            "new_password2": "a-New-pass-99",
        },
    )
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password("pass-word-123")


def test_error_pages_use_the_layout_and_show_no_internals(client_for):
    response = client_for(UserFactory()).get("/no/such/page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in page
    assert "Traceback" not in page
    assert "urlpatterns" not in page
