"""Delivery: exact gateway requests, one send per message, retries, failures, the sweeper."""

from __future__ import annotations

import datetime
import json
import time

import pytest
from django.conf import settings
from django.core import mail
from django.test import override_settings
from django.utils import timezone
from werkzeug import Request, Response

from escort_portal.testing import wait_for
from notifications import services
from notifications.backends import TransientDeliveryError
from notifications.models import Channel, ChannelPreference, Message
from notifications.tasks import message_deliver, message_sweep_all_stations
from stations.models import Station, StationJobDue

from .conftest import free_port_url, queued, whatsapp_linked
from .samples import DLT_IDS, SAMPLES

pytestmark = pytest.mark.django_db

Status = Message.Status


def _message(user, channel: str, *, kind: str = "sheet_published", event: str = "e:1") -> Message:
    ChannelPreference.objects.update_or_create(user=user, defaults={"whatsapp": True})
    if channel == Channel.WHATSAPP:
        whatsapp_linked(user)
    services.message_queue(event=event, kind=kind, recipients=[user], context=SAMPLES[kind])
    return Message.objects.get(recipient=user, channel=channel, event=event)


def _sms_request(message: Message, text: str, variables: list[str], language: str = "en"):
    return {
        "sender": "EPORTL",
        "to": "919876543210",
        "entity_id": "1101000000000000001",
        "template_id": DLT_IDS[f"{message.kind}.{language}"],
        "message": text,
        "variables": variables,
        "unicode": language != "en",
        "reference": f"debra-{message.pk}",
    }


PUBLISHED_VARIABLES = [
    "DB-0112-03",
    "Arup Bag",
    "01 Dec",
    "10:15",
    "Debra bus stand",
    "ASI R. Mahato",
    "+919800000001",
    f"{settings.SITE_URL}/station/debra/lenders/escort/",
]


def test_it_sends_an_sms_as_the_registered_dlt_template(in_debra, person, gateway):
    message = _message(person(), Channel.SMS)
    gateway.expect_oneshot_request(
        "/sms",
        method="POST",
        headers={"Authorization": "Bearer test-sms-key", "Content-Type": "application/json"},
        json=_sms_request(
            message,
            "Escort Portal: escort DB-0112-03 for Arup Bag on 01 Dec at 10:15, "
            "meet at Debra bus stand. "
            "Contact ASI R. Mahato +919800000001. "
            f"Details {settings.SITE_URL}/station/debra/lenders/escort/",
            PUBLISHED_VARIABLES,
        ),
    ).respond_with_json({"status": "accepted", "id": "gw-1"})
    services.message_deliver(message_pk=message.pk)
    gateway.check_assertions()
    message.refresh_from_db()
    assert (message.status, message.provider_id, message.attempts) == (Status.SENT, "gw-1", 1)
    assert message.sent_at is not None and message.last_error == ""


def test_a_bengali_sms_uses_its_own_template_and_unicode(in_debra, person, gateway):
    message = _message(person(language="bn"), Channel.SMS, kind="sos")
    gateway.expect_oneshot_request("/sms", method="POST").respond_with_json({"message_id": "m2"})
    services.message_deliver(message_pk=message.pk)
    gateway.check_assertions()
    sent = json.loads(gateway.log[0][0].get_data())
    assert sent["template_id"] == DLT_IDS["sos.bn"]
    assert sent["unicode"] is True
    assert sent["message"].startswith("এসকর্ট পোর্টাল এসওএস SOS-17, 11:02: Sujit Das")
    message.refresh_from_db()
    assert message.provider_id == "m2"


