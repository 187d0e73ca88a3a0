"""The watch over today's runs: check-in timers, amber and red, the station's ladder told once
per spell and in order, check-ins and positions accepted once per key, completion agent by
agent, and what the dashboard, the agent and retention make of it."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from escorts import services, stats, watch
from escorts.models import DutySheet, EscortRun, RunEntry, RunEscalation, RunSign, RunWatch
from escorts.selectors import escort_words_for_entry, live_board
from escorts.tests.conftest import IST, TODAY, entry
from escorts.tests.factories import OfficerFactory, TeamFactory
from lenders.tests.factories import AreaFactory
from notifications.models import Message
from stations.models import Station, StationRole, SubdivisionRole
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
    with pytest.raises(ValidationError, match="not a pair of coordinates"):
        services.run_position_record(
            run=started, by=None, key="k2", latitude="95", longitude="87.5"
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
