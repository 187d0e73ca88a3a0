"""message_queue: the right rows for the right people, once, queued only after commit."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django_tenants.utils import tenant_context

from notifications import services
from notifications.models import Channel, ChannelPreference, Message
from stations.tests.factories import UserFactory

from .conftest import queued, whatsapp_linked
from .samples import SAMPLES

pytestmark = pytest.mark.django_db


def _queue(recipients, *, event="sheet-published:1", kind="sheet_published", **kwargs):
    return services.message_queue(
        event=event, kind=kind, recipients=recipients, context=SAMPLES[kind], **kwargs
    )


def _channels(user) -> set[str]:
    return set(Message.objects.filter(recipient=user).values_list("channel", flat=True))


def test_without_gateways_it_writes_the_inbox_row_and_an_email_only(in_debra, person):
    user = person()
    messages = _queue([user])
    assert {message.channel for message in messages} == {Channel.IN_APP, Channel.EMAIL}
    inbox = next(message for message in messages if message.channel == Channel.IN_APP)
    assert inbox.status == Message.Status.SENT and inbox.sent_at is not None
    email = next(message for message in messages if message.channel == Channel.EMAIL)
    assert email.status == Message.Status.PENDING
    assert email.context == SAMPLES["sheet_published"]


def test_it_follows_preferences_and_contact_details(in_debra, person, gateway):
    default, opted_in, no_phone, no_email = (
        person(),
        person(),
        person(phone=""),
        person(email=""),
    )
    ChannelPreference.objects.create(user=opted_in, email=False, sms=True, whatsapp=True)
    whatsapp_linked(opted_in)
    _queue([default, opted_in, no_phone, no_email])
    assert _channels(default) == {"in_app", "email", "sms"}
    assert _channels(opted_in) == {"in_app", "sms", "whatsapp"}
    assert _channels(no_phone) == {"in_app", "email"}
    assert _channels(no_email) == {"in_app", "sms"}


def test_an_invalid_phone_number_counts_as_none(in_debra, person, gateway):
    user = person(phone="12345")
    _queue([user])
    assert _channels(user) == {"in_app", "email"}


def test_sos_ignores_preferences_and_uses_every_channel_the_person_can_receive(
    in_debra, person, gateway
):
    officer = person()
    whatsapp_linked(officer)
    ChannelPreference.objects.create(user=officer, email=False, sms=False, whatsapp=False)
    _queue([officer], event="sos:17", kind="sos", urgent=True)
    assert _channels(officer) == {"in_app", "email", "sms", "whatsapp"}
    assert all(message.urgent for message in Message.objects.filter(recipient=officer))


def test_it_writes_in_each_recipients_language(in_debra, person):
    english, bengali = person(language="en"), person(language="bn")
    _queue([english, bengali])
    assert set(Message.objects.filter(recipient=english).values_list("language", flat=True)) == {
        "en"
    }
    assert set(Message.objects.filter(recipient=bengali).values_list("language", flat=True)) == {
        "bn"
    }


def test_it_writes_only_for_the_recipients_given(in_debra, person):
    chosen, bystander = person(), person()
    _queue([chosen, chosen])
    assert Message.objects.filter(recipient=chosen, channel="in_app").count() == 1
    assert not Message.objects.filter(recipient=bystander).exists()


def test_it_skips_inactive_users(in_debra, person):
    gone = person(is_active=False)
    assert _queue([gone]) == []
    assert not Message.objects.exists()


def test_repeating_an_event_adds_nothing(in_debra, person, gateway):
    first, second = person(), person()
    assert len(_queue([first])) == 3
    assert _queue([first]) == []
    added = _queue([first, second])
    assert {message.recipient_id for message in added} == {second.pk}
    assert Message.objects.filter(recipient=first).count() == 3


def test_a_new_channel_for_a_repeated_event_is_added_alone(in_debra, person, gateway):
    user = person()
    _queue([user])
    whatsapp_linked(user)
    added = _queue([user])
    assert [message.channel for message in added] == ["whatsapp"]


def test_the_same_event_in_two_stations_is_two_events(debra, pingla, person):
    user = person()
    with tenant_context(debra):
        assert len(_queue([user])) == 2
    with tenant_context(pingla):
        assert len(_queue([user])) == 2
        assert Message.objects.count() == 2


def test_it_refuses_to_run_in_the_public_schema(db, person):
    assert connection.schema_name == "public"
    with pytest.raises(ValueError, match="station"):
        _queue([person()])


def test_it_refuses_cash_in_the_context(in_debra, person):
    context = {**SAMPLES["sos"], "place": "bag with Rs 40000"}
    with pytest.raises(ValueError, match="cash"):
        services.message_queue(event="sos:1", kind="sos", recipients=[person()], context=context)
    assert not Message.objects.exists()


def test_rows_roll_back_with_the_event(in_debra, person):
    user = person()
    with pytest.raises(RuntimeError), transaction.atomic():
        _queue([user])
        raise RuntimeError("the event failed")
    assert not Message.objects.filter(recipient=user).exists()


def test_delivery_is_queued_only_on_commit_one_task_per_outgoing_message(
    in_debra, person, gateway, broker, django_capture_on_commit_callbacks
):
    user = person()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _queue([user])
        assert queued(broker.url) == 0
    # The sweep's due time (in case the tasks are lost), then the one queueing of the tasks.
    assert len(callbacks) == 2
    for callback in callbacks:
        callback()
    # Email and SMS go to the broker; the inbox row needs no delivery.
    assert queued(broker.url) == 2


def test_a_broker_outage_does_not_break_the_event(
    in_debra, person, gateway, broker, django_capture_on_commit_callbacks
):
    broker.stop()
    user = person()
    with django_capture_on_commit_callbacks(execute=True):
        messages = _queue([user])
    assert len(messages) == 3
    assert Message.objects.filter(recipient=user, status=Message.Status.PENDING).count() == 2
    assert Message.objects.get(recipient=user, channel="in_app").status == Message.Status.SENT


@override_settings(NOTIFICATIONS_BACKENDS={"email": "notifications.backends.mail.EmailBackend"})
def test_a_channel_without_a_backend_is_not_used(in_debra, person, httpserver):
    user = UserFactory(phone="+919876543210")
    with override_settings(SMS_GATEWAY_URL=httpserver.url_for("/sms")):
        _queue([user])
    assert _channels(user) == {"in_app", "email"}
