"""Linking a phone: a signed-in person gets a code on their page and sends it from the phone,
which proves the number and, on WhatsApp, is their opt-in."""

from __future__ import annotations

import datetime
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from chat import services
from chat.models import InboundMessage, LinkCode
from escorts.models import EscortRun
from stations.models import ChatContact, StationRole
from stations.tests.factories import StationRoleFactory, UserFactory

from .conftest import Morning, Phone, sms, text_of

pytestmark = pytest.mark.django_db

PAGE = "/chat/phone/"
NEW = "+919733000123"


def _code_from(page: str) -> str:
    return re.search(r"data-link-code>(\d{4} \d{4})<", page).group(1).replace(" ", "")


def test_the_page_gives_a_code_and_a_whatsapp_link_that_names_the_portal(debra, client_for):
    user = StationRoleFactory(station=debra, role=StationRole.Role.ESCORT_OFFICER).user
    client = client_for(user)
    assert "Get a code" in client.get(PAGE).content.decode()
    page = client.post(f"{PAGE}code/").content.decode()
    code = _code_from(page)
    link = re.search(r'href="(https://wa.me/[^"]+)"', page).group(1).replace("&amp;", "&")
    assert urlsplit(link).path == "/919800000000"
    text = parse_qs(urlsplit(link).query)["text"][0]
    assert f"{code[:4]} {code[4:]}" in text and "I agree to get escort messages" in text
    assert "+919800000001" in page  # the SMS number
    # Only a keyed hash is kept.
    stored = LinkCode.objects.get(user=user)
    assert code not in stored.code_hash and stored.code_hash == services.code_hash(code)


def test_police_open_the_page_only_after_the_second_factor(debra, client):
    user = StationRoleFactory(station=debra, role=StationRole.Role.DUTY_OFFICER).user
    client.force_login(user)
    response = client.get(PAGE)
    assert response.status_code == 302 and "/accounts/two-factor/" in response["Location"]
    assert client.post(f"{PAGE}code/").status_code == 302
    assert not LinkCode.objects.exists()


def test_the_page_needs_a_sign_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_sending_the_code_on_whatsapp_links_the_number_and_opts_in(
    debra, client, client_for, graph, eager
):
    user = StationRoleFactory(station=debra, role=StationRole.Role.ESCORT_OFFICER).user
    code = _code_from(client_for(user).post(f"{PAGE}code/").content.decode())
    phone = Phone(client, NEW)
    phone.text(f"Escort Portal code {code[:4]} {code[4:]}: I agree to get escort messages.")
    contact = ChatContact.objects.get(user=user)
    assert (contact.phone, contact.verified_over, contact.whatsapp_consent) == (
        NEW,
        "whatsapp",
        True,
    )
    assert "this phone is now linked to" in text_of(graph.last(NEW))
    # The code works once.
    ChatContact.objects.all().delete()
    phone.text(code)
    assert not ChatContact.objects.exists()
    # The consent change is in the audit trail.
    assert ChatContact.pgh_event_model.objects.filter(pgh_obj_id=contact.pk).exists()


def test_sending_the_code_by_sms_links_the_number_for_sms_only(
    debra, client_for, client, graph, eager
):
    user = StationRoleFactory(station=debra, role=StationRole.Role.LENDER).user
    code = _code_from(client_for(user).post(f"{PAGE}code/").content.decode())
    sms(client, NEW, code)
    contact = ChatContact.objects.get(user=user)
    assert (contact.verified_over, contact.whatsapp_consent) == ("sms", False)
    (reply,) = graph.sms(NEW)
    assert reply["message"].startswith("Escort Portal: this phone is now linked to")


def test_an_expired_code_links_nothing(debra, client_for, client, graph, eager):
    user = StationRoleFactory(station=debra, role=StationRole.Role.LENDER).user
    code = _code_from(client_for(user).post(f"{PAGE}code/").content.decode())
    LinkCode.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    Phone(client, NEW).text(code)
    assert not ChatContact.objects.exists()
    # From an unknown number a wrong code is one more message from a stranger.
    assert "not linked to anyone" in text_of(graph.last(NEW))


