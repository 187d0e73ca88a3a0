"""The watch over today's runs: check-in timers, amber and red, the station's ladder told once
per spell and in order, check-ins and positions accepted once per key, completion agent by
agent, and what the dashboard, the agent and retention make of it."""

from __future__ import annotations

import datetime
import re

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from escorts import services, stats, watch
from escorts.models import (
    DutySheet,
    EscortRun,
    EscortTeam,
    Officer,
    RunEntry,
    RunEscalation,
    RunSign,
    RunWatch,
)
from escorts.selectors import escort_words_for_entry, live_board
from escorts.tests.conftest import IST, TODAY, entry
from escorts.tests.factories import OfficerFactory, TeamFactory
from lenders.tests.factories import AreaFactory
from notifications.models import Message
from stations.models import Station, StationRole, SubdivisionRole
from stations.routing import station_reverse
from stations.tests.factories import StationRoleFactory, SubdivisionRoleFactory, UserFactory

pytestmark = pytest.mark.django_db

MINUTE = datetime.timedelta(minutes=1)


def at(clock_time: str) -> datetime.datetime:
    return datetime.datetime.combine(TODAY, datetime.time.fromisoformat(clock_time), tzinfo=IST)


@pytest.fixture
def people(station):
    """Who stands on Debra's ladder: a leader with a login and a phone, a duty officer, the
    OC and the SDPO, each with their own language."""
    leader_user = UserFactory(username="leader-tapas", phone="+919434000001")
    StationRoleFactory(station=station, user=leader_user, role=StationRole.Role.ESCORT_OFFICER)
    leader = OfficerFactory(name="Tapas Maity", user=leader_user)
    return {
        "leader": leader,
        "duty": StationRoleFactory(station=station, role=StationRole.Role.DUTY_OFFICER).user,
        "oc": StationRoleFactory(station=station, role=StationRole.Role.OFFICER_IN_CHARGE).user,
        "sdpo": SubdivisionRoleFactory(
            subdivision=station.subdivision, role=SubdivisionRole.Role.SDPO
        ).user,
    }


@pytest.fixture
def run_at(station, people, clock):
    """A run of today's published sheet for the leader's team, from `start`, in `status`."""
    sheet = DutySheet.objects.create(
        date=TODAY,
        version=1,
        origin=DutySheet.Origin.CUTOFF,
        build_status=DutySheet.Build.DONE,
        status=DutySheet.Status.PUBLISHED,
        published_at=at("08:45"),
    )
    team = TeamFactory(name="Alpha", leader=people["leader"])
    area = AreaFactory(name="Malancha", latitude=22.31, longitude=87.51)

    def make(start: str = "10:00", status: str = EscortRun.Status.PLANNED, **times) -> EscortRun:
        run = EscortRun.objects.create(
            sheet=sheet,
            team=team,
            area=area,
            start=datetime.time.fromisoformat(start),
            end=datetime.time(12, 0),
            status=status,
            **times,
        )
        for agent_start in ("10:00", "10:30"):
            RunEntry.objects.create(
                sheet=sheet, run=run, entry=entry(area=area, start=agent_start, end="11:45")
            )
        return run

    return make


def told(run: EscortRun) -> list[tuple[str, str, str]]:
    return list(
        RunEscalation.objects.filter(run=run).order_by("pk").values_list("rung", "stage", "reason")
    )


def inbox(people) -> list[tuple[str, str]]:
    """Who was told what, in the outbox's order (its rows are written rung after rung)."""
    names = {user.pk: name for name, user in people.items() if name != "leader"}
    names[people["leader"].user_id] = "leader"
    rows = Message.objects.order_by("pk").values_list("recipient_id", "channel", "kind")
    return [(names[who], f"{channel}:{kind}") for who, channel, kind in rows]