def test_it_sends_whatsapp_as_an_approved_template_with_parameters(in_debra, person, gateway):
    message = _message(person(), Channel.WHATSAPP)
    gateway.expect_oneshot_request(
        "/wa/100000000000001/messages",
        method="POST",
        headers={"Authorization": "Bearer test-whatsapp-token"},
        json={
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "919876543210",
            "type": "template",
            "template": {
                "name": "sheet_published",
                "language": {"code": "en"},
                "components": [
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "text": value} for value in PUBLISHED_VARIABLES
                        ],
                    }
                ],
            },
            # Comes back in the status callbacks: which station's outbox row they are about.
            "biz_opaque_callback_data": f"m:debra:{message.pk}",
        },
    ).respond_with_json(
        {
            "messaging_product": "whatsapp",
            "contacts": [{"input": "919876543210", "wa_id": "919876543210"}],
            "messages": [{"id": "wamid.HBgM"}],
        }
    )
    services.message_deliver(message_pk=message.pk)
    gateway.check_assertions()
    message.refresh_from_db()
    assert (message.status, message.provider_id) == (Status.SENT, "wamid.HBgM")


def test_it_emails_in_the_recipients_language(in_debra, person):
    message = _message(person(language="bn", email="manager@example.org"), Channel.EMAIL)
    services.message_deliver(message_pk=message.pk)
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["manager@example.org"]
    assert email.subject == "এসকর্ট DB-0112-03, ০১ Dec: ১০:১৫, Debra bus stand"
    assert "মিলনস্থল: Debra bus stand" in email.body
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.provider_id == email.extra_headers["Message-ID"]


def test_only_one_claim_on_a_message_succeeds(in_debra, person):
    message = _message(person(), Channel.EMAIL)
    assert services.message_claim(message_pk=message.pk) is True
    assert services.message_claim(message_pk=message.pk) is False
    assert services.message_deliver(message_pk=message.pk) is None
    assert mail.outbox == []


def test_duplicate_tasks_send_a_message_once(in_debra, person, gateway):
    message = _message(person(), Channel.SMS)
    gateway.expect_request("/sms").respond_with_json({"id": "gw"})
    for _ in range(3):
        message_deliver.apply(args=[message.pk])
    assert len(gateway.log) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.SENT, 1)


def test_a_gateway_error_is_retried_later_with_backoff(in_debra, person, gateway):
    message = _message(person(), Channel.SMS)
    gateway.expect_request("/sms").respond_with_data("busy", status=503)
    before = timezone.now()
    with pytest.raises(TransientDeliveryError) as error:
        services.message_deliver(message_pk=message.pk)
    assert error.value.retry_after == 15
    message.refresh_from_db()
    assert message.status == Status.PENDING
    assert message.attempts == 1
    assert message.last_error == "HTTP 503: busy"
    assert message.next_attempt_at >= before + datetime.timedelta(seconds=15)


def test_backoff_doubles_up_to_its_cap():
    assert [services.retry_delay(n) for n in (1, 2, 3, 4, 5, 6, 7, 8)] == [
        15,
        30,
        60,
        120,
        240,
        480,
        600,
        600,
    ]


@override_settings(NOTIFICATIONS_MAX_ATTEMPTS=3)
def test_the_task_retries_transient_errors_then_fails_visibly(in_debra, person, gateway):
    message = _message(person(), Channel.SMS)
    gateway.expect_request("/sms").respond_with_json({"error": "overloaded"}, status=502)
    message_deliver.apply(args=[message.pk])
    assert len(gateway.log) == 3
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.FAILED, 3)
    assert message.last_error == 'HTTP 502: { "error": "overloaded" }'


def test_a_transient_error_then_success_sends_once(in_debra, person, gateway):
    message = _message(person(), Channel.SMS)
    gateway.expect_ordered_request("/sms").respond_with_data("", status=500)
    gateway.expect_ordered_request("/sms").respond_with_json({"id": "second-try"})
    message_deliver.apply(args=[message.pk])
    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider_id) == (
        Status.SENT,
        2,
        "second-try",
    )
    assert message.last_error == ""


def test_a_refused_request_fails_at_once_with_the_gateways_reason(in_debra, person, gateway):
    message = _message(person(), Channel.SMS)
    gateway.expect_request("/sms").respond_with_json({"error": "DLT template mismatch"}, 400)
    message_deliver.apply(args=[message.pk])
    assert len(gateway.log) == 1
    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert "DLT template mismatch" in message.last_error


