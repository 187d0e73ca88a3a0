"""The outbox through real Celery worker processes, Redis and the local gateway.

A worker is another process with its own database connection: it sees only committed rows, so
these tests commit what they make (the `committed` fixture) and remove it afterwards.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from django.conf import settings
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from escort_portal.celery import app
from escort_portal.testing import start_worker, stop_worker, wait_for
from notifications import services
from notifications.dispatch import deliveries_queue
from notifications.models import Channel, ChannelPreference, Message
from notifications.tasks import message_sweep_all_stations
from stations.models import WorkerHeartbeat

from .conftest import whatsapp_linked
from .samples import DLT_IDS, SAMPLES

Status = Message.Status


def _gateway_env(httpserver) -> dict[str, str]:
    return {
        "TEST_SMS_GATEWAY_URL": httpserver.url_for("/sms"),
        "TEST_WHATSAPP_API_URL": httpserver.url_for("/wa"),
        "TEST_SMS_DLT_TEMPLATE_IDS": ",".join(f"{k}={v}" for k, v in DLT_IDS.items()),
    }


def _answer(httpserver) -> None:
    httpserver.expect_request("/sms", method="POST").respond_with_json({"id": "sms"})
    httpserver.expect_request("/wa/100000000000001/messages", method="POST").respond_with_json(
        {"messages": [{"id": "wamid"}]}
    )


def _references(httpserver) -> Counter:
    """How often the gateway received each message (SMS by reference, WhatsApp by number)."""
    seen: Counter = Counter()
    for request, _response in httpserver.log:
        body = json.loads(request.get_data())
        seen[body.get("reference") or f"wa:{body['to']}:{body['template']['name']}"] += 1
    return seen


def _outgoing(station) -> dict[str, int]:
    with tenant_context(station):
        return dict(
            Counter(
                Message.objects.exclude(channel=Channel.IN_APP).values_list("status", flat=True)
            )
        )


def _queue_sos(station, users) -> list[Message]:
    with tenant_context(station), transaction.atomic():
        for user in users:
            ChannelPreference.objects.update_or_create(user=user, defaults={"whatsapp": True})
            whatsapp_linked(user)
        return services.message_queue(
            event="sos:worker", kind="sos", recipients=users, context=SAMPLES["sos"]
        )


@pytest.fixture
def clean_queue():
    with app.connection_for_write() as conn:
        conn.default_channel.client.delete(settings.CELERY_TASK_DEFAULT_QUEUE)


def test_two_workers_deliver_every_message_once_despite_duplicate_tasks(
    committed, httpserver, clean_queue
):
    _answer(httpserver)
    debra = committed.station()
    people = [committed.user(phone=f"+9198765432{n:02d}") for n in range(6)]
    workers = [start_worker(extra_env=_gateway_env(httpserver), name=f"w{n}") for n in range(2)]
    try:
        with override_settings(
            SMS_GATEWAY_URL=httpserver.url_for("/sms"),
            WHATSAPP_API_URL=httpserver.url_for("/wa"),
        ):
            messages = _queue_sos(debra, people)
        outgoing = [message.pk for message in messages if message.channel != Channel.IN_APP]
        assert len(outgoing) == 18  # email, SMS and WhatsApp for each of six
        # Two more copies of every task, as a redelivery or an eager sweeper would make.
        deliveries_queue(outgoing, schema_name="debra")
        deliveries_queue(outgoing, schema_name="debra")
        assert wait_for(lambda: _outgoing(debra) == {Status.SENT: 18})
        assert wait_for(lambda: _queue_length() == 0)
    finally:
        for worker in workers:
            stop_worker(worker)
    assert all(worker.returncode is not None for worker in workers)
    seen = _references(httpserver)
    assert len(seen) == 12
    assert set(seen.values()) == {1}
    with tenant_context(debra):
        assert set(Message.objects.filter(pk__in=outgoing).values_list("attempts", flat=True)) == {
            1
        }


def _queue_length() -> int:
    with app.connection_for_write() as conn:
        return conn.default_channel.client.llen(settings.CELERY_TASK_DEFAULT_QUEUE)


def test_with_redis_stopped_events_commit_and_are_delivered_when_it_returns(
    committed, httpserver, broker
):
    _answer(httpserver)
    debra = committed.station()
    people = [committed.user(phone=f"+9198765433{n:02d}") for n in range(3)]
    started = timezone.now()
    worker = start_worker(
        broker_url=broker.url,
        extra_env={**_gateway_env(httpserver), "TEST_NOTIFICATIONS_SWEEP_GRACE_SECONDS": "0"},
    )
    try:
        # A worker that is up and has run its first jobs, then loses Redis.
        assert wait_for(lambda: WorkerHeartbeat.objects.filter(seen_at__gte=started).exists())
        broker.stop()
        with override_settings(
            SMS_GATEWAY_URL=httpserver.url_for("/sms"),
            WHATSAPP_API_URL=httpserver.url_for("/wa"),
            # As the worker's: the station's sweep is due as soon as the messages commit.
            NOTIFICATIONS_SWEEP_GRACE_SECONDS=0,
        ):
            messages = _queue_sos(debra, people)
        # The event and its messages committed although the broker was down.
        assert len(messages) == 12
        assert _outgoing(debra) == {Status.PENDING: 9}
        assert httpserver.log == []

        broker()  # Redis is back, empty: the on-commit tasks never reached it.
        # The beat's next tick: the sweeper finds the pending rows in every station.
        with app.connection_for_write(broker.url) as conn:
            message_sweep_all_stations.apply_async(connection=conn)
        assert wait_for(lambda: _outgoing(debra) == {Status.SENT: 9}, seconds=90)
    finally:
        stop_worker(worker)
    seen = _references(httpserver)
    assert len(seen) == 6 and set(seen.values()) == {1}
