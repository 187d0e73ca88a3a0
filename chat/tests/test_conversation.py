"""The daily cycle from the phone: each message goes through the same service as the page,
with its rules, its messages (in the sender's language) and its audit trail, and the reply
carries a reference, a time, a meeting point and someone to call, never cash or another
branch's details."""

from __future__ import annotations

import datetime
import json

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from chat.models import InboundMessage
from escorts.models import EscortRun, RunEntry, RunSign, RunWatch, SignKind, SignSource
from incidents.models import SosAlert
from lenders import services as lender_services
from lenders.models import Roster, RosterEntry
from lenders.tests.factories import EntryFactory
from notifications import services as notification_services
from notifications.models import Message
from stations.models import ChatContact, StationDay
from stations.stats import refresh

from .conftest import (
    EARLY,
    IST,
    TODAY,
    Morning,
    Phone,
    buttons_of,
    make_morning,
    post_signed,
    sms,
    text_of,
)

pytestmark = pytest.mark.django_db

LINK_MY_DAY = "http://testserver/station/debra/escorts/my-day/"


def _run(morning: Morning) -> EscortRun:
    with tenant_context(morning.station):
        return EscortRun.objects.get(pk=morning.run.pk)


def _template_buttons(morning: Morning, user, kind: str) -> dict[str, str]:
    """Deliver the user's WhatsApp message of `kind` to the fake Graph API, and read the
    quick-reply payloads its template carried: what a tap sends back."""
    with tenant_context(morning.station):
        message = Message.objects.get(recipient=user, channel="whatsapp", kind=kind)
        notification_services.message_deliver(message_pk=message.pk)
    sent = [b for b in morning_graph(morning) if b["type"] == "template"][-1]
    assert sent["template"]["name"] == f"{kind}_actions"
    return {
        component["index"]: component["parameters"][0].get("payload")
        or component["parameters"][0].get("text")
        for component in sent["template"]["components"]
        if component["type"] == "button"
    }


def morning_graph(morning: Morning) -> list[dict]:
    return morning.graph.whatsapp()  # type: ignore[attr-defined]


@pytest.fixture
def day(morning, graph):
    morning.graph = graph
    return morning


# --- The escort team's leader ---


def test_the_leader_runs_the_escort_from_the_buttons_alone(day, client, graph, clock):
    leader = Phone(client, Morning.LEADER)
    buttons = _template_buttons(day, day.leader, "sheet_published")
    assert buttons == {"0": f"ack:debra:run:{day.run.pk}"}
    template = graph.whatsapp(Morning.LEADER)[-1]["template"]
    parameters = [p["text"] for p in template["components"][0]["parameters"]]
    # Whole values: the DLT slot's 30 characters are no rule of WhatsApp's.
    assert parameters[5:] == ["ASI Tapas Maity", Morning.LEADER, LINK_MY_DAY]
    leader.tap_template(buttons["0"], "Acknowledge")
    assert _run(day).status == EscortRun.Status.ACKNOWLEDGED
    reply = graph.last(Morning.LEADER)
    assert f"run R{day.run.pk} acknowledged" in text_of(reply)
    assert "Debra bus stand" in text_of(reply) and "Arup Bag" in text_of(reply)

    leader.tap(buttons_of(reply)["Start"])
    assert _run(day).status == EscortRun.Status.STARTED
    reply = graph.last(Morning.LEADER)
    assert set(buttons_of(reply)) == {"Check in", "Complete"}

    leader.tap(buttons_of(reply)["Check in"])
    reply = graph.last(Morning.LEADER)
    assert f"run R{day.run.pk} checked in at" in text_of(reply)
    with tenant_context(day.station):
        sign = RunSign.objects.get(run=day.run, kind=SignKind.CHECK_IN)
    assert (sign.source, sign.by) == (SignSource.CHAT, day.leader)

    # Completing ends the escort for every agent on the run: asked once more, naming them.
    leader.tap(buttons_of(reply)["Complete"])
    assert _run(day).status == EscortRun.Status.STARTED
    reply = graph.last(Morning.LEADER)
    assert "Confirm that every agent reached the deposit point: Arup Bag." in text_of(reply)
    leader.tap(buttons_of(reply)["All reached"])
    run = _run(day)
    assert run.status == EscortRun.Status.COMPLETED
    assert run.status_changed_by == day.leader
    with tenant_context(day.station):
        assert not RunEntry.objects.filter(run=run, reached_at__isnull=True).exists()
    assert "completed" in text_of(graph.last(Morning.LEADER))