def test_a_silent_started_run_goes_amber_then_red_and_each_rung_hears_once_in_order(
    run_at, people, clock
):
    run = run_at(status=EscortRun.Status.STARTED, started_at=at("10:00"))
    clock.move_to(at("10:19"))
    assert services.runs_escalate() == 0
    clock.move_to(at("10:20"))  # the check-in interval: 20 minutes
    assert services.runs_escalate() == 3
    assert services.runs_escalate() == 0  # however often the minute job looks
    clock.move_to(at("10:30"))  # ten minutes later: red
    assert services.runs_escalate() == 2
    clock.move_to(at("11:30"))
    assert services.runs_escalate() == 0

    # No SMS gateway here, so the leader's phone rung is told with no message, but told.
    assert told(run) == [
        ("leader_app", "amber", "silent"),
        ("leader_phone", "amber", "silent"),
        ("duty_officer", "amber", "silent"),
        ("oc", "red", "silent"),
        ("sdpo", "red", "silent"),
    ]
    assert inbox(people) == [
        ("leader", "in_app:run_silent"),
        ("duty", "in_app:run_silent"),
        ("duty", "email:run_silent"),
        ("oc", "in_app:run_silent"),
        ("oc", "email:run_silent"),
        ("sdpo", "in_app:run_silent"),
        ("sdpo", "email:run_silent"),
    ]
    leader_message = Message.objects.get(recipient=people["leader"].user)
    assert leader_message.context["path"].endswith("/escorts/my-day/")
    assert leader_message.context["minutes"] == "20"
    red = Message.objects.get(recipient=people["oc"], channel="in_app")
    assert red.context["minutes"] == "30" and red.context["since"] == "10:00"
    assert red.urgent and red.context["path"].endswith("/escorts/live/")


def test_any_sign_of_life_starts_a_new_spell_so_red_never_becomes_normal(run_at, people, clock):
    run = run_at(status=EscortRun.Status.STARTED, started_at=at("10:00"))
    clock.move_to(at("10:21"))
    services.runs_escalate()
    result = services.run_check_in(run=run, by=people["leader"].user, key="tap-1")
    assert result.created
    state = services._state(run, timezone.now())
    assert state.stage == watch.OK and state.check_in_by == at("10:41")
    clock.move_to(at("10:40"))
    assert services.runs_escalate() == 0
    clock.move_to(at("10:52"))  # silent again, past red: the new spell climbs the whole ladder
    assert services.runs_escalate() == 5
    spells = set(RunEscalation.objects.filter(run=run).values_list("spell", flat=True))
    assert len(spells) == 2


def test_a_run_not_acknowledged_then_not_started_climbs_one_ladder_once(run_at, people, clock):
    run = run_at(start="10:00")
    clock.move_to(at("09:29"))
    assert services.runs_escalate() == 0
    clock.move_to(at("09:30"))  # 30 minutes before the start: not acknowledged
    assert services.runs_escalate() == 3
    clock.move_to(at("10:15"))  # the start grace: not started
    assert services.runs_escalate() == 2
    assert told(run) == [
        ("leader_app", "amber", "not_acknowledged"),
        ("leader_phone", "amber", "not_acknowledged"),
        ("duty_officer", "amber", "not_acknowledged"),
        ("oc", "red", "not_started"),
        ("sdpo", "red", "not_started"),
    ]
    kinds = Message.objects.order_by("pk").values_list("kind", flat=True)
    assert list(dict.fromkeys(kinds)) == ["run_not_acknowledged", "run_overdue"]


def test_an_acknowledged_run_never_started_tells_every_rung_once_in_order(run_at, people, clock):
    run = run_at(start="10:00", status=EscortRun.Status.ACKNOWLEDGED)
    clock.move_to(at("10:16"))
    assert services.runs_escalate() == 5
    assert [rung for rung, _stage, _reason in told(run)] == [
        "leader_app",
        "leader_phone",
        "duty_officer",
        "oc",
        "sdpo",
    ]
    assert {reason for _rung, _stage, reason in told(run)} == {"not_started"}


def test_the_ladder_is_the_stations_and_the_leaders_phone_rung_uses_the_phone_alone(
    station, run_at, people, clock, settings
):
    settings.SMS_GATEWAY_URL = "http://127.0.0.1:9/sms"  # nothing is sent: delivery is on commit
    Station.objects.filter(pk=station.pk).update(
        ladder_leader_app="amber", ladder_leader_phone="red", ladder_duty_officer="red",
        ladder_oc="off", ladder_sdpo="off",
    )  # fmt: skip
    station.refresh_from_db()
    run = run_at(status=EscortRun.Status.STARTED, started_at=at("10:00"))
    clock.move_to(at("10:31"))
    services.runs_escalate()
    assert [rung for rung, _stage, _reason in told(run)] == [
        "leader_app",
        "leader_phone",
        "duty_officer",
    ]
    leader_channels = Message.objects.filter(recipient=people["leader"].user).values_list(
        "event", "channel"
    )
    assert sorted(channel for _event, channel in leader_channels) == ["in_app", "sms"]
    assert not Message.objects.filter(recipient__in=[people["oc"], people["sdpo"]]).exists()


def test_a_ladder_that_steps_back_is_refused(station):
    station.ladder_duty_officer = "red"
    station.ladder_oc = "amber"
    with pytest.raises(ValidationError, match="climbed in order"):
        station.full_clean()
    station.ladder_duty_officer = "off"
    station.full_clean()


