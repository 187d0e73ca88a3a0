"""Fixtures for the outbox: recipients, a local SMS/WhatsApp gateway, a private broker, and
committed rows for tests a worker process must see."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context
from pytest_httpserver import HTTPServer

from escort_portal.celery import app
from notifications.backends.phones import e164
from notifications.models import ChannelPreference, Message
from stations.models import ChatContact, Station, User
from stations.tests.factories import UserFactory

from .samples import DLT_IDS

PHONE = "+919876543210"


@pytest.fixture
def person(db) -> Callable[..., User]:
    """A user with an email address and a mobile number (override either)."""

    def make(**fields: object) -> User:
        fields.setdefault("phone", PHONE)
        return UserFactory(**fields)

    return make


def whatsapp_linked(user: User, *, consent: bool = True) -> ChatContact:
    """The user linked their phone from WhatsApp (which is their opt-in), as on the profile
    page; WhatsApp messages go to no one else."""
    phone = e164(user.phone)
    ChatContact.objects.filter(phone=phone).exclude(user=user).delete()
    contact, _ = ChatContact.objects.update_or_create(
        user=user,
        defaults={
            "phone": phone,
            "verified_at": timezone.now(),
            "verified_over": "whatsapp",
            "whatsapp_consent": consent,
        },
    )
    return contact


@pytest.fixture
def gateway(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    """SMS at /sms and WhatsApp at /wa/<phone number id>/messages, both on a local server."""
    with override_settings(
        SMS_GATEWAY_URL=httpserver.url_for("/sms"),
        WHATSAPP_API_URL=httpserver.url_for("/wa"),
        SMS_DLT_TEMPLATE_IDS=DLT_IDS,
    ):
        yield httpserver


def free_port_url(path: str) -> str:
    """A URL on a local port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


@pytest.fixture
def broker(private_redis, monkeypatch) -> Callable[[], str]:
    """Point this process's Celery app at a private redis-server; returns its start function
    (with .stop and .url), so the test can take the broker away and bring it back.

    Connections made from now on (`deliveries_queue` opens one each time) go there; the app's
    pooled producer may already point elsewhere, so a test sends other tasks over an explicit
    `app.connection_for_write(broker.url)`.
    """
    url = private_redis()
    monkeypatch.setitem(app.conf, "broker_url", url)
    return private_redis


def queued(url: str) -> int:
    """Tasks waiting in the test queue of the broker at `url`."""
    with app.connection_for_write(url) as conn:
        return conn.default_channel.client.llen(settings.CELERY_TASK_DEFAULT_QUEUE)


# --- For tests with a worker process: it sees only committed rows ---


class Committed:
    """Rows made with real commits (outside the test's transaction), removed at the end.

    `transactional_db` would flush the station rows the whole session shares, so these tests
    commit what they need themselves and delete exactly that afterwards.
    """

    def __init__(self) -> None:
        self.users: list[User] = []

    def station(self, slug: str = "debra") -> Station:
        return Station.objects.get(slug=slug)

    def user(self, **fields: object) -> User:
        fields.setdefault("phone", PHONE)
        user = UserFactory(**fields)
        self.users.append(user)
        return user

    def clean(self) -> None:
        connection.set_schema_to_public()
        pks = [user.pk for user in self.users]
        for station in Station.objects.live():
            with tenant_context(station):
                Message.objects.filter(recipient_id__in=pks).delete()
                ChannelPreference.objects.filter(user_id__in=pks).delete()
        # Delete from a station's schema: the user's rows in station tables are looked up there.
        with tenant_context(self.station()):
            User.objects.filter(pk__in=pks).delete()


@pytest.fixture
def committed(db) -> Iterator[Committed]:
    """Real commits for the duration of the test, on a connection of its own.

    The `db` fixture keeps the test database set up (pytest-django creates it only for tests
    that ask) and holds its usual transaction on the original connection, untouched; every
    query of the test goes through a second connection to the same test database instead,
    in autocommit, so a worker process sees the rows.
    """
    original = connections[DEFAULT_DB_ALIAS]
    own = connections.create_connection(DEFAULT_DB_ALIAS)
    # Never anything but the test database.
    assert own.settings_dict["NAME"] == original.settings_dict["NAME"]
    assert own.settings_dict["NAME"] == settings.DATABASES[DEFAULT_DB_ALIAS]["TEST"]["NAME"]
    connections[DEFAULT_DB_ALIAS] = own
    rows = Committed()
    try:
        yield rows
    finally:
        try:
            rows.clean()
        finally:
            own.close()
            connections[DEFAULT_DB_ALIAS] = original