def test_a_leaders_location_on_a_run_under_way_is_one_check_in_with_the_position(
    day, client, graph, clock
):
    leader = Phone(client, Morning.LEADER)
    leader.text(f"START R{day.run.pk}")
    assert _run(day).status == EscortRun.Status.STARTED
    body = leader.body("location", latitude=22.3901, longitude=87.5402)
    for _delivery in range(2):  # WhatsApp delivers the same message twice now and then
        assert post_signed(client, body).status_code == 200
    with tenant_context(day.station):
        signs = list(RunSign.objects.filter(run=day.run, kind=SignKind.CHECK_IN))
        watch = RunWatch.objects.get(run=day.run)
    assert len(signs) == 1
    assert (float(signs[0].latitude), float(signs[0].longitude)) == (22.3901, 87.5402)
    assert (float(watch.latitude), float(watch.longitude)) == (22.3901, 87.5402)
    assert f"run R{day.run.pk} checked in at" in text_of(graph.last(Morning.LEADER))
    # Not an SOS: the leader is not a field agent in danger.
    with tenant_context(day.station):
        assert not SosAlert.objects.exists()


def test_checkin_typed_by_sms_checks_in_on_the_started_run(day, client, graph, clock):
    Phone(client, Morning.LEADER).text(f"START R{day.run.pk}")
    sms(client, Morning.LEADER, f"checkin r{day.run.pk}")
    with tenant_context(day.station):
        assert RunSign.objects.filter(run=day.run, kind=SignKind.CHECK_IN).count() == 1


def test_a_change_from_the_chat_is_in_the_audit_trail_as_the_senders_through_whatsapp(
    day, client, client_for
):
    Phone(client, Morning.LEADER).text(f"ACK R{day.run.pk}")
    with tenant_context(day.station):
        event = EscortRun.pgh_event_model.objects.filter(pgh_obj_id=day.run.pk).latest("pgh_id")
    assert event.status == EscortRun.Status.ACKNOWLEDGED
    assert event.pgh_context["user"] == day.leader.pk
    assert event.pgh_context["chat"] == "whatsapp"
    from stations.models import StationRole
    from stations.routing import station_reverse
    from stations.tests.factories import StationRoleFactory

    oc = StationRoleFactory(station=day.station, role=StationRole.Role.OFFICER_IN_CHARGE).user
    page = client_for(oc).get(station_reverse(day.station, "station:audit_trail"))
    assert "through WhatsApp" in page.content.decode()


def test_the_services_rules_and_messages_hold_in_the_chat(day, client, graph, clock):
    leader = Phone(client, Morning.LEADER)
    clock.move_to(datetime.datetime(2026, 12, 1, 8, 40, tzinfo=IST))
    leader.text(f"START R{day.run.pk}")
    assert _run(day).status == EscortRun.Status.PLANNED
    assert "It can be started from 09:00, in 0 h 20 min." in text_of(graph.last(Morning.LEADER))
    leader.text(f"DONE R{day.run.pk}")
    assert "A run that is planned cannot be marked completed." in text_of(
        graph.last(Morning.LEADER)
    )


def test_a_leader_cannot_act_on_another_teams_run(day, client, graph):
    leader = Phone(client, Morning.LEADER)
    leader.tap(f"ack:debra:run:{day.other_run.pk}")
    with tenant_context(day.station):
        assert EscortRun.objects.get(pk=day.other_run.pk).status == EscortRun.Status.PLANNED
    assert f"R{day.other_run.pk} is not one of your runs today." in text_of(
        graph.last(Morning.LEADER)
    )


def test_by_sms_the_leader_acknowledges_with_a_keyword_and_gets_a_dlt_reply(day, client, graph):
    assert sms(client, Morning.LEADER, f"ack r{day.run.pk}").status_code == 200
    assert _run(day).status == EscortRun.Status.ACKNOWLEDGED
    (reply,) = graph.sms(Morning.LEADER)
    assert reply["template_id"].startswith("1107")
    assert reply["message"].startswith(f"Escort Portal: run R{day.run.pk} acknowledged.")
    assert all(len(value) <= 30 for value in reply["variables"][:-1])
    assert reply["variables"][-1].endswith("/station/debra/escorts/my-day/")
    assert reply["reference"].startswith("chat-")