def test_check_ins_and_positions_are_accepted_once_per_key(run_at, people, clock):
    run = run_at(status=EscortRun.Status.STARTED, started_at=at("10:00"))
    leader = people["leader"].user
    clock.move_to(at("10:05"))
    first = services.run_position_record(
        run=run, by=leader, key="ping-1", latitude="22.3301", longitude="87.5123", accuracy_m=12
    )
    again = services.run_position_record(
        run=run, by=leader, key="ping-1", latitude="22.3301", longitude="87.5123", accuracy_m=12
    )
    assert first.created and not again.created and again.sign.pk == first.sign.pk
    # A check-in queued offline at 10:02 arrives later: older than the position, it moves the
    # last sign of life no further back, and keeps the newer position.
    services.run_check_in(
        run=run, by=leader, key="tap-1", at=at("10:02"), latitude="22.2", longitude="87.4"
    )
    services.run_check_in(run=run, by=leader, key="tap-1")
    kept = RunWatch.objects.get(run=run)
    assert kept.last_sign_at == at("10:05") and kept.last_sign == "position"
    assert (str(kept.latitude), str(kept.longitude), kept.accuracy_m) == (
        "22.330100",
        "87.512300",
        12,
    )
    assert RunSign.objects.filter(run=run).count() == 2
    # A sign dated after its arrival is dated at its arrival.
    services.run_check_in(run=run, by=leader, key="tap-2", at=at("23:00"))
    assert RunSign.objects.get(key="tap-2").at == at("10:05")


def test_a_check_in_needs_a_started_run_of_today_and_a_position_needs_coordinates(
    run_at, people, clock
):
    waiting = run_at(start="10:00")
    with pytest.raises(ValidationError, match="Start the run first"):
        services.run_check_in(run=waiting, by=people["leader"].user, key="k1")
    started = run_at(start="11:00", status=EscortRun.Status.STARTED, started_at=at("09:00"))
    for latitude, longitude in [("95", "87.5"), ("nan", "87.5"), ("22.3", "inf"), ("x", "1")]:
        with pytest.raises(ValidationError, match="not a pair of coordinates"):
            services.run_position_record(
                run=started, by=None, key="k2", latitude=latitude, longitude=longitude
            )
    with pytest.raises(ValidationError, match="key"):
        services.run_check_in(run=started, by=None, key="")
    assert not RunSign.objects.exists()


def test_completing_needs_every_agent_confirmed_at_the_deposit_point(run_at, people, clock):
    run = run_at(status=EscortRun.Status.STARTED, started_at=at("09:00"))
    links = list(RunEntry.objects.filter(run=run).select_related("entry__agent"))
    leader = people["leader"].user
    with pytest.raises(ValidationError, match=links[1].entry.agent.name):
        services.run_set_status(
            run=run, status=EscortRun.Status.COMPLETED, by=leader, reached=[links[0].entry_id]
        )
    services.run_set_status(
        run=run,
        status=EscortRun.Status.COMPLETED,
        by=leader,
        reached=[link.entry_id for link in links],
    )
    assert set(RunEntry.objects.filter(run=run).values_list("reached_by", flat=True)) == {leader.pk}
    words = escort_words_for_entry(entry=links[0].entry)
    assert "reached the deposit point at 09:00" in words.text


def test_the_agent_is_told_the_escorts_state_in_words_never_the_track(run_at, people, clock):
    run = run_at(status=EscortRun.Status.ACKNOWLEDGED)
    agent_entry = RunEntry.objects.filter(run=run).first().entry
    assert escort_words_for_entry(entry=agent_entry).text == (
        "Escort confirmed: Alpha meets you at 10:00 at Malancha."
    )
    run.status, run.started_at = EscortRun.Status.STARTED, at("09:00")
    run.save()
    leader = people["leader"].user
    services.run_position_record(run=run, by=leader, key="far", latitude="22.50", longitude="87.5")
    assert escort_words_for_entry(entry=agent_entry).text == "Escort on the way."
    clock.move_to(at("09:05"))
    services.run_position_record(
        run=run, by=leader, key="near", latitude="22.3105", longitude="87.5102"
    )
    words = escort_words_for_entry(entry=agent_entry)
    assert words.text == "Escort with you."
    clock.move_to(at("09:17"))
    assert escort_words_for_entry(entry=agent_entry).last_seen_minutes == 12
    clock.move_to(at("09:26"))
    words = escort_words_for_entry(entry=agent_entry)
    assert words.text == "Escort last seen 21 min ago. The station has been told."
    assert "22.31" not in words.text and "87.51" not in words.text