def test_guessing_codes_stops_being_answered(debra, client, graph, eager):
    phone = Phone(client, NEW)
    for guess in range(8):
        phone.text(f"{10000000 + guess}")
    outcomes = list(
        InboundMessage.objects.filter(phone=NEW).order_by("pk").values_list("outcome", flat=True)
    )
    assert outcomes[:5] == ["stranger.code"] * 5
    assert outcomes[5:] == ["link.ignored"] * 3
    assert len(graph.whatsapp(NEW)) == 1


def test_linking_a_number_again_moves_it_to_its_new_owner(debra, client_for, client, graph, eager):
    first = StationRoleFactory(station=debra, role=StationRole.Role.LENDER).user
    second = StationRoleFactory(station=debra, role=StationRole.Role.LENDER).user
    for user in (first, second):
        code = _code_from(client_for(user).post(f"{PAGE}code/").content.decode())
        Phone(client, NEW).text(code)
    assert list(ChatContact.objects.values_list("user", flat=True)) == [second.pk]


def test_an_unlinked_phone_does_nothing(debra, client_for, client, graph, eager, clock):
    with tenant_context(debra):
        from .conftest import make_morning, published

        day = published(make_morning(debra))
    client_for(day.leader).post(f"{PAGE}unlink/")
    assert not ChatContact.objects.filter(user=day.leader).exists()
    Phone(client, Morning.LEADER).text(f"ACK R{day.run.pk}")
    with tenant_context(debra):
        assert EscortRun.objects.get(pk=day.run.pk).status == EscortRun.Status.PLANNED


def test_stopping_whatsapp_on_the_page_is_like_sending_stop(debra, client_for):
    user = UserFactory()
    StationRoleFactory(station=debra, user=user, role=StationRole.Role.LENDER)
    ChatContact.objects.create(
        user=user, phone=NEW, verified_at=timezone.now(), verified_over="whatsapp",
        whatsapp_consent=True,
    )  # fmt: skip
    client_for(user).post(f"{PAGE}whatsapp-off/")
    assert not ChatContact.objects.get(user=user).whatsapp_consent


def test_the_platform_admin_sees_linked_numbers_and_received_messages(debra, client_for):
    admin = UserFactory(is_staff=True, is_superuser=True)
    user = UserFactory()
    ChatContact.objects.create(
        user=user, phone=NEW, verified_at=timezone.now(), verified_over="sms"
    )
    client = client_for(admin)
    page = client.get("/admin/stations/chatcontact/")
    assert page.status_code == 200 and NEW in page.content.decode()
    assert client.get("/admin/chat/inboundmessage/").status_code == 200


def test_a_code_typed_in_bengali_digits_links_the_number(debra, client_for, client, graph, eager):
    # A Bengali keyboard's number row writes Bengali digits: the code is the same code.
    user = StationRoleFactory(station=debra, role=StationRole.Role.LENDER).user
    code = _code_from(client_for(user).post(f"{PAGE}code/").content.decode())
    bengali = code.translate(str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯"))
    sms(client, NEW, f"{bengali[:4]} {bengali[4:]}")
    assert ChatContact.objects.get(user=user).phone == NEW


def test_a_bengali_page_says_how_long_the_code_works_in_bengali_digits(debra, client_for, settings):
    settings.CHAT_LINK_CODE_MINUTES = 15
    user = StationRoleFactory(station=debra, role=StationRole.Role.LENDER).user
    user.language = "bn"
    user.save(update_fields=["language"])
    page = client_for(user).post(f"{PAGE}code/", HTTP_ACCEPT_LANGUAGE="bn").content.decode()
    assert "১৫ মিনিটের" in page and "15 মিনিটের" not in page
    # The code itself is typed into a message: it stays in ASCII digits.
    assert re.search(r"data-link-code>\d{4} \d{4}<", page)
