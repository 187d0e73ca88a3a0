"""The WhatsApp webhook and the SMS gateway's: only the provider gets in, it gets its 200 at
once, each message is processed once, strangers get one polite reply, and WhatsApp's status
callbacks reach the outbox row they are about."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import override_settings
from django_tenants.utils import tenant_context

from chat.models import InboundMessage
from escorts.models import EscortRun
from incidents.models import SosAlert
from notifications import services as notification_services
from notifications.models import Message
from stations.routing import station_reverse

from .conftest import (
    SMS_INBOUND,
    WEBHOOK,
    Morning,
    Phone,
    payload,
    post_signed,
    signature,
    sms,
    text_of,
)

pytestmark = pytest.mark.django_db

STRANGER = "+919733000099"


def test_the_handshake_echoes_the_challenge_only_for_the_verify_token(client):
    ok = client.get(
        WEBHOOK,
        {
            "hub.mode": "subscribe",
            "hub.verify_token": "test-verify-token",
            "hub.challenge": "1158201444",
        },
    )
    assert (ok.status_code, ok.content, ok["Content-Type"]) == (200, b"1158201444", "text/plain")
    wrong = client.get(
        WEBHOOK, {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"}
    )
    assert wrong.status_code == 403


def test_a_post_without_the_app_secrets_signature_is_refused_and_does_nothing(
    morning, client, graph
):
    leader = Phone(client, Morning.LEADER)
    body = leader.body("text", text=f"ACK R{morning.run.pk}")
    assert post_signed(client, body, secret="not-the-app-secret").status_code == 403
    unsigned = client.post(WEBHOOK, body, content_type="application/json")
    assert unsigned.status_code == 403
    # Signed, then changed on the way.
    tampered = client.post(
        WEBHOOK,
        body.replace(b"ACK", b"DONE"),
        content_type="application/json",
        headers={"X-Hub-Signature-256": signature(body)},
    )
    assert tampered.status_code == 403
    assert not InboundMessage.objects.exists()
    assert graph.whatsapp() == []
    with tenant_context(morning.station):
        assert EscortRun.objects.get(pk=morning.run.pk).status == EscortRun.Status.PLANNED


def test_a_signature_with_non_ascii_characters_is_refused(client):
    body = payload("text", wa_id="919733000099", name="x", id="wamid.1", timestamp="1", text="hi")
    response = client.post(
        WEBHOOK, body, content_type="application/json", headers={"X-Hub-Signature-256": "sha256=é"}
    )
    assert response.status_code == 403
    assert not InboundMessage.objects.exists()


def test_json_nested_too_deeply_is_answered_400_by_both_webhooks(client):
    nested = b"[" * 100_000 + b"]" * 100_000
    assert post_signed(client, nested).status_code == 400
    response = client.post(
        SMS_INBOUND,
        nested,
        content_type="application/json",
        headers={"X-Inbound-Secret": settings.SMS_INBOUND_SECRET},
    )
    assert response.status_code == 400


@override_settings(WHATSAPP_APP_SECRET="")
def test_without_an_app_secret_the_webhook_refuses_everything(client):
    body = payload("text", wa_id="919733000099", name="x", id="wamid.1", timestamp="1", text="hi")
    assert post_signed(client, body, secret="").status_code == 403


def test_a_duplicate_delivery_is_processed_once(morning, client, graph):
    agent = Phone(client, Morning.AGENT)
    body = agent.body("text", text="SOS")
    first, again = post_signed(client, body), post_signed(client, body)
    assert (first.status_code, again.status_code) == (200, 200)
    assert InboundMessage.objects.filter(provider_id=agent.last_id).count() == 1
    assert len(graph.whatsapp(Morning.AGENT)) == 1
    with tenant_context(morning.station):
        assert SosAlert.objects.count() == 1


def test_an_unknown_number_gets_one_polite_reply_and_nothing_else(morning, client, graph):
    stranger = Phone(client, STRANGER)
    for text in ("SOS", "STATUS", f"DONE R{morning.run.pk}"):
        assert stranger.text(text).status_code == 200
    (reply,) = graph.whatsapp(STRANGER)
    assert "not linked to anyone" in text_of(reply)
    assert "এই নম্বরটি পোর্টালে কারও সঙ্গে যুক্ত নয়" in text_of(reply)
    assert reply["biz_opaque_callback_data"].startswith("i:")
    with tenant_context(morning.station):
        assert not SosAlert.objects.exists()
        assert EscortRun.objects.get(pk=morning.run.pk).status == EscortRun.Status.PLANNED
    outcomes = list(InboundMessage.objects.filter(phone=STRANGER).values_list("outcome", flat=True))
    assert sorted(outcomes) == ["stranger", "stranger.silent", "stranger.silent"]


def test_a_number_whose_owner_lost_their_role_does_nothing(morning, client, graph):
    morning.leader.station_roles.all().delete()
    Phone(client, Morning.LEADER).text(f"ACK R{morning.run.pk}")
    with tenant_context(morning.station):
        assert EscortRun.objects.get(pk=morning.run.pk).status == EscortRun.Status.PLANNED
    (reply,) = graph.whatsapp(Morning.LEADER)
    assert "not linked to anyone" in text_of(reply)


def test_a_disabled_account_does_nothing(morning, client, graph):
    morning.agent_user.is_active = False
    morning.agent_user.save()
    Phone(client, Morning.AGENT).text("SOS")
    with tenant_context(morning.station):
        assert not SosAlert.objects.exists()


def test_the_webhook_answers_503_when_the_broker_is_down_so_the_provider_sends_again(
    morning, client, graph, broker, monkeypatch
):
    from escort_portal.celery import app

    # Queued for real, to a private Redis that is then stopped.
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    broker.stop()
    response = Phone(client, Morning.AGENT).text("SOS")
    assert response.status_code == 503
    assert not InboundMessage.objects.exists()


def _leaders_template(morning: Morning) -> Message:
    with tenant_context(morning.station):
        message = Message.objects.get(
            recipient=morning.leader, channel="whatsapp", kind="sheet_published"
        )
        notification_services.message_deliver(message_pk=message.pk)
        message.refresh_from_db()
    return message


def test_delivered_and_read_callbacks_reach_the_outbox_row_and_its_page(
    morning, client, graph, client_for
):
    message = _leaders_template(morning)
    assert message.status == Message.Status.SENT and message.provider_id.startswith("wamid.out.")
    sent = graph.last(Morning.LEADER)
    reference = sent["biz_opaque_callback_data"]
    assert reference == f"m:debra:{message.pk}"
    leader = Phone(client, Morning.LEADER)
    for status in ("sent", "delivered", "read", "delivered"):  # out of order and repeated
        body = leader.body("status", status=status, reference=reference)
        body = body.replace(leader.last_id.encode(), message.provider_id.encode())
        assert post_signed(client, body).status_code == 200
    with tenant_context(morning.station):
        message.refresh_from_db()
        assert message.delivered_at is not None and message.seen_at is not None
        assert message.status == Message.Status.SENT
    oc_page = client_for(morning.duty).get(
        station_reverse(morning.station, "notifications:outbox") + "?show=sent"
    )
    assert "read on the phone" in oc_page.content.decode()


def test_a_failed_callback_turns_the_row_failed_with_whatsapps_reason(morning, client, graph):
    message = _leaders_template(morning)
    leader = Phone(client, Morning.LEADER)
    body = leader.body("status_failed", reference=f"m:debra:{message.pk}")
    post_signed(client, body.replace(leader.last_id.encode(), message.provider_id.encode()))
    with tenant_context(morning.station):
        message.refresh_from_db()
    assert message.status == Message.Status.FAILED
    assert "131026 Message undeliverable" in message.last_error


def test_a_callback_naming_another_rows_reference_changes_nothing(morning, client, graph):
    message = _leaders_template(morning)
    leader = Phone(client, Morning.LEADER)
    # The right row, but a message id that is not the one WhatsApp gave it.
    post_signed(client, leader.body("status", status="read", reference=f"m:debra:{message.pk}"))
    with tenant_context(morning.station):
        message.refresh_from_db()
    assert message.seen_at is None


def test_callbacks_of_a_reply_are_recorded_on_the_message_it_answered(morning, client, graph):
    agent = Phone(client, Morning.AGENT)
    agent.text("STATUS")
    inbound = InboundMessage.objects.get(provider_id=agent.last_id)
    assert inbound.reply_status == "sent"
    body = agent.body("status", status="read", reference=f"i:{inbound.pk}")
    post_signed(client, body.replace(agent.last_id.encode(), inbound.reply_provider_id.encode()))
    inbound.refresh_from_db()
    assert inbound.reply_status == "read"


def test_the_sms_webhook_needs_the_shared_secret(morning, client, graph):
    assert sms(client, Morning.AGENT, "SOS", secret="guess").status_code == 403
    assert client.post(SMS_INBOUND, {"from": "919800100002", "text": "SOS"}).status_code == 403
    with tenant_context(morning.station):
        assert not SosAlert.objects.exists()
    assert sms(client, Morning.AGENT, "SOS").status_code == 200
    with tenant_context(morning.station):
        assert SosAlert.objects.count() == 1


def test_the_sms_webhook_takes_a_form_post_too(morning, client, graph):
    response = client.post(
        SMS_INBOUND,
        {"msgid": "gw-77", "mobile": "9800100002", "message": "STATUS"},
        headers={"X-Inbound-Secret": "test-sms-inbound-secret"},
    )
    assert response.status_code == 200
    assert InboundMessage.objects.get(provider_id="gw-77").phone == Morning.AGENT
    bad = client.post(
        SMS_INBOUND, {"text": "STATUS"}, headers={"X-Inbound-Secret": "test-sms-inbound-secret"}
    )
    assert bad.status_code == 400


def test_messages_to_another_number_of_the_business_account_are_not_ours(morning, client, graph):
    agent = Phone(client, Morning.AGENT)
    body = agent.body("text", text="SOS").replace(b'"100000000000001"', b'"100000000000999"')
    assert post_signed(client, body).status_code == 200
    assert not InboundMessage.objects.exists()
    with tenant_context(morning.station):
        assert not SosAlert.objects.exists()


def test_a_text_with_nul_characters_is_answered_like_the_same_text_without(morning, client, graph):
    agent = Phone(client, Morning.AGENT)
    assert agent.text("STATUS").status_code == 200
    plain = InboundMessage.objects.get(provider_id=agent.last_id)
    assert agent.text("STA\x00TUS").status_code == 200
    stored = InboundMessage.objects.get(provider_id=agent.last_id)
    assert (stored.status, stored.outcome) == (plain.status, plain.outcome)
    first, second = graph.whatsapp(Morning.AGENT)
    assert text_of(first) == text_of(second)


@pytest.mark.parametrize("when", ["99999999999999999999", "2026-13-45T10:00:00+05:30"])
def test_a_message_with_an_impossible_time_is_still_taken_without_it(morning, client, graph, when):
    body = payload(
        "text",
        wa_id=Morning.AGENT.lstrip("+"),
        name="A",
        id="wamid.late",
        timestamp=when,
        text="STATUS",
    )
    assert post_signed(client, body).status_code == 200
    response = client.post(
        SMS_INBOUND,
        {"id": "gw-late", "from": Morning.AGENT.lstrip("+"), "text": "STATUS", "received_at": when},
        headers={"X-Inbound-Secret": "test-sms-inbound-secret"},
    )
    assert response.status_code == 200
    for provider_id in ("wamid.late", "gw-late"):
        assert InboundMessage.objects.get(provider_id=provider_id).sent_at is None


@pytest.mark.parametrize(
    "body",
    [
        {"entry": "x"},
        {"entry": ["x"]},
        {"entry": [{"changes": ["x"]}]},
        {"entry": [{"changes": [{"value": "x"}]}]},
        {"entry": [{"changes": [{"value": {"metadata": "x", "messages": "abc"}}]}]},
        {"entry": [{"changes": [{"value": {"messages": ["abc"]}}]}]},
        {
            "entry": [
                {
                    "changes": [
                        {
                            "value": {
                                "statuses": [
                                    "abc",
                                    {
                                        "id": "w",
                                        "status": "failed",
                                        "errors": ["e", {"error_data": "d"}],
                                    },
                                ]
                            }
                        }
                    ]
                }
            ]
        },
        {
            "entry": [
                {
                    "changes": [
                        {
                            "value": {
                                "messages": [
                                    {
                                        "from": "919733000099",
                                        "id": "w1",
                                        "type": "text",
                                        "text": "hi",
                                    },
                                    {
                                        "from": "919733000099",
                                        "id": "w2",
                                        "type": "button",
                                        "button": "b",
                                    },
                                    {
                                        "from": "919733000099",
                                        "id": "w3",
                                        "type": "interactive",
                                        "interactive": {"type": [1]},
                                    },
                                    {
                                        "from": "919733000099",
                                        "id": "w4",
                                        "type": "location",
                                        "location": "here",
                                    },
                                ]
                            }
                        }
                    ]
                }
            ]
        },
    ],
)
def test_a_signed_post_of_an_unexpected_shape_is_taken_without_an_error(client, body):
    # Meta delivers again whatever is not answered 200, for days: what cannot be read is left.
    assert post_signed(client, json.dumps(body).encode()).status_code == 200


@pytest.mark.parametrize(("latitude", "longitude"), [("NaN", "87.33"), (22.38, "Infinity")])
def test_a_location_that_is_no_place_is_answered_with_help_and_raises_nothing(
    morning, client, graph, latitude, longitude
):
    agent = Phone(client, Morning.AGENT)
    assert agent.send("location", latitude=latitude, longitude=longitude).status_code == 200
    stored = InboundMessage.objects.get(provider_id=agent.last_id)
    assert stored.outcome == "help"
    with tenant_context(morning.station):
        assert not SosAlert.objects.exists()