def test_the_live_board_puts_red_first_with_last_position_and_its_age(run_at, people, clock):
    quiet = run_at(start="10:00", status=EscortRun.Status.STARTED, started_at=at("09:50"))
    silent = run_at(start="10:30", status=EscortRun.Status.STARTED, started_at=at("09:00"))
    done = run_at(start="11:00", status=EscortRun.Status.COMPLETED)
    clock.move_to(at("09:50"))
    services.run_position_record(
        run=quiet, by=None, key="p", latitude="22.33", longitude="87.51", accuracy_m=15
    )
    clock.move_to(at("09:58"))
    board = live_board()
    assert [row.run.pk for row in board.runs] == [silent.pk, quiet.pk]
    assert [row.state.stage for row in board.runs] == ["red", "ok"]
    assert board.red == 1 and board.amber == 0 and board.finished == 1
    assert board.runs[1].position_age_minutes == 8
    assert done.pk not in [row.run.pk for row in board.runs]


def test_the_dashboard_counts_red_and_amber_runs(run_at, people, clock):
    run_at(start="10:00", status=EscortRun.Status.STARTED, started_at=at("09:00"))
    run_at(start="10:30", status=EscortRun.Status.STARTED, started_at=at("09:20"))
    run_at(start="11:00")
    clock.move_to(at("09:40"))
    figures = stats.figures(TODAY)
    assert (figures["runs_red"], figures["runs_amber"]) == (1, 1)
    clock.move_to(at("10:31"))  # the third is not acknowledged and past its start
    figures = stats.figures(TODAY)
    assert (figures["runs_red"], figures["runs_amber"]) == (2, 1)


def test_a_tick_as_of_a_moment_escalates_and_stores_the_next_stage(run_at, people, clock):
    run_at(status=EscortRun.Status.STARTED, started_at=at("10:00"))
    services.station_tick(now=at("10:20"))
    from stations.models import StationJobDue

    due = StationJobDue.objects.get(station=connection.tenant, job=services.TICK_JOB)
    assert due.due_at == at("10:30")
    assert RunEscalation.objects.count() == 3


def test_retention_takes_the_track_and_the_last_positions_of_old_days(run_at, people, clock):
    run = run_at(status=EscortRun.Status.STARTED, started_at=at("09:00"))
    services.run_position_record(run=run, by=None, key="p1", latitude="22.3", longitude="87.5")
    assert services.run_signs_purge(before=at("09:00"), dry_run=True) == 0
    later = at("09:00") + datetime.timedelta(days=91)
    assert services.run_signs_purge(before=later, dry_run=True) == 1
    assert services.run_signs_purge(before=later) == 1
    assert not RunSign.objects.exists()
    assert RunWatch.objects.get(run=run).latitude is None


# --- The pages ---


def url(name: str, *args) -> str:
    return station_reverse(connection.tenant, name, *args)


JSON = {"HTTP_ACCEPT": "application/json"}


def test_the_leaders_day_shows_the_timer_check_in_and_completion_agent_by_agent(
    run_at, people, client_for, clock
):
    run = run_at(status=EscortRun.Status.STARTED, started_at=at("09:00"))
    client = client_for(people["leader"].user)
    page = client.get(url("escorts:my_day")).content.decode()
    assert "Next check-in due by 09:20." in page
    assert url("escorts:my_run_check_in", run.pk) in page
    assert f'data-position-url="{url("escorts:my_run_position", run.pk)}"' in page
    assert page.count('name="reached"') == 2 and "Yes, complete the run" in page
    assert 'rel="manifest"' in page and "field/queue.js" in page
    clock.move_to(at("09:31"))
    page = client.get(url("escorts:my_day")).content.decode()
    assert 'data-stage="red"' in page and "No check-in for 31 min (since 09:00)." in page
    # A member of the team checks in too, but only the leader's phone sends positions.
    member = OfficerFactory(user=UserFactory())
    StationRoleFactory(station=connection.tenant, user=member.user, role="escort")
    run.team.members.add(member)
    page = client_for(member.user).get(url("escorts:my_day")).content.decode()
    assert url("escorts:my_run_check_in", run.pk) in page and "data-position-url" not in page
    assert (
        client_for(member.user)
        .post(url("escorts:my_run_position", run.pk), {"key": "m", "latitude": 22, "longitude": 87})
        .status_code
        == 404
    )