def test_whatsapp_rate_limits_are_retried_but_other_errors_are_not(in_debra, person, gateway):
    limited = _message(person(), Channel.WHATSAPP, event="e:limited")
    refused = _message(person(phone="+919876543211"), Channel.WHATSAPP, event="e:refused")
    gateway.expect_ordered_request("/wa/100000000000001/messages").respond_with_json(
        {"error": {"code": 131056, "message": "pair rate limit hit"}}, status=400
    )
    gateway.expect_ordered_request("/wa/100000000000001/messages").respond_with_json(
        {"error": {"code": 132001, "message": "Template name does not exist"}}, status=404
    )
    with pytest.raises(TransientDeliveryError):
        services.message_deliver(message_pk=limited.pk)
    services.message_deliver(message_pk=refused.pk)
    limited.refresh_from_db()
    refused.refresh_from_db()
    assert limited.status == Status.PENDING
    assert refused.status == Status.FAILED
    assert "Template name does not exist" in refused.last_error


@override_settings(NOTIFICATIONS_HTTP_TIMEOUT=0.2)
def test_a_gateway_that_does_not_answer_in_time_is_retried(in_debra, person, gateway):
    message = _message(person(), Channel.SMS)

    def slow(request: Request) -> Response:
        time.sleep(0.6)
        return Response('{"id": "late"}', content_type="application/json")

    gateway.expect_request("/sms").respond_with_handler(slow)
    started = time.monotonic()
    with pytest.raises(TransientDeliveryError):
        services.message_deliver(message_pk=message.pk)
    assert time.monotonic() - started < 0.5
    message.refresh_from_db()
    assert message.status == Status.PENDING
    assert message.last_error == "No answer within 0.2 s"
    # The late answer lands in the server's log when the handler returns: wait for it here, or
    # on a busy machine it turns up in a later test's log.
    assert wait_for(lambda: len(gateway.log) == 1, seconds=5)


def test_an_unreachable_gateway_is_retried(in_debra, person, gateway):
    message = _message(person(), Channel.SMS)
    with (
        override_settings(SMS_GATEWAY_URL=free_port_url("/sms")),
        pytest.raises(TransientDeliveryError),
    ):
        services.message_deliver(message_pk=message.pk)
    message.refresh_from_db()
    assert message.status == Status.PENDING
    assert message.last_error.startswith("Gateway unreachable")


def test_a_kind_without_a_dlt_template_id_fails_visibly(in_debra, person, gateway):
    message = _message(person(), Channel.SMS)
    with override_settings(SMS_DLT_TEMPLATE_IDS={}):
        services.message_deliver(message_pk=message.pk)
    assert gateway.log == []
    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert "No DLT template id for sheet_published.en" in message.last_error


def test_a_recipient_who_lost_their_number_fails_visibly(in_debra, person, gateway):
    user = person()
    message = _message(user, Channel.SMS)
    user.phone = ""
    user.save()
    services.message_deliver(message_pk=message.pk)
    assert gateway.log == []
    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert message.last_error == services.ERROR_NO_ADDRESS


def test_a_gateway_switched_off_after_queueing_fails_visibly(in_debra, person, gateway):
    message = _message(person(), Channel.SMS)
    with override_settings(SMS_GATEWAY_URL=""):
        services.message_deliver(message_pk=message.pk)
    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert message.last_error == services.ERROR_CHANNEL_OFF


# --- The sweeper ---


def _set(message: Message, **fields) -> None:
    Message.objects.filter(pk=message.pk).update(**fields)


def test_the_sweeper_requeues_due_and_stuck_messages_only(in_debra, person, broker):
    now = timezone.now()
    minutes = datetime.timedelta(minutes=1)
    due, fresh, later, stuck, busy, done, failed = (
        _message(person(), Channel.EMAIL, event=f"e:{n}") for n in range(7)
    )
    _set(due, next_attempt_at=now - 2 * minutes)
    _set(fresh, next_attempt_at=now)  # its on-commit task is still on the way
    _set(later, next_attempt_at=now + 5 * minutes)  # waiting for its backoff
    _set(stuck, status=Status.SENDING, claimed_at=now - 10 * minutes, attempts=1)
    _set(busy, status=Status.SENDING, claimed_at=now - minutes, attempts=1)
    _set(done, status=Status.SENT, sent_at=now)
    _set(failed, status=Status.FAILED)

    assert services.message_sweep(now=now) == 2
    assert queued(broker.url) == 2
    stuck.refresh_from_db()
    assert stuck.status == Status.PENDING
    assert stuck.last_error == services.ERROR_INTERRUPTED
    busy.refresh_from_db()
    assert busy.status == Status.SENDING


