"""The webhooks' work done by a real Celery worker process, against the fake Graph API: a
burst with a duplicate, a stranger writing twice, an SMS and a status callback, each processed
once. The worker sees only committed rows, so the test commits its own and removes them."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import tenant_context

from chat.models import InboundMessage
from escort_portal.celery import app
from escort_portal.testing import start_worker, stop_worker, wait_for
from lenders.models import BranchMember, LenderBranch, Roster
from lenders.tests.factories import BranchFactory
from notifications.tests.samples import DLT_IDS
from stations.models import StationRole

from .conftest import CHAT_DLT_IDS, GRAPH_MESSAGES, Graph, Phone, link, post_signed, sms

MANAGER = "+919800200001"
STRANGER = "+919733000777"


@pytest.fixture
def clean_queue():
    with app.connection_for_write() as conn:
        conn.default_channel.client.delete(settings.CELERY_TASK_DEFAULT_QUEUE)


def _replies(graph: Graph) -> Counter:
    sent: Counter = Counter()
    for request, _response in graph.server.log:
        body = json.loads(request.get_data())
        sent[("sms" if request.path == "/sms" else "whatsapp", body["to"])] += 1
    return sent


def test_a_real_worker_answers_each_message_once(committed, httpserver, clean_queue):
    graph = Graph(httpserver)
    httpserver.expect_request(GRAPH_MESSAGES, method="POST").respond_with_handler(graph.answer)
    httpserver.expect_request("/sms", method="POST").respond_with_handler(graph.answer)
    debra = committed.station()
    manager = committed.user(phone=MANAGER, first_name="Mita")
    StationRole.objects.create(user=manager, station=debra, role=StationRole.Role.LENDER)
    link(manager, MANAGER)
    with tenant_context(debra):
        branch = BranchFactory(lender_name="Worker test", branch_name="Debra")
        BranchMember.objects.create(branch=branch, user=manager, role=BranchMember.Role.MANAGER)
    worker = start_worker(
        extra_env={
            "TEST_WHATSAPP_API_URL": httpserver.url_for("/wa"),
            "TEST_SMS_GATEWAY_URL": httpserver.url_for("/sms"),
            "TEST_SMS_DLT_TEMPLATE_IDS": ",".join(
                f"{k}={v}" for k, v in {**DLT_IDS, **CHAT_DLT_IDS}.items()
            ),
        }
    )
    try:
        client = Client()
        phone = Phone(client, MANAGER, "Mita")
        none = phone.body("text", text="NONE TOMORROW")
        stranger = Phone(client, STRANGER)
        burst = [none, none, stranger.body("text", text="hello"), stranger.body("text", text="SOS")]
        assert [post_signed(client, body).status_code for body in burst] == [200] * 4
        assert sms(client, MANAGER, "STATUS").status_code == 200
        assert wait_for(
            lambda: InboundMessage.objects.filter(status="done").count() == 4, seconds=90
        )
        assert wait_for(lambda: sum(_replies(graph).values()) == 3)
        with tenant_context(debra):
            assert Roster.objects.filter(branch=branch, no_collection=True).count() == 1
        # A read receipt for the manager's WhatsApp reply, through the worker too.
        answered = InboundMessage.objects.get(phone=MANAGER, channel="whatsapp")
        receipt = phone.body("status", status="read", reference=f"i:{answered.pk}")
        receipt = receipt.replace(phone.last_id.encode(), answered.reply_provider_id.encode())
        assert post_signed(client, receipt).status_code == 200
        assert wait_for(lambda: InboundMessage.objects.get(pk=answered.pk).reply_status == "read")
    finally:
        stop_worker(worker)
        with tenant_context(debra):
            Roster.objects.filter(branch=branch).delete()
            BranchMember.objects.filter(branch=branch).delete()
            LenderBranch.objects.filter(pk=branch.pk).delete()
        InboundMessage.objects.filter(phone__in=[MANAGER, STRANGER]).delete()
    assert _replies(graph) == Counter(
        {
            ("whatsapp", MANAGER.lstrip("+")): 1,
            ("whatsapp", STRANGER.lstrip("+")): 1,
            ("sms", MANAGER.lstrip("+")): 1,
        }
    )