def test_a_check_in_sent_twice_with_its_key_is_kept_once_and_answered_alike(
    run_at, people, client_for, clock
):
    run = run_at(status=EscortRun.Status.STARTED, started_at=at("09:00"))
    client = client_for(people["leader"].user)
    clock.move_to(at("09:12"))
    post = {"made_ms": str(int(at("09:10").timestamp() * 1000)), "latitude": "22.31"}
    post["longitude"] = "87.51"
    first = client.post(
        url("escorts:my_run_check_in", run.pk), post, HTTP_IDEMPOTENCY_KEY="k-1", **JSON
    )
    again = client.post(
        url("escorts:my_run_check_in", run.pk), post, HTTP_IDEMPOTENCY_KEY="k-1", **JSON
    )
    assert first.status_code == again.status_code == 200
    assert first.json()["message"] == ("Checked in at 09:10. The next check-in is due in 20 min.")
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    sign = RunSign.objects.get(run=run)
    assert (sign.key, sign.kind, sign.at, sign.by) == (
        "k-1",
        "check_in",
        at("09:10"),
        people["leader"].user,
    )
    # Without the script, the form's one-time token is the key.
    token = "5f0f7f3a-3a9e-4a8f-9d7e-7f0d2a4c1b11"
    for _ in range(2):
        answer = client.post(url("escorts:my_run_check_in", run.pk), {"submission_token": token})
        assert answer.status_code == 302
    assert RunSign.objects.filter(run=run).count() == 2


def test_a_rule_broken_by_a_queued_action_is_answered_not_replayed_as_done(
    run_at, people, client_for
):
    run = run_at(status=EscortRun.Status.STARTED, started_at=at("09:00"))
    client = client_for(people["leader"].user)
    answer = client.post(
        url("escorts:my_run_action", run.pk, "complete"),
        {"confirmed": "yes"},
        HTTP_IDEMPOTENCY_KEY="c-1",
        **JSON,
    )
    assert answer.status_code == 422 and not answer.json()["ok"]
    assert "Confirm that every agent reached the deposit point" in answer.json()["message"]
    run.refresh_from_db()
    assert run.status == EscortRun.Status.STARTED


def test_the_position_ping_is_a_few_queries_and_refuses_other_teams(
    run_at, people, client_for, django_assert_max_num_queries, clock
):
    run = run_at(status=EscortRun.Status.STARTED, started_at=at("09:00"))
    other = run_at(start="11:00", status=EscortRun.Status.STARTED, started_at=at("09:00"))
    other.team = TeamFactory(name="Bravo")
    other.save()
    client = client_for(people["leader"].user)
    ping = {"key": "p-1", "latitude": "22.31", "longitude": "87.51", "accuracy_m": "9"}
    client.post(url("escorts:my_run_position", run.pk), {**ping, "key": "p-0"})
    # Eleven in production; the test's transaction adds a savepoint and its release.
    with django_assert_max_num_queries(13):
        answer = client.post(url("escorts:my_run_position", run.pk), ping)
    assert answer.json() == {
        "ok": True,
        "created": True,
        "message": f"Position sent at {timezone.localtime():%H:%M}, within 9 m.",
    }
    assert client.post(url("escorts:my_run_position", other.pk), ping).status_code == 404
    assert RunWatch.objects.get(run=run).accuracy_m == 9