def test_a_long_refusal_reaches_an_sms_whole_over_its_slots(day, client, graph, clock):
    clock.move_to(datetime.datetime(2026, 12, 1, 8, 40, tzinfo=IST))
    sms(client, Morning.LEADER, f"START R{day.run.pk}")
    (reply,) = graph.sms(Morning.LEADER)
    assert "".join(reply["variables"]).startswith("This run starts at 10:00. It can be started")
    assert all(len(value) <= 30 for value in reply["variables"])


def test_with_two_runs_a_bare_ack_offers_a_list_and_the_choice_acts(day, client, graph):
    with tenant_context(day.station):
        second = EscortRun.objects.create(
            sheet=day.sheet,
            team=day.team,
            area=day.area,
            start=datetime.time(13, 0),
            end=datetime.time(14, 0),
        )
    leader = Phone(client, Morning.LEADER)
    leader.text("ACK")
    choices = buttons_of(graph.last(Morning.LEADER))
    assert graph.last(Morning.LEADER)["interactive"]["type"] == "list"
    assert set(choices) == {f"R{day.run.pk} 10:00", f"R{second.pk} 13:00"}
    leader.choose(choices[f"R{second.pk} 13:00"])
    with tenant_context(day.station):
        second.refresh_from_db()
    assert second.status == EscortRun.Status.ACKNOWLEDGED
    assert _run(day).status == EscortRun.Status.PLANNED


def test_status_gives_the_leader_their_next_run_with_its_buttons(day, client, graph):
    Phone(client, Morning.LEADER).text("status")
    reply = graph.last(Morning.LEADER)
    assert f"run R{day.run.pk} planned. 10:00-12:00, meet at Debra bus stand" in text_of(reply)
    assert set(buttons_of(reply)) == {"Acknowledge", "Start"}


# --- The lender manager ---


@pytest.fixture
def before_cutoff(debra, graph, eager, client):
    """07:45, before the 08:30 cut-off: yesterday's roster filed, today's not yet."""
    import time_machine

    with time_machine.travel(EARLY, tick=False) as traveller:
        with tenant_context(debra):
            day = make_morning(debra)
            yesterday = TODAY - datetime.timedelta(days=1)
            RosterEntry.objects.filter(roster__date=TODAY).delete()
            Roster.objects.filter(date=TODAY).delete()
            EntryFactory(
                roster__branch=day.branch,
                roster__date=yesterday,
                roster__status="locked",
                agent=day.agent,
                area=day.area,
                depart_at=datetime.time(10, 0),
                return_at=datetime.time(12, 0),
            )
            # An agent since deactivated: not copied, and the reply says why.
            gone = EntryFactory(
                roster__branch=day.branch,
                roster__date=yesterday,
                agent__branch=day.branch,
                agent__name="Bikash Jana",
                area=day.area,
                depart_at=datetime.time(11, 0),
                return_at=datetime.time(13, 0),
            )
            gone.agent.active = False
            gone.agent.save()
            lender_services.roster_reminders_send()
        day.graph = graph
        yield day, traveller


def test_same_as_last_time_from_the_reminder_copies_and_says_what_was_not(
    before_cutoff, client, graph
):
    day, _clock = before_cutoff
    buttons = _template_buttons(day, day.manager, "roster_reminder")
    assert buttons == {
        "0": f"copy:debra:roster:{day.branch.pk}:2026-12-01",
        "1": f"none:debra:roster:{day.branch.pk}:2026-12-01",
        "2": f"station/debra/lenders/branch/{day.branch.pk}/roster/2026-12-01/",
    }
    Phone(client, Morning.MANAGER).tap_template(buttons["0"], "Same as last time")
    with tenant_context(day.station):
        copied = list(RosterEntry.objects.filter(roster__date=TODAY).select_related("agent"))
    assert [entry.agent.name for entry in copied] == ["Arup Bag"]
    assert copied[0].created_by == day.manager
    text = text_of(graph.last(Morning.MANAGER))
    assert "roster for 01-12-2026: 1 trips copied, 1 not copied" in text
    assert "✓ Arup Bag" in text
    assert "✗ Bikash Jana · Malancha · 11:00-13:00: Choose an active field agent" in text


