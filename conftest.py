"""Test stations are made once per test database and reused; each test runs in a transaction."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import translation
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import tenant_context

from escort_portal.celery import app
from escort_portal.testing import PrivatePostgres, start_worker, stop_worker
from stations import services
from stations.models import Station, StationDayRecount, Subdivision

TEST_STATIONS = {
    # slug: (name, subdivision)
    "debra": ("Debra", "Kharagpur"),
    "pingla": ("Pingla", "Kharagpur"),
    "tamluk": ("Tamluk", "Tamluk"),
}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker) -> None:
    with django_db_blocker.unblock():
        for slug, (name, subdivision_name) in TEST_STATIONS.items():
            if Station.objects.filter(slug=slug).exists():
                continue
            subdivision, _ = Subdivision.objects.get_or_create(
                name=subdivision_name, defaults={"district": "Paschim Medinipur"}
            )
            services.station_create(
                slug=slug, name=name, subdivision=subdivision, latitude=22.3, longitude=87.5
            )


@pytest.fixture
def no_marks(db) -> None:
    """No dashboard recount marks: tests with a real worker commit theirs for the real day, and
    a reused test database or a later test would see them. The deletion is rolled back with the
    test."""
    StationDayRecount.objects.all().delete()


@pytest.fixture(autouse=True)
def _back_to_public() -> Iterator[None]:
    # A request routed to a station leaves the connection in its schema, and a signed-in user's
    # request leaves their language active in the thread (each real request chooses its own);
    # start every test in public and in English, as a request would.
    yield
    connection.set_schema_to_public()
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def debra(db) -> Station:
    return Station.objects.get(slug="debra")


@pytest.fixture
def pingla(db) -> Station:
    return Station.objects.get(slug="pingla")


@pytest.fixture
def tamluk(db) -> Station:
    return Station.objects.get(slug="tamluk")


@pytest.fixture
def in_debra(debra) -> Iterator[Station]:
    with tenant_context(debra):
        yield debra


@pytest.fixture
def in_pingla(pingla) -> Iterator[Station]:
    with tenant_context(pingla):
        yield pingla


@pytest.fixture
def client_for(db) -> Callable:
    """A client signed in as `user`, with the second factor done, as after a real sign-in."""

    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, confirmed=True, defaults={"name": "test"}
        )
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        return client

    return make


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[Callable]:
    """A redis-server of the test's own, which the test may stop and start again."""
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    processes: list[subprocess.Popen] = []

    def start() -> str:
        process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(tmp_path),
            ],
            stdout=subprocess.DEVNULL,
        )
        processes.append(process)
        for _ in range(100):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return url
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop() -> None:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
        processes.clear()

    start.url = url  # type: ignore[attr-defined]
    start.stop = stop  # type: ignore[attr-defined]
    yield start
    stop()


@pytest.fixture
def celery_worker(db) -> Iterator[subprocess.Popen]:
    """A real Celery worker on the test queue and database, the queue emptied first."""
    channel = app.connection_for_write().default_channel
    # Each queue is a list in Redis per priority (CELERY_BROKER_TRANSPORT_OPTIONS).
    channel.client.delete(
        *(
            channel._q_for_pri(queue, priority)
            for queue in settings.CELERY_TASK_QUEUES
            for priority in channel.priority_steps
        )
    )
    process = start_worker()
    yield process
    stop_worker(process)


@pytest.fixture(scope="session")
def _test_database_cluster(django_db_setup) -> Iterator[PrivatePostgres]:
    """A stopped cluster holding a copy of the test database (its schemas and stations, as the
    session made them): each test's own cluster starts from a copy of its files."""
    server = PrivatePostgres(free_port())
    try:
        server.start()
        server.copy_database(connection.settings_dict)
        server.shut_down()
        yield server
    finally:
        server.stop()


@pytest.fixture
def private_postgres(_test_database_cluster) -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of the test's own, loaded with a copy of the test database; stopped
    and removed afterwards whatever happens."""
    server = PrivatePostgres(free_port())
    try:
        server.start(data_from=_test_database_cluster.data)
        yield server
    finally:
        server.stop()