def test_the_leader_reads_when_the_position_went_in_the_stations_time_and_own_digits(
    run_at, people, client_for, clock
):
    run = run_at(status=EscortRun.Status.STARTED, started_at=at("09:00"))
    leader = people["leader"].user
    leader.language = "bn"
    leader.save()
    ping = {"key": "p-bn", "latitude": "22.31", "longitude": "87.51", "accuracy_m": "25"}
    answer = client_for(leader).post(url("escorts:my_run_position", run.pk), ping).json()
    shown = f"{timezone.localtime():%H:%M}".translate(str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯"))
    assert answer["message"] == f"অবস্থান পাঠানো হয়েছে {shown}-এ, ২৫ মিটারের মধ্যে।"


def test_the_live_board_and_its_map_for_the_duty_officer_and_the_sdpo_only(
    station, run_at, people, client_for, clock
):
    run = run_at(status=EscortRun.Status.STARTED, started_at=at("08:50"))
    services.run_position_record(
        run=run, by=None, key="p", latitude="22.3301", longitude="87.5123", accuracy_m=20
    )
    clock.move_to(at("09:05"))
    duty = client_for(people["duty"])
    page = duty.get(url("escorts:live")).content.decode()
    assert f'data-live-run="{run.pk}" data-stage="ok"' in page
    assert "Last position 22.330100, 87.512300 (within 20 m), 5 min ago." in page
    assert "<svg" in page and 'class="map-run-ok"' in page and "Malancha" in page
    assert "<script>" not in page and 'src="/static/escorts/live.js"' in page
    fragment = duty.get(url("escorts:live") + "?fragment=1").content.decode()
    assert "<html" not in fragment and f'data-live-run="{run.pk}"' in fragment
    assert "img-src 'self' data:" in duty.get(url("escorts:live"))["Content-Security-Policy"]
    assert client_for(people["sdpo"]).get(url("escorts:live")).status_code == 200
    assert client_for(people["leader"].user).get(url("escorts:live")).status_code == 404

    Station.objects.filter(pk=station.pk).update(
        map_tile_url="https://tiles.example.org/{z}/{x}/{y}.png"
    )
    answer = duty.get(url("escorts:live"))
    assert "https://tiles.example.org" in answer["Content-Security-Policy"]
    assert '<image href="https://tiles.example.org/' in answer.content.decode()


def test_a_bengali_live_board_writes_its_times_and_counts_in_bengali_digits_but_not_coordinates(
    run_at, people, client_for, clock
):
    quiet = run_at(start="10:00", status=EscortRun.Status.STARTED, started_at=at("09:50"))
    run_at(start="10:30", status=EscortRun.Status.STARTED, started_at=at("09:00"))
    run_at(start="11:00", status=EscortRun.Status.COMPLETED)
    clock.move_to(at("09:50"))
    services.run_position_record(
        run=quiet, by=None, key="p", latitude="22.33", longitude="87.51", accuracy_m=15
    )
    clock.move_to(at("09:58"))
    duty = people["duty"]
    duty.language = "bn"
    duty.save()
    board = client_for(duty).get(url("escorts:live") + "?fragment=1").content.decode()
    assert "data-count-red>১</div>" in board
    assert "data-count-amber>০</div>" in board  # noqa: RUF001
    assert f"R{quiet.pk} · ১০:০০-১২:০০ · " in board  # noqa: RUF001
    assert "(১৫ মিটারের মধ্যে), ৮ মিনিট আগে" in board
    assert "৫৮ মিনিট কোনো সাড়া নেই (০৯:০০ থেকে)" in board  # noqa: RUF001
    assert "আজ ১টি রান শেষ হয়েছে।" in board
    assert not re.findall(r"[0-9]{1,2}:[0-9]{2}", board), "a time in ASCII digits"
    # Coordinates stay as maps and phones read them, in the text and in the links.
    assert "শেষ অবস্থান 22.330000, 87.510000" in board and "geo:22.330000,87.510000" in board

    duty.language = "en"
    duty.save()
    board = client_for(duty).get(url("escorts:live") + "?fragment=1").content.decode()
    assert f"R{quiet.pk} · 10:00-12:00 · " in board and "data-count-red>1</div>" in board
    assert "No sign of life for 58 min (since 09:00)." in board
    assert "1 run finished today." in board


def test_a_bengali_live_boards_map_scale_is_in_bengali(run_at, people, client_for, clock):
    run = run_at(status=EscortRun.Status.STARTED, started_at=at("08:50"))
    services.run_position_record(
        run=run, by=None, key="p", latitude="22.3301", longitude="87.5123", accuracy_m=20
    )
    duty = people["duty"]
    duty.language = "bn"
    duty.save()
    board = client_for(duty).get(url("escorts:live") + "?fragment=1").content.decode()
    scale = re.search(r'<g class="map-scale">.*?<text[^>]*>([^<]*)</text>', board).group(1)
    assert re.fullmatch(r"[০-৯]+ (কিমি|মিটার)", scale), scale  # noqa: RUF001


def test_the_agents_trip_page_says_where_the_escort_is_in_words(run_at, people, client_for, clock):
    from lenders.tests.factories import MemberFactory

    run = run_at(status=EscortRun.Status.STARTED, started_at=at("08:55"))
    trip = RunEntry.objects.filter(run=run).first().entry
    agent = MemberFactory(branch=trip.roster.branch, role="agent", agent=trip.agent).user
    services.run_position_record(run=run, by=None, key="p", latitude="22.3330", longitude="87.5123")
    page = client_for(agent).get(url("incidents:my_trips")).content.decode()
    assert "Escort on the way." in page and "22.333" not in page and "87.51" not in page
    assert "data-cache-page" in page and 'rel="manifest"' in page


def test_a_bengali_leader_and_agent_read_the_check_in_and_the_escorts_silence_in_bengali_digits(
    run_at, people, client_for, clock
):
    from lenders.tests.factories import MemberFactory

    run = run_at(status=EscortRun.Status.STARTED, started_at=at("09:00"))
    leader = people["leader"].user
    leader.language = "bn"
    leader.save()
    clock.move_to(at("09:05"))
    post = {"made_ms": str(int(at("09:05").timestamp() * 1000)), "latitude": "22.31"}
    post["longitude"] = "87.51"
    answer = client_for(leader).post(
        url("escorts:my_run_check_in", run.pk), post, HTTP_IDEMPOTENCY_KEY="k-1", **JSON
    )
    assert answer.json()["message"] == "০৯:০৫-এ চেক-ইন হয়েছে। পরের চেক-ইন ২০ মিনিটের মধ্যে।"
    trip = RunEntry.objects.filter(run=run).first().entry
    agent = MemberFactory(branch=trip.roster.branch, role="agent", agent=trip.agent).user
    agent.language = "bn"
    agent.save()
    clock.move_to(at("09:26"))
    page = client_for(agent).get(url("incidents:my_trips")).content.decode()
    assert "এসকর্টের শেষ খবর ২১ মিনিট আগে। থানাকে জানানো হয়েছে।" in page


def test_the_agent_reads_the_escorts_meeting_time_reaching_time_and_silence_in_page_numerals(
    run_at, people, client_for, clock
):
    from lenders.tests.factories import MemberFactory

    run = run_at(status=EscortRun.Status.ACKNOWLEDGED)
    link = RunEntry.objects.filter(run=run).select_related("entry__agent").first()
    agent = MemberFactory(branch=link.entry.roster.branch, role="agent", agent=link.entry.agent)
    agent = agent.user

    def words(language: str) -> str:
        agent.language = language
        agent.save()
        page = client_for(agent).get(url("incidents:my_trips")).content.decode()
        return re.search(r"data-escort-state>(.*?)</p>", page, re.S)[1].strip()

    assert words("bn") == "এসকর্ট নিশ্চিত: Alpha আপনার সঙ্গে ১০:০০-এ Malancha-এ দেখা করবে।"  # noqa: RUF001
    assert words("en") == "Escort confirmed: Alpha meets you at 10:00 at Malancha."
    run.status, run.started_at = EscortRun.Status.STARTED, at("09:00")
    run.save()
    services.run_position_record(run=run, by=None, key="p", latitude="22.50", longitude="87.5")
    clock.move_to(at("09:12"))
    assert words("bn") == "এসকর্ট পথে আছে। শেষ খবর ১২ মিনিট আগে।"
    assert words("en") == "Escort on the way. Last seen 12 min ago."
    RunEntry.objects.filter(pk=link.pk).update(reached_at=at("11:40"))
    assert words("bn") == "আপনি এসকর্টের সঙ্গে ১১:৪০-এ জমার জায়গায় পৌঁছেছেন।"  # noqa: RUF001
    assert words("en") == "You reached the deposit point at 11:40, with the escort."


def test_an_sos_from_the_queue_is_raised_once_and_the_page_offers_the_sms_fallback(
    station, run_at, people, client_for, clock
):
    from incidents.models import SosAlert
    from lenders.tests.factories import MemberFactory

    Station.objects.filter(pk=station.pk).update(sos_sms_number="+919800000100")
    run = run_at(status=EscortRun.Status.STARTED, started_at=at("08:55"))
    trip = RunEntry.objects.filter(run=run).first().entry
    agent = client_for(
        MemberFactory(branch=trip.roster.branch, role="agent", agent=trip.agent).user
    )
    page = agent.get(url("incidents:sos", trip.pk)).content.decode()
    assert 'data-number="+919800000100"' in page and 'href="sms:+919800000100"' in page
    assert f"T{trip.pk}" in page and "data-sos" in page
    sos = {"latitude": "22.31", "longitude": "87.51", "accuracy_m": "30"}
    first = agent.post(url("incidents:sos", trip.pk), sos, HTTP_IDEMPOTENCY_KEY="s-1", **JSON)
    again = agent.post(url("incidents:sos", trip.pk), sos, HTTP_IDEMPOTENCY_KEY="s-1", **JSON)
    assert first.json()["ok"] and again.json() == first.json()
    assert SosAlert.objects.count() == 1


def test_the_oc_sets_the_watch_and_the_ladder_must_be_climbed_in_order(station, people, client_for):
    form = {
        "roster_cutoff": "08:30", "planner_seconds": 10, "default_speed_kmph": 25,
        "reminder_lead_minutes": 60, "retention_days": 90, "check_in_minutes": 15,
        "amber_to_red_minutes": 5, "acknowledge_lead_minutes": 45, "start_grace_minutes": 10,
        "ladder_leader_app": "amber", "ladder_leader_phone": "amber",
        "ladder_duty_officer": "red", "ladder_oc": "amber", "ladder_sdpo": "off",
        "sos_sms_number": "+919800000100", "map_tile_url": "",
    }  # fmt: skip
    oc = client_for(people["oc"])
    refused = oc.post(url("escorts:settings"), form)
    assert refused.status_code == 200 and "climbed in order" in refused.content.decode()
    form["ladder_oc"] = "red"
    form["map_tile_url"] = "http://tiles.example.org/{z}/{x}/{y}.png"
    refused = oc.post(url("escorts:settings"), form)
    assert "starts with https://" in refused.content.decode()
    form["map_tile_url"] = ""
    assert oc.post(url("escorts:settings"), form).status_code == 302
    station.refresh_from_db()
    assert watch.settings_of(station).ladder == (
        ("leader_app", "amber"), ("leader_phone", "amber"), ("duty_officer", "red"),
        ("oc", "red"),
    )  # fmt: skip
    assert (station.check_in_minutes, station.start_grace_minutes) == (15, 10)


def test_the_phone_app_has_a_manifest_and_a_service_worker(client):
    manifest = client.get("/manifest.webmanifest")
    assert manifest["Content-Type"] == "application/manifest+json"
    data = manifest.json()
    assert data["start_url"] == "/" and data["display"] == "standalone"
    assert [icon["sizes"] for icon in data["icons"]] == ["192x192", "512x512"]
    for icon in data["icons"]:
        assert finders.find(icon["src"].removeprefix(settings.STATIC_URL))
    worker = client.get("/sw.js")
    assert worker["Content-Type"].startswith("text/javascript")
    assert worker["Cache-Control"] == "no-cache"
    body = worker.content.decode()
    assert "/static/field/queue.js" in body and "my-day" in body


def test_the_sdpo_dashboard_shows_red_and_amber_runs_per_station(
    station, run_at, people, client_for, clock
):
    from stations import stats as station_stats

    run_at(status=EscortRun.Status.STARTED, started_at=at("08:00"))
    station_stats.refresh(date=TODAY)
    page = client_for(people["sdpo"]).get("/sdpo/").content.decode()
    assert "Runs red / amber" in page
    assert f'data-watch="{station.slug}"><span class="badge text-bg-danger">1</span> / 0' in page


# --- Two minute jobs at once ---


def test_two_minute_jobs_at_once_tell_each_rung_once(debra):
    """Two workers escalate the same silent run at the same moment, on connections of their
    own: the run's lock and the (run, spell, rung) key let one of them tell each rung."""
    import threading

    from escorts.tests.conftest import in_other_connection
    from stations.models import User

    def seed() -> int:
        user = User.objects.create(username="watch-concurrent-leader")
        leader = OfficerFactory(name="Concurrent leader", user=user)
        sheet = DutySheet.objects.create(
            date=TODAY, version=1, origin="cutoff", build_status="done",
            status="published", published_at=at("08:45"),
        )  # fmt: skip
        run = EscortRun.objects.create(
            sheet=sheet,
            team=TeamFactory(name="Concurrent", leader=leader),
            area=AreaFactory(name="Concurrent village"),
            start=datetime.time(10, 0),
            end=datetime.time(12, 0),
            status=EscortRun.Status.STARTED,
            started_at=at("10:00"),
        )
        return run.pk

    def clean() -> None:
        Message.objects.filter(event__startswith="watch:").delete()
        DutySheet.objects.filter(date=TODAY).delete()
        EscortTeam.objects.filter(name="Concurrent").delete()
        Officer.objects.filter(name="Concurrent leader").delete()
        User.objects.filter(username="watch-concurrent-leader").delete()

    in_other_connection(debra, clean)
    run_pk = in_other_connection(debra, seed)
    try:
        barrier = threading.Barrier(2)
        told: list[int] = []

        def escalate() -> None:
            barrier.wait(timeout=30)
            told.append(services.runs_escalate(now=at("10:31")))

        threads = [
            threading.Thread(target=lambda: in_other_connection(debra, escalate)) for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        def counts() -> tuple[int, int]:
            return (
                RunEscalation.objects.filter(run_id=run_pk).count(),
                Message.objects.filter(event__startswith=f"watch:{run_pk}:", channel="in_app")
                .values("recipient_id")
                .count(),
            )

        assert sorted(told) == [0, 5]
        assert in_other_connection(debra, counts) == (5, 1)  # five rungs; the leader's inbox once
    finally:
        in_other_connection(debra, clean)