def test_no_collection_stops_the_station_waiting_for_the_roster(before_cutoff, client, graph):
    day, _clock = before_cutoff
    Phone(client, Morning.MANAGER).text("NONE")
    with tenant_context(day.station):
        roster = Roster.objects.get(branch=day.branch, date=TODAY)
        assert roster.no_collection and roster.filed_by == day.manager
        figures = refresh(date=TODAY)
        reminded_again = lender_services.roster_reminders_send()
    assert figures.rosters_missing == 1  # the other branch only
    assert reminded_again == 1
    assert "has no collection on 01-12-2026" in text_of(graph.last(Morning.MANAGER))


def test_no_collection_is_refused_with_trips_on_the_roster(before_cutoff, client, graph):
    Phone(client, Morning.MANAGER).text("COPY")
    Phone(client, Morning.MANAGER).text("NONE")
    assert "has 1 trips. Remove them first" in text_of(graph.last(Morning.MANAGER))


def test_after_the_cut_off_copy_goes_to_tomorrow(before_cutoff, client, graph):
    day, clock = before_cutoff
    clock.move_to(datetime.datetime(2026, 12, 1, 18, 0, tzinfo=IST))
    Phone(client, Morning.MANAGER).text("copy")
    with tenant_context(day.station):
        assert RosterEntry.objects.filter(roster__date=TODAY + datetime.timedelta(days=1)).exists()


def test_an_agent_cannot_file_the_roster_from_the_chat(before_cutoff, client, graph):
    day, _clock = before_cutoff
    Phone(client, Morning.AGENT).text("COPY")
    with tenant_context(day.station):
        assert not RosterEntry.objects.filter(roster__date=TODAY).exists()
    assert "does not allow this" in text_of(graph.last(Morning.AGENT))


def test_status_tells_the_manager_each_agents_escort_and_nothing_of_other_branches(
    day, client, graph
):
    Phone(client, Morning.MANAGER).text("STATUS")
    text = text_of(graph.last(Morning.MANAGER))
    assert f"escort R{day.run.pk} for Arup Bag on 01-12-2026 at 10:00-12:00" in text
    assert "meet at Debra bus stand" in text and "Contact ASI Tapas Maity +919434000001" in text
    assert "Sujit Das" not in text and "Radhamohanpur" not in text and "Ujjivan" not in text
    for cash in ("lakh", "Rs", "₹", "2l"):
        assert cash not in text


def test_a_trip_without_escort_at_a_station_without_a_phone_says_to_speak_to_the_station(
    day, client, graph
):
    with tenant_context(day.station):
        RunEntry.objects.filter(run=day.run).delete()
    day.station.phone = ""
    day.station.save()
    Phone(client, Morning.MANAGER).text("STATUS")
    text = text_of(graph.last(Morning.MANAGER))
    assert "no escort for Arup Bag on 01-12-2026" in text
    assert "Speak to the station before leaving." in text and "112" not in text
    day.manager.language = "bn"
    day.manager.save()
    Phone(client, Morning.MANAGER).text("STATUS")
    text = text_of(graph.last(Morning.MANAGER))
    assert "বেরোনোর আগে থানার সঙ্গে কথা বলুন।" in text and "112" not in text
    day.manager.language = "en"
    day.manager.save()
    day.station.phone = "+913222000000"
    day.station.save()
    Phone(client, Morning.MANAGER).text("STATUS")
    assert "Call the station on +913222000000 before leaving." in text_of(
        graph.last(Morning.MANAGER)
    )


# --- The field agent ---


def test_sos_from_the_chat_raises_it_for_the_current_trip_as_the_button_does(day, client, graph):
    Phone(client, Morning.AGENT).text("SOS robbers near the bridge")
    with tenant_context(day.station):
        alert = SosAlert.objects.get()
        assert alert.entry == day.entry and alert.raised_by == day.agent_user
        assert not alert.has_location
        officers = set(
            Message.objects.filter(kind="sos", channel="in_app").values_list(
                "recipient_id", flat=True
            )
        )
    assert day.duty.pk in officers
    assert f"SOS SOS-{alert.pk} raised" in text_of(graph.last(Morning.AGENT))
    # The location sent right after gives the same alert its position.
    Phone(client, Morning.AGENT).location(22.3891, 87.3312)
    with tenant_context(day.station):
        alert.refresh_from_db()
        assert SosAlert.objects.count() == 1
    assert (float(alert.latitude), float(alert.longitude)) == (22.3891, 87.3312)