def test_a_message_left_by_a_broker_outage_is_delivered_by_the_sweep(in_debra, person):
    message = _message(person(), Channel.EMAIL)
    later = timezone.now() + datetime.timedelta(minutes=1)
    assert services.message_sweep(now=later) == 1
    # Whichever copy of the task runs first sends it; the rest find it claimed.
    message_deliver.apply(args=[message.pk])
    message_deliver.apply(args=[message.pk])
    assert len(mail.outbox) == 1


def _sweep_due(station) -> datetime.datetime | None:
    row = StationJobDue.objects.filter(station=station, job=services.SWEEP_JOB).first()
    return row.due_at if row else None


def test_a_message_waiting_makes_its_station_due_for_the_sweep_until_it_is_sent(
    in_debra, person, broker, django_capture_on_commit_callbacks
):
    grace = datetime.timedelta(seconds=settings.NOTIFICATIONS_SWEEP_GRACE_SECONDS)
    timeout = datetime.timedelta(seconds=settings.NOTIFICATIONS_SENDING_TIMEOUT_SECONDS)
    with django_capture_on_commit_callbacks(execute=True):
        before = timezone.now()
        message = _message(person(), Channel.EMAIL)
    # Should its task be lost, the sweep is due once the message is past its grace.
    first = _sweep_due(in_debra)
    assert before + grace <= first <= timezone.now() + grace
    with django_capture_on_commit_callbacks(execute=True):
        assert services.message_claim(message_pk=message.pk)
    assert _sweep_due(in_debra) == first  # a later time does not put it off
    # The sweep at that time finds it being sent: next due when the claim times out.
    services.message_sweep(now=first)
    message.refresh_from_db()
    assert _sweep_due(in_debra) == message.claimed_at + timeout
    _set(message, status=Status.SENT, sent_at=timezone.now())
    # Nothing waiting: the next look is the sweep's bound.
    then = message.claimed_at + timeout
    services.message_sweep(now=then)
    bound = datetime.timedelta(minutes=settings.STATION_JOB_SWEEP_MINUTES)
    assert _sweep_due(in_debra) == then + bound


def test_the_sweep_enters_only_the_stations_with_a_message_waiting(in_debra, pingla):
    later = timezone.now() + datetime.timedelta(hours=1)
    for station in Station.objects.live().exclude(pk=in_debra.pk):
        StationJobDue.objects.update_or_create(
            station=station, job=services.SWEEP_JOB, defaults={"due_at": later}
        )
    assert message_sweep_all_stations() == 1


# --- Officers sending again ---


def test_an_officer_sends_a_failed_message_again_with_fresh_attempts(
    in_debra, person, broker, django_capture_on_commit_callbacks
):
    message = _message(person(), Channel.EMAIL)
    _set(message, status=Status.FAILED, attempts=6, last_error="HTTP 400")
    with django_capture_on_commit_callbacks(execute=True):
        services.message_retry(message=message, by=person())
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.PENDING, 0)
    assert queued(broker.url) == 1
    services.message_deliver(message_pk=message.pk)
    message.refresh_from_db()
    assert message.status == Status.SENT


def test_sending_all_failed_again_leaves_sent_ones_alone(
    in_debra, person, broker, django_capture_on_commit_callbacks
):
    failed = [_message(person(), Channel.EMAIL, event=f"e:{n}") for n in range(3)]
    sent = _message(person(), Channel.EMAIL, event="e:sent")
    for message in failed:
        _set(message, status=Status.FAILED)
    _set(sent, status=Status.SENT, sent_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert services.message_retry_failed(by=person()) == 3
    assert queued(broker.url) == 3
    assert Message.objects.filter(status=Status.PENDING).count() == 3
    sent.refresh_from_db()
    assert sent.status == Status.SENT
