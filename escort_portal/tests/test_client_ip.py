from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory

from escort_portal.client_ip import client_ip
from stations.tests.factories import UserFactory

PROXY = "10.0.0.5"


def _request(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_the_forwarded_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(_request("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_behind_a_trusted_proxy_the_client_is_the_first_untrusted_hop(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    # A client may put anything on the left; only what the proxy appended is believed.
    spoofed = "1.2.3.4, 198.51.100.7, 10.0.0.9"
    assert client_ip(_request(PROXY, spoofed)) == "198.51.100.7"
    assert client_ip(_request(PROXY)) == PROXY
    assert client_ip(_request(PROXY, "not-an-address")) == PROXY


def _sign_in(client: Client, username: str, password: str, forwarded: str):
    return client.post(
        "/accounts/login/",
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


@pytest.mark.django_db
def test_a_lockout_behind_the_proxy_does_not_lock_out_everyone_else(settings):
    settings.TRUSTED_PROXIES = [PROXY]
    cache.clear()
    user = UserFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(Client(), user.username, "wrong", forwarded="198.51.100.66")
    locked = _sign_in(Client(), user.username, "pass-word-123", forwarded="198.51.100.66")
    assert locked.status_code == 429
    elsewhere = _sign_in(Client(), user.username, "pass-word-123", forwarded="198.51.100.7")
    assert elsewhere.status_code == 302


@pytest.mark.django_db
def test_the_sign_in_limit_counts_each_client_behind_the_proxy(settings):
    settings.TRUSTED_PROXIES = [PROXY]
    settings.RATELIMIT_ENABLE = True
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login": "3/m"}
    cache.clear()
    for number in range(3):
        _sign_in(Client(), f"nobody{number}", "wrong", forwarded="198.51.100.66")
    assert _sign_in(Client(), "nobody", "wrong", forwarded="198.51.100.66").status_code == 429
    assert _sign_in(Client(), "nobody", "wrong", forwarded="198.51.100.7").status_code == 200


def _reset(email: str, remote: str = "198.51.100.66"):
    return Client().post("/accounts/password_reset/", {"email": email}, REMOTE_ADDR=remote)


@pytest.mark.django_db
def test_password_reset_is_limited_per_mailbox(settings, mailoutbox):
    settings.RATELIMIT_ENABLE = True
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "password_reset": "2/h"}
    cache.clear()
    user = UserFactory()
    for number in range(4):
        _reset(user.email, remote=f"198.51.100.{number + 1}")
    assert len(mailoutbox) == 2
    assert _reset(user.email, remote="198.51.100.99").status_code == 429


@pytest.mark.django_db
def test_password_reset_is_limited_per_client(settings):
    settings.RATELIMIT_ENABLE = True
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "password_reset": "2/h"}
    cache.clear()
    for number in range(2):
        _reset(f"someone{number}@example.org")
    assert _reset("another@example.org").status_code == 429
    assert _reset("another@example.org", remote="198.51.100.7").status_code == 302