def test_a_location_alone_raises_an_sos_with_the_position(day, client, graph):
    Phone(client, Morning.AGENT).location(22.3891, 87.3312)
    with tenant_context(day.station):
        alert = SosAlert.objects.get()
        message = Message.objects.filter(kind="sos").first()
    assert alert.has_location and alert.located_at is not None
    assert message.context["latitude"] == "22.389100"


def test_an_agent_who_shares_a_location_is_told_the_sos_has_it_not_asked_for_it(day, client, graph):
    Phone(client, Morning.AGENT).text("SOS")
    assert "Share your location" in text_of(graph.last(Morning.AGENT))
    Phone(client, Morning.AGENT).location(22.3891, 87.3312)
    with tenant_context(day.station):
        alert = SosAlert.objects.get()
    answer = text_of(graph.last(Morning.AGENT))
    assert f"SOS SOS-{alert.pk}, raised at" in answer and "has your location" in answer
    assert "Share your location" not in answer
    day.agent_user.language = "bn"
    day.agent_user.save()
    Phone(client, Morning.AGENT).location(22.3892, 87.3313)
    assert "আপনার লোকেশন" in text_of(graph.last(Morning.AGENT))


def test_the_bengali_word_for_danger_raises_an_sos_and_the_reply_is_in_bengali(day, client, graph):
    day.agent_user.language = "bn"
    day.agent_user.save()
    Phone(client, Morning.AGENT).text("বিপদ")
    with tenant_context(day.station):
        assert SosAlert.objects.count() == 1
    assert "এসকর্ট পোর্টাল: " in text_of(graph.last(Morning.AGENT))


def test_sos_without_a_trip_today_raises_nothing_and_says_whom_to_call(day, client, graph):
    day.station.phone = "03222-255100"
    day.station.save()
    Phone(client, Morning.MANAGER).text("SOS")
    with tenant_context(day.station):
        assert not SosAlert.objects.exists()
    assert "no SOS was raised. In danger call 112 or the station on 03222-255100." in text_of(
        graph.last(Morning.MANAGER)
    )


def test_sos_without_a_trip_at_a_station_without_a_phone_says_112_once(day, client, graph):
    day.station.phone = ""
    day.station.save()
    Phone(client, Morning.MANAGER).text("SOS")
    answer = text_of(graph.last(Morning.MANAGER))
    assert answer.endswith("no SOS was raised. In danger call 112.")
    assert answer.count("112") == 1
    day.manager.language = "bn"
    day.manager.save()
    Phone(client, Morning.MANAGER).text("SOS")
    answer = text_of(graph.last(Morning.MANAGER))
    assert answer.endswith("বিপদে 112-এ ফোন করুন।")
    assert answer.count("112") == 1


def test_status_tells_the_agent_their_own_escort(day, client, graph):
    Phone(client, Morning.AGENT).text("STATUS")
    text = text_of(graph.last(Morning.AGENT))
    assert "meet at Debra bus stand" in text and "Sujit Das" not in text


# --- Consent ---


def test_stop_ends_whatsapp_sends_at_once_and_start_brings_them_back(day, client, graph):
    leader = Phone(client, Morning.LEADER)
    with tenant_context(day.station):
        queued = Message.objects.get(recipient=day.leader, channel="whatsapp")
    leader.text("STOP")
    assert not ChatContact.objects.get(user=day.leader).whatsapp_consent
    assert "no more messages from us here" in text_of(graph.last(Morning.LEADER))
    sent_before = len(graph.whatsapp(Morning.LEADER))
    with tenant_context(day.station):
        # Already queued before STOP: not sent.
        notification_services.message_deliver(message_pk=queued.pk)
        queued.refresh_from_db()
        assert queued.status == Message.Status.FAILED
        # New ones are not even queued on WhatsApp.
        notification_services.message_queue(
            event="later",
            kind="run_overdue",
            recipients=[day.leader],
            context={"reference": "R1", "time": "10:00", "meeting_point": "x", "path": "/"},
        )
        assert not Message.objects.filter(event="later", channel="whatsapp").exists()
    assert len(graph.whatsapp(Morning.LEADER)) == sent_before
    leader.text("START")
    assert ChatContact.objects.get(user=day.leader).whatsapp_consent
    assert _run(day).status == EscortRun.Status.PLANNED  # START after STOP is not a run's start


