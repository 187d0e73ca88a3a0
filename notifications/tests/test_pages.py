"""The bell, the inbox, preferences, and the officers' page of outgoing messages."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.utils import translation
from django_tenants.utils import tenant_context

from escort_portal.formats import native_digits
from notifications import services
from notifications.models import Channel, ChannelPreference, Message
from stations.models import StationRole
from stations.tests.factories import StationRoleFactory

from .conftest import whatsapp_linked
from .samples import SAMPLES

pytestmark = pytest.mark.django_db

INBOX = "/station/debra/notifications/"
OUTBOX = "/station/debra/notifications/outbox/"


@pytest.fixture
def lender(debra, person):
    return StationRoleFactory(
        station=debra, role=StationRole.Role.LENDER, user=person(language="en")
    ).user


@pytest.fixture
def officer(debra, person):
    return StationRoleFactory(station=debra, role=StationRole.Role.DUTY_OFFICER, user=person()).user


def _notify(station, users, *, kind="sheet_published", event="e:1"):
    with tenant_context(station):
        return services.message_queue(
            event=event, kind=kind, recipients=users, context=SAMPLES[kind]
        )


def test_the_bell_shows_the_unread_count_on_station_pages(debra, lender, client_for):
    _notify(debra, [lender], event="e:1")
    _notify(debra, [lender], event="e:2")
    page = client_for(lender).get("/station/debra/").content.decode()
    assert 'id="notifications-bell"' in page
    assert 'data-unread="2"' in page


def test_the_bell_counts_in_bengali_digits_on_a_bengali_page(debra, person, client_for):
    reader = StationRoleFactory(
        station=debra, role=StationRole.Role.LENDER, user=person(language="bn")
    ).user
    _notify(debra, [reader], event="e:1")
    _notify(debra, [reader], event="e:2")
    page = client_for(reader).get("/station/debra/").content.decode()
    assert 'data-unread="2">২<span' in page


def test_the_inbox_counts_its_pages_in_bengali_digits_on_a_bengali_page(debra, person, client_for):
    reader = StationRoleFactory(
        station=debra, role=StationRole.Role.LENDER, user=person(language="bn")
    ).user
    for n in range(26):
        _notify(debra, [reader], event=f"e:{n}")
    page = client_for(reader).get(INBOX).content.decode()
    assert "পাতা ১ / ২" in page


def test_a_bengali_inbox_writes_a_messages_date_and_time_in_bengali_digits_not_its_phone(
    debra, person, client_for
):
    reader = StationRoleFactory(
        station=debra, role=StationRole.Role.ESCORT_OFFICER, user=person(language="bn")
    ).user
    with tenant_context(debra):
        services.message_queue(
            event="e:1",
            kind="sheet_published",
            recipients=[reader],
            context={**SAMPLES["sheet_published"], "date": "08-12-2026", "time": "08:15-11:00"},
        )
    page = client_for(reader).get(INBOX).content.decode()
    with translation.override("bn"):
        assert native_digits("08-12-2026") in page and native_digits("08:15-11:00") in page
    assert "08:15" not in page
    # What is dialled or typed keeps its ASCII digits.
    assert "+919800000001" in page and "DB-0112-03" in page


def test_the_bell_is_not_on_public_pages(debra, lender, client_for):
    _notify(debra, [lender])
    page = client_for(lender).get("/").content.decode()
    assert "notifications-bell" not in page


def test_the_count_belongs_to_the_station_being_shown(debra, pingla, person, client_for):
    user = person()
    StationRoleFactory(station=debra, user=user, role=StationRole.Role.LENDER)
    StationRoleFactory(station=pingla, user=user, role=StationRole.Role.LENDER)
    _notify(debra, [user])
    client = client_for(user)
    assert 'data-unread="1"' in client.get("/station/debra/").content.decode()
    assert "data-unread" not in client.get("/station/pingla/").content.decode()


def test_the_inbox_lists_my_messages_only(debra, lender, officer, client_for):
    _notify(debra, [lender], kind="sos", event="sos:1")
    _notify(debra, [officer], kind="sheet_draft_ready", event="draft:1")
    page = client_for(lender).get(INBOX).content.decode()
    assert "SOS SOS-17: Sujit Das at Radhamohanpur road" in page
    assert "Draft duty sheet" not in page


def test_the_inbox_shows_messages_in_the_readers_language(debra, lender, client_for):
    _notify(debra, [lender])
    lender.language = "bn"
    lender.save()
    page = client_for(lender).get(INBOX).content.decode()
    assert "মিলনস্থল: Debra bus stand" in page


def test_opening_a_message_marks_it_read_and_goes_to_its_page(debra, lender, client_for):
    _notify(debra, [lender])
    with tenant_context(debra):
        message = Message.objects.get(recipient=lender, channel=Channel.IN_APP)
    response = client_for(lender).post(f"{INBOX}{message.pk}/open/")
    assert response.status_code == 302
    assert response["Location"] == "/station/debra/lenders/escort/"
    with tenant_context(debra):
        message.refresh_from_db()
    assert message.read_at is not None


def test_nobody_can_open_someone_elses_message(debra, lender, officer, client_for):
    _notify(debra, [lender])
    with tenant_context(debra):
        message = Message.objects.get(recipient=lender, channel=Channel.IN_APP)
    assert client_for(officer).post(f"{INBOX}{message.pk}/open/").status_code == 404
    with tenant_context(debra):
        message.refresh_from_db()
    assert message.read_at is None


def test_mark_all_read_clears_the_bell(debra, lender, client_for):
    _notify(debra, [lender], event="e:1")
    _notify(debra, [lender], event="e:2")
    client = client_for(lender)
    assert client.post(f"{INBOX}read-all/").status_code == 302
    assert "data-unread" not in client.get(INBOX).content.decode()


def test_the_inbox_is_hidden_from_people_of_other_stations(pingla, person, client_for):
    stranger = StationRoleFactory(station=pingla, user=person()).user
    assert client_for(stranger).get(INBOX).status_code == 404


def test_a_user_chooses_channels(debra, lender, client_for, gateway):
    whatsapp_linked(lender)
    client = client_for(lender)
    page = client.get(f"{INBOX}preferences/").content.decode()
    assert 'name="whatsapp"' in page
    response = client.post(f"{INBOX}preferences/", {"sms": "on", "whatsapp": "on"})
    assert response.status_code == 302
    with tenant_context(debra):
        preference = ChannelPreference.objects.get(user=lender)
    assert (preference.email, preference.sms, preference.whatsapp) == (False, True, True)


def test_a_channel_the_portal_cannot_use_cannot_be_switched(debra, lender, client_for):
    client = client_for(lender)
    page = client.get(f"{INBOX}preferences/").content.decode()
    assert "Not available on this portal yet." in page
    client.post(f"{INBOX}preferences/", {"email": "on", "sms": "", "whatsapp": "on"})
    with tenant_context(debra):
        preference = ChannelPreference.objects.get(user=lender)
    # Unchanged defaults for the two channels that are switched off on this portal (WhatsApp's
    # consent is the person's own, given from their phone, so the station's choice is on).
    assert (preference.email, preference.sms, preference.whatsapp) == (True, True, True)


def test_officers_see_failed_messages_with_the_reason(debra, lender, officer, client_for):
    _notify(debra, [lender])
    with tenant_context(debra):
        Message.objects.filter(channel=Channel.EMAIL).update(
            status=Message.Status.FAILED, attempts=6, last_error="HTTP 400: number blocked"
        )
    page = client_for(officer).get(OUTBOX).content.decode()
    assert "HTTP 400: number blocked" in page
    assert "Failed" in page
    assert lender.get_username() in page or lender.get_full_name() in page


def test_officers_send_a_failed_message_again(
    debra, lender, officer, client_for, django_capture_on_commit_callbacks
):
    _notify(debra, [lender])
    with tenant_context(debra):
        message = Message.objects.get(channel=Channel.EMAIL)
        Message.objects.filter(pk=message.pk).update(status=Message.Status.FAILED, attempts=6)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for(officer).post(f"{OUTBOX}{message.pk}/retry/")
    assert response.status_code == 302
    assert len(callbacks) == 2  # its delivery queued, and the sweep due should it be lost
    with tenant_context(debra):
        message.refresh_from_db()
    assert (message.status, message.attempts) == (Message.Status.PENDING, 0)


def test_officers_send_every_failed_message_again_and_read_the_count_in_their_numerals(
    debra, lender, officer, client_for, django_capture_on_commit_callbacks
):
    _notify(debra, [lender])
    with tenant_context(debra):
        Message.objects.exclude(channel=Channel.IN_APP).update(status=Message.Status.FAILED)
        failed = Message.objects.filter(status=Message.Status.FAILED).count()
    with django_capture_on_commit_callbacks():
        page = client_for(officer).post(f"{OUTBOX}retry-failed/", follow=True).content.decode()
    assert f"Messages queued to be sent again: {failed}." in page
    with tenant_context(debra):
        Message.objects.exclude(channel=Channel.IN_APP).update(status=Message.Status.FAILED)
    officer.language = "bn"
    officer.save()
    with django_capture_on_commit_callbacks():
        page = client_for(officer).post(f"{OUTBOX}retry-failed/", follow=True).content.decode()
    with translation.override("bn"):
        shown = native_digits(failed)
    assert shown != str(failed)
    assert f"আবার পাঠানোর জন্য সারিতে রাখা বার্তা: {shown}।" in page


@override_settings(LANGUAGE_CODE="en")
def test_the_outbox_is_for_officers_only(debra, lender, client_for):
    assert client_for(lender).get(OUTBOX).status_code == 404
    assert client_for(lender).post(f"{OUTBOX}retry-failed/").status_code == 404


def test_pingla_officers_cannot_reach_debras_outbox(debra, pingla, lender, person, client_for):
    _notify(debra, [lender])
    with tenant_context(debra):
        message = Message.objects.get(channel=Channel.EMAIL)
    pingla_officer = StationRoleFactory(station=pingla, user=person()).user
    client = client_for(pingla_officer)
    assert client.get(OUTBOX).status_code == 404
    assert client.post(f"/station/pingla/notifications/outbox/{message.pk}/retry/").status_code == (
        404
    )


def test_a_long_inbox_comes_in_pages(debra, lender, client_for):
    for n in range(30):
        _notify(debra, [lender], event=f"e:{n}")
    client = client_for(lender)
    first = client.get(INBOX).content.decode()
    assert "Page 1 of 2" in first
    assert first.count("Escort duty DB-0112-03") == 25
    assert client.get(f"{INBOX}?page=2").content.decode().count("Escort duty DB-0112-03") == 5
