"""Once, whatever happens: a job that dies half-way leaves nothing done and its redelivery
does it all; a reply the Graph API could not take goes out later, once."""

from __future__ import annotations

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from chat import conversation
from chat.models import InboundMessage
from chat.payloads import Incoming
from chat.tasks import inbound_handle
from escorts.models import EscortRun
from notifications.backends import TransientDeliveryError

from .conftest import GRAPH_MESSAGES, Morning

pytestmark = pytest.mark.django_db


def _ack(morning: Morning) -> Incoming:
    return Incoming(
        channel="whatsapp",
        provider_id="wamid.once.1",
        phone=Morning.LEADER,
        kind="text",
        text=f"ACK R{morning.run.pk}",
        sent_at=timezone.now(),
    )


def test_a_job_that_dies_half_way_leaves_nothing_and_its_redelivery_does_it_once(
    morning, graph, monkeypatch
):
    message = _ack(morning)

    def dies(turn):
        conversation.run_action(turn)  # the run is acknowledged ...
        raise RuntimeError("worker lost")  # ... and the worker dies before the reply

    monkeypatch.setitem(conversation.ACTIONS, "ack", dies)
    with pytest.raises(RuntimeError):
        conversation.inbound_process(message=message, received_at=timezone.now())
    assert not InboundMessage.objects.exists()
    with tenant_context(morning.station):
        assert EscortRun.objects.get(pk=morning.run.pk).status == EscortRun.Status.PLANNED

    monkeypatch.undo()
    inbound_handle.apply(args=(message.as_data(), timezone.now().isoformat()))
    inbound_handle.apply(args=(message.as_data(), timezone.now().isoformat()))
    assert InboundMessage.objects.get().status == InboundMessage.Status.DONE
    with tenant_context(morning.station):
        assert EscortRun.objects.get(pk=morning.run.pk).status == EscortRun.Status.ACKNOWLEDGED
    assert len(graph.whatsapp(Morning.LEADER)) == 1


def test_a_reply_the_graph_api_could_not_take_goes_out_later_once(morning, httpserver):
    httpserver.clear_all_handlers()
    httpserver.expect_oneshot_request(GRAPH_MESSAGES).respond_with_json(
        {"error": {"code": 131000, "message": "Something went wrong"}}, status=500
    )
    message = _ack(morning)
    with pytest.raises(TransientDeliveryError):
        conversation.inbound_process(message=message, received_at=timezone.now())
    inbound = InboundMessage.objects.get()
    assert (inbound.status, inbound.reply_status) == ("done", "pending")
    assert "HTTP 500" in inbound.reply_error

    httpserver.expect_request(GRAPH_MESSAGES).respond_with_json({"messages": [{"id": "wamid.r"}]})
    # The job delivered again (its worker died before the retry was queued): the message is
    # not answered twice, and its waiting reply goes out.
    inbound_handle.apply(args=(message.as_data(), timezone.now().isoformat()))
    inbound_handle.apply(args=(message.as_data(), timezone.now().isoformat()))
    inbound.refresh_from_db()
    assert (inbound.reply_status, inbound.reply_provider_id) == ("sent", "wamid.r")
    with tenant_context(morning.station):
        assert EscortRun.objects.get(pk=morning.run.pk).status == EscortRun.Status.ACKNOWLEDGED
    replies = [r for r, _ in httpserver.log if r.path == GRAPH_MESSAGES]
    assert len(replies) == 2  # the refused attempt and the one that went