def test_stop_by_sms_ends_the_portals_sms_to_that_number(day, client, graph):
    from notifications.backends.sms import HttpSmsBackend

    sms(client, Morning.MANAGER, "STOP")
    assert ChatContact.objects.get(user=day.manager).sms_stopped
    assert HttpSmsBackend().address(day.manager) == ""
    sms(client, Morning.MANAGER, "START")
    assert HttpSmsBackend().address(day.manager) == Morning.MANAGER


# --- The 24-hour window ---


def test_no_free_form_reply_goes_out_more_than_24_hours_after_the_persons_message(
    day, client, graph
):
    from chat import conversation
    from chat.payloads import Incoming

    late = timezone.now() - datetime.timedelta(hours=25)
    message = Incoming(
        channel="whatsapp", provider_id="wamid.late", phone=Morning.LEADER, kind="text", text="HELP"
    )
    InboundMessage.objects.all().delete()
    conversation.inbound_process(message=message, received_at=late)
    inbound = InboundMessage.objects.get(provider_id="wamid.late")
    assert inbound.reply_status == "failed" and "24 hours" in inbound.reply_error
    assert graph.whatsapp(Morning.LEADER) == []


def test_help_lists_what_can_be_sent_with_a_status_button(day, client, graph):
    Phone(client, Morning.MANAGER).text("what can I do?")
    reply = graph.last(Morning.MANAGER)
    assert "send STATUS" in text_of(reply) and set(buttons_of(reply)) == {"Status"}
    Phone(client, Morning.MANAGER).tap(buttons_of(reply)["Status"])
    assert "Arup Bag" in text_of(graph.last(Morning.MANAGER))


def test_a_photo_or_voice_note_gets_the_help(day, client, graph):
    phone = Phone(client, Morning.MANAGER)
    body = json.loads(phone.body("text", text="x"))
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    del message["text"]
    message.update(type="image", image={"id": "1", "mime_type": "image/jpeg"})
    from .conftest import post_signed

    post_signed(client, json.dumps(body).encode())
    assert "send STATUS" in text_of(graph.last(Morning.MANAGER))


def test_the_dashboard_counts_the_chats_changes_like_the_pages(day, client):
    Phone(client, Morning.LEADER).text(f"ACK R{day.run.pk}")
    with tenant_context(day.station):
        refresh(date=TODAY)
    assert StationDay.objects.get(station=day.station, date=TODAY).runs_acknowledged == 1


def test_status_gives_the_duty_officer_the_days_sheet(day, client, graph):
    from .conftest import link

    link(day.duty, "+919733000500")
    Phone(client, "+919733000500").text("STATUS")
    text = text_of(graph.last("+919733000500"))
    assert "Debra, 01-12-2026: sheet published, 2 runs, 0 acknowledged, 0 SOS open." in text


def test_a_refusal_reaches_a_bengali_reader_in_bengali(day, client, graph):
    day.leader.language = "bn"
    day.leader.save()
    Phone(client, Morning.LEADER).text(f"DONE R{day.run.pk}")
    text = text_of(graph.last(Morning.LEADER))
    assert text.startswith("এসকর্ট পোর্টাল: করা হয়নি।")
    assert "cannot" not in text


def test_a_bengali_readers_refusal_keeps_its_times_in_ascii_digits(day, client, graph, clock):
    day.leader.language = "bn"
    day.leader.save()
    clock.move_to(datetime.datetime(2026, 12, 1, 8, 40, tzinfo=IST))
    Phone(client, Morning.LEADER).text(f"START R{day.run.pk}")
    text = text_of(graph.last(Morning.LEADER))
    assert "এই রান 10:00-এ শুরু। এটি 09:00 থেকে শুরু করা যাবে, আর 0 ঘণ্টা 20 মিনিট পরে।" in text
