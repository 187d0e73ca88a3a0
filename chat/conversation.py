"""What each message does: the daily cycle from a phone, through the same services as the
pages, with the same rules, the same messages (in the sender's language) and the same audit
trail (the change is recorded as the sender's, "through WhatsApp" or "through SMS").

`inbound_process` takes one received message: records and claims it, finds who is writing
(chat.senders), reads what it asks (chat.intents), runs the handler in `ACTIONS`, and sends the
one reply. A number nobody linked, or whose owner lost their role, gets one polite reply in
its life and nothing else; its messages change nothing.

Escort team leaders: Acknowledge (on the published-run message), Start, Check in, Complete
(asked once more, naming every agent to confirm they reached the deposit point, as the page
asks agent by agent), as reply buttons after each step, or typed ACK R7, START R7, CHECKIN R7,
DONE R7; a location shared during a started run is a check-in with the team's position.
Lender managers and office staff: "Same as last time" and "No collection" (on the roster
reminder, or typed COPY, NONE). Field agents: SOS (or বিপদ) or a shared location raises an SOS
for their current trip, as the SOS button does. Anyone: STATUS.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pghistory
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_tenants.utils import tenant_context

from escort_portal.forms import sent_error_text
from escorts import selectors as escort_selectors
from escorts import services as escort_services
from escorts.models import DutySheet, EscortRun, SignSource
from escorts.notify import officer_contact, run_reference
from incidents import selectors as incident_selectors
from incidents import services as incident_services
from lenders import selectors as lender_selectors
from lenders import services as lender_services
from lenders.access import capabilities
from lenders.models import LenderBranch, RosterEntry
from notifications.catalogue import TEMPLATE_BUTTONS
from stations.access import Perm, permissions
from stations.models import ChatContact, Station, User
from stations.permissions import BranchCap
from stations.routing import public_reverse, station_reverse

from . import replies, selectors, services
from .intents import (
    ACK,
    CHECKIN,
    COPY,
    DONE,
    DONE_CONFIRMED,
    HELP,
    LINK,
    LOCATION_SHARED,
    NONE,
    RUN,
    SOS,
    START,
    STATUS,
    STOP,
    Intent,
    intent_of,
)
from .models import InboundChannel, InboundMessage
from .payloads import Incoming
from .replies import Button, Choice, Reply
from .senders import Sender, contact_for, sender_for

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

logger = logging.getLogger(__name__)

# People who do not say which language they read get the stranger's reply in both.
STRANGER_LANGUAGE = "bn"
# A number that sent this many wrong codes in an hour is not answered about codes any more.
WRONG_CODES_PER_HOUR = 5


@dataclass(frozen=True)
class Turn:
    """One message being answered."""

    message: Incoming
    intent: Intent
    sender: Sender
    now: datetime.datetime
    # What the sender may do in each station, asked once a message (stations.access).
    _perms: dict[int, frozenset[Perm]] = field(default_factory=dict)

    def perms(self, station: Station) -> frozenset[Perm]:
        if station.pk not in self._perms:
            self._perms[station.pk] = permissions(self.user, station)
        return self._perms[station.pk]

    @property
    def user(self) -> User:
        return self.sender.user

    @property
    def channel(self) -> str:
        return self.message.channel

    @property
    def whatsapp(self) -> bool:
        return self.channel == InboundChannel.WHATSAPP

    @property
    def today(self) -> datetime.date:
        return timezone.localdate(self.now)


Handler = Callable[[Turn], Reply]


@contextmanager
def acting(turn: Turn, station: Station) -> Iterator[None]:
    """In the station's schema, with the changes recorded as the sender's, through the chat."""
    with tenant_context(station), pghistory.context(user=turn.user.pk, chat=turn.channel):
        yield


def refused(reason: str | ValidationError, *, outcome: str) -> Reply:
    """A rule said no: the service's own message, as the page shows it (but for its digits)."""
    text = sent_error_text(reason) if isinstance(reason, ValidationError) else reason
    return Reply("chat_refused", {"reason": text}, outcome=outcome)


def _date_text(date: datetime.date) -> str:
    return date.strftime("%d-%m-%Y")


def _enters(turn: Turn, station: Station) -> bool:
    return Perm.ENTER in turn.perms(station)


# --- Runs: the escort team's leader ---

RUN_STATUS = {
    ACK: EscortRun.Status.ACKNOWLEDGED,
    START: EscortRun.Status.STARTED,
    DONE: EscortRun.Status.COMPLETED,
    DONE_CONFIRMED: EscortRun.Status.COMPLETED,
}
# Without a run named, the runs an action can apply to.
RUN_WAITING_FOR = {
    ACK: {EscortRun.Status.PLANNED},
    START: {EscortRun.Status.PLANNED, EscortRun.Status.ACKNOWLEDGED},
    CHECKIN: {EscortRun.Status.STARTED},
    DONE: {EscortRun.Status.STARTED},
    DONE_CONFIRMED: {EscortRun.Status.STARTED},
    RUN: {EscortRun.Status.PLANNED, EscortRun.Status.ACKNOWLEDGED, EscortRun.Status.STARTED},
}
# The reply buttons under a run in each state: what its leader can do next.
RUN_BUTTONS: dict[str, tuple[str, ...]] = {
    EscortRun.Status.PLANNED: (ACK, START),
    EscortRun.Status.ACKNOWLEDGED: (START,),
    EscortRun.Status.STARTED: (CHECKIN, DONE),
}
BUTTON_TITLES: dict[str, StrOrPromise] = {
    ACK: TEMPLATE_BUTTONS["ack"],
    START: gettext_lazy("Start"),
    CHECKIN: gettext_lazy("Check in"),
    DONE: gettext_lazy("Complete"),
    DONE_CONFIRMED: gettext_lazy("All reached"),
    STATUS: gettext_lazy("Status"),
}
# How each action reads in "You have no run to ... today".
_RUN_VERBS = {
    ACK: gettext_lazy("acknowledge"),
    START: gettext_lazy("start"),
    CHECKIN: gettext_lazy("check in on"),
    DONE: gettext_lazy("complete"),
    DONE_CONFIRMED: gettext_lazy("complete"),
    RUN: gettext_lazy("act on"),
}


@dataclass(frozen=True)
class RunAt:
    station: Station
    run: EscortRun  # with its team's leader, area and entries' agents read


def _button_id(action: str, station: Station, ref: str) -> str:
    return f"{action}:{station.schema_name}:{ref}"


def runs_of(turn: Turn, *, schema: str = "") -> list[RunAt]:
    """The sender's own team's runs today on the published sheets of their stations: what
    "My day" shows them, found the same way."""
    found: list[RunAt] = []
    for station in turn.sender.stations:
        if schema and station.schema_name != schema:
            continue
        with tenant_context(station):
            if not _enters(turn, station):
                continue
            officer = escort_selectors.officer_for_user(user=turn.user)
            if officer is None:
                continue
            runs = escort_selectors.run_list_for_officer(officer=officer, date=turn.today)
            found += [RunAt(station, run) for run in runs]
    return sorted(found, key=lambda at: (at.run.start, at.station.name, at.run.pk))


def _agents(run: EscortRun) -> str:
    return ", ".join(link.entry.agent.name for link in run.run_entries.all()) or "-"


def run_reply(at: RunAt, *, outcome: str) -> Reply:
    run = at.run
    return Reply(
        "chat_run",
        {
            "reference": run_reference(run),
            "state": str(run.get_status_display()).lower(),
            "time": f"{run.start:%H:%M}-{run.end:%H:%M}",
            "meeting_point": run.meeting_point or run.area.display_name,
            "agents": _agents(run),
            "link": station_reverse(at.station, "escorts:my_day"),
        },
        buttons=[
            Button(_button_id(action, at.station, f"run:{run.pk}"), str(BUTTON_TITLES[action]))
            for action in RUN_BUTTONS.get(run.status, ())
        ],
        outcome=outcome,
    )


def _run_line(at: RunAt) -> str:
    run = at.run
    return _("%(reference)s %(time)s at %(place)s: %(state)s") % {
        "reference": run_reference(run),
        "time": f"{run.start:%H:%M}-{run.end:%H:%M}",
        "place": run.meeting_point or run.area.display_name,
        "state": str(run.get_status_display()).lower(),
    }


def _choose_run(turn: Turn, runs: list[RunAt], action: str) -> Reply:
    if not turn.whatsapp:
        return refused(
            _("You have several runs today: send the run too, for example %(example)s.")
            % {"example": f"{action.rstrip('!').upper()} {run_reference(runs[0].run)}"},
            outcome="run.which",
        )
    return Reply(
        "chat_choose_run",
        choices=[
            Choice(
                _button_id(
                    action if action != DONE_CONFIRMED else DONE, at.station, f"run:{at.run.pk}"
                ),
                f"{run_reference(at.run)} {at.run.start:%H:%M}",
                _run_line(at),
            )
            for at in runs
        ],
        outcome="run.which",
    )


def _chosen_run(turn: Turn, runs: list[RunAt], action: str) -> RunAt | Reply:
    intent = turn.intent
    wanted: int | None = intent.number
    if intent.ref.startswith("run:") and intent.ref[4:].isdecimal():
        wanted = int(intent.ref[4:])
    if wanted is not None:
        matches = [at for at in runs if at.run.pk == wanted]
        if len(matches) == 1:
            return matches[0]
        return refused(
            _("R%(number)d is not one of your runs today.") % {"number": wanted},
            outcome="run.unknown",
        )
    fitting = [at for at in runs if at.run.status in RUN_WAITING_FOR[action]]
    if len(fitting) == 1:
        return fitting[0]
    if not fitting:
        return refused(
            _("You have no run to %(action)s today.") % {"action": _RUN_VERBS[action]},
            outcome="run.none",
        )
    return _choose_run(turn, fitting, action)


def _sign_key(turn: Turn) -> str:
    """A check-in's idempotency key: the provider's message id, so a message delivered twice
    checks in once."""
    return f"{turn.channel}:{turn.message.provider_id}"


def _checked_in(at: RunAt, result: escort_services.SignResult, *, outcome: str) -> Reply:
    return Reply(
        "chat_checked_in",
        {
            "reference": run_reference(at.run),
            "time": f"{timezone.localtime(result.sign.at):%H:%M}",
            "minutes": str(at.station.check_in_minutes),
        },
        buttons=[
            Button(_button_id(action, at.station, f"run:{at.run.pk}"), str(BUTTON_TITLES[action]))
            for action in RUN_BUTTONS[EscortRun.Status.STARTED]
        ],
        outcome=outcome,
    )


def _check_in(
    turn: Turn,
    at: RunAt,
    *,
    latitude: object = None,
    longitude: object = None,
    outcome: str = "run.checked_in",
) -> Reply:
    """All is well on a started run, as the day page's Check in: the watch starts again (with
    the team's position when the leader shared a location)."""
    with acting(turn, at.station):
        try:
            result = escort_services.run_check_in(
                run=at.run,
                by=turn.user,
                key=_sign_key(turn),
                at=turn.message.sent_at,
                latitude=latitude,
                longitude=longitude,
                source=SignSource.CHAT,
            )
        except ValidationError as exc:
            return refused(exc, outcome="run.refused")
    return _checked_in(at, result, outcome=outcome)


def run_action(turn: Turn) -> Reply:
    """Acknowledge, start, check in on or complete a run of the sender's team, as "My day"
    does."""
    action = turn.intent.action
    chosen = _chosen_run(turn, runs_of(turn, schema=turn.intent.schema), action)
    if isinstance(chosen, Reply):
        return chosen
    if action == RUN:
        return run_reply(chosen, outcome="run.shown")
    if action == CHECKIN:
        return _check_in(turn, chosen)
    if action == DONE and not turn.intent.typed:
        # Completing ends the escort for every agent on the run: a tap asks first, naming
        # each agent, as the page asks agent by agent. Typing DONE R7 is saying so on purpose.
        return Reply(
            "chat_run_confirm",
            {"reference": run_reference(chosen.run), "agents": _agents(chosen.run)},
            buttons=[
                Button(
                    _button_id(DONE_CONFIRMED, chosen.station, f"run:{chosen.run.pk}"),
                    str(BUTTON_TITLES[DONE_CONFIRMED]),
                )
            ],
            outcome="run.confirm",
        )
    # Completing from the chat confirms every agent on the run reached the deposit point:
    # the confirmation above (or DONE typed on purpose) named them all.
    reached = (
        [link.entry_id for link in chosen.run.run_entries.all()]
        if RUN_STATUS[action] == EscortRun.Status.COMPLETED
        else []
    )
    with acting(turn, chosen.station):
        try:
            changed = escort_services.run_set_status(
                run=chosen.run, status=RUN_STATUS[action], by=turn.user, reached=reached
            )
        except ValidationError as exc:
            return refused(exc, outcome="run.refused")
    chosen.run.status = changed.status
    return run_reply(chosen, outcome=f"run.{changed.status}")


# --- The roster: lender managers and office staff ---


@dataclass(frozen=True)
class BranchAt:
    station: Station
    branch: LenderBranch


def _roster_branches(turn: Turn, *, schema: str, pk: int | None) -> list[BranchAt]:
    """The branches the sender may file rosters for, by the permission table."""
    found: list[BranchAt] = []
    for station in turn.sender.stations:
        if schema and station.schema_name != schema:
            continue
        with tenant_context(station):
            if not _enters(turn, station):
                continue
            branches: QuerySet[LenderBranch] = lender_selectors.branch_list_for_user(user=turn.user)
            if pk is not None:
                branches = branches.filter(pk=pk)
            found += [
                BranchAt(station, branch)
                for branch in branches
                if BranchCap.ROSTER_WRITE in capabilities(turn.user, branch)
            ]
    return found


def _roster_date(turn: Turn, station: Station) -> datetime.date:
    """Today until its cut-off, tomorrow after it, unless the message said which."""
    if turn.intent.day == "today":
        return turn.today
    if turn.intent.day == "tomorrow":
        return turn.today + datetime.timedelta(days=1)
    with tenant_context(station):
        if lender_services.is_open_for_branches(turn.today):
            return turn.today
    return turn.today + datetime.timedelta(days=1)


def _roster_target(turn: Turn) -> tuple[BranchAt, datetime.date] | Reply:
    intent = turn.intent
    pk: int | None = None
    date: datetime.date | None = None
    parts = intent.ref.split(":")
    if len(parts) == 3 and parts[0] == "roster" and parts[1].isdecimal():
        pk = int(parts[1])
        try:
            date = datetime.date.fromisoformat(parts[2])
        except ValueError:
            date = None
    branches = _roster_branches(turn, schema=intent.schema, pk=pk)
    if not branches:
        return refused(
            _("Your role in this branch, or the branch's state, does not allow this."),
            outcome="roster.forbidden",
        )
    if len(branches) > 1:
        if not turn.whatsapp:
            return refused(
                _("You file for several branches: use the buttons in WhatsApp, or the portal."),
                outcome="roster.which",
            )
        return Reply(
            "chat_choose_branch",
            choices=[
                Choice(
                    _button_id(
                        intent.action,
                        at.station,
                        f"roster:{at.branch.pk}:{_roster_date(turn, at.station).isoformat()}",
                    ),
                    at.branch.branch_name,
                    f"{at.branch.lender_name} · {at.station.name}",
                )
                for at in branches
            ],
            outcome="roster.which",
        )
    target = branches[0]
    return target, date or _roster_date(turn, target.station)


def roster_copy(turn: Turn) -> Reply:
    """ "Same as last time": the branch's last roster copied, each trip that does not pass the
    rules today left out with the reason, as "Copy my last roster" does."""
    found = _roster_target(turn)
    if isinstance(found, Reply):
        return found
    target, date = found
    with acting(turn, target.station):
        try:
            result = lender_services.roster_copy_from_last(
                branch=target.branch, date=date, by=turn.user
            )
        except ValidationError as exc:
            return refused(exc, outcome="roster.refused")
        if result.source is None:
            return refused(_("There is no earlier roster to copy."), outcome="roster.nothing")
        details = [f"✓ {entry}" for entry in result.added] + [
            f"✗ {old}: {sent_error_text(reason)}" for old, reason in result.skipped
        ]
    return Reply(
        "chat_roster_copied",
        {
            "branch": str(target.branch),
            "date": _date_text(date),
            "copied": str(len(result.added)),
            "skipped": str(len(result.skipped)),
            "link": station_reverse(target.station, "lenders:roster_day", target.branch.pk, date),
        },
        details=details,
        outcome="roster.copied",
    )


def roster_none(turn: Turn) -> Reply:
    """ "No collection": the station stops waiting for the branch's roster that day."""
    found = _roster_target(turn)
    if isinstance(found, Reply):
        return found
    target, date = found
    with acting(turn, target.station):
        try:
            lender_services.roster_declare_no_collection(
                branch=target.branch, date=date, by=turn.user
            )
        except ValidationError as exc:
            return refused(exc, outcome="roster.refused")
    return Reply(
        "chat_roster_none",
        {
            "branch": str(target.branch),
            "date": _date_text(date),
            "cutoff": f"{target.station.roster_cutoff:%H:%M}",
            "link": station_reverse(target.station, "lenders:roster_day", target.branch.pk, date),
        },
        outcome="roster.none",
    )


# --- SOS: field agents ---

# A trip counts as under way from a while before it leaves until a while after it is due back.
TRIP_BEFORE = datetime.timedelta(minutes=30)
TRIP_AFTER = datetime.timedelta(minutes=60)


def current_trip(trips: list[RosterEntry], now: datetime.datetime) -> RosterEntry | None:
    """The trip an agent is on now, else the one nearest in time (any trip of today may carry
    an SOS, as on the page)."""
    if not trips:
        return None
    today = timezone.localdate(now)

    def at(time: datetime.time) -> datetime.datetime:
        return timezone.make_aware(datetime.datetime.combine(today, time))

    under_way = [
        t for t in trips if at(t.depart_at) - TRIP_BEFORE <= now <= at(t.return_at) + TRIP_AFTER
    ]
    if under_way:
        return max(under_way, key=lambda t: t.depart_at)
    return min(
        trips,
        key=lambda t: min(abs(at(t.depart_at) - now), abs(at(t.return_at) - now)),
    )


def _raise_sos(turn: Turn, *, latitude: float | None, longitude: float | None) -> Reply | None:
    """An SOS for the sender's current trip, exactly as the page's button raises it; None
    when they have no trip today."""
    for station in turn.sender.stations:
        with tenant_context(station):
            if not _enters(turn, station):
                continue
            trips = list(lender_selectors.trips_of_agent_today(user=turn.user))
        trip = current_trip(trips, turn.now)
        if trip is None:
            continue
        located_at = turn.message.sent_at or turn.now
        with acting(turn, station):
            try:
                alert = incident_services.sos_raise(
                    entry=trip,
                    by=turn.user,
                    latitude=latitude,
                    longitude=longitude,
                    located_at=located_at if latitude is not None else None,
                )
            except ValidationError as exc:
                return refused(exc, outcome="sos.refused")
        return Reply(
            # Once the alert has a position, asking for one would leave the agent unsure it
            # arrived.
            "chat_sos_located" if alert.has_location else "chat_sos",
            {
                "reference": f"SOS-{alert.pk}",
                "time": f"{timezone.localtime(alert.raised_at):%H:%M}",
                "phone": station.phone or "112",
            },
            outcome="sos.located" if latitude is not None else "sos.raised",
        )
    return None


def sos(turn: Turn) -> Reply:
    reply = _raise_sos(turn, latitude=None, longitude=None)
    if reply is not None:
        return reply
    phone = next((s.phone for s in turn.sender.stations if s.phone), "")
    if not phone:
        # "call 112 or the station on 112" would read as two numbers to try in danger.
        return Reply("chat_sos_no_trip_112", outcome="sos.no_trip")
    return Reply("chat_sos_no_trip", {"phone": phone}, outcome="sos.no_trip")


def _leader_location(turn: Turn) -> Reply | None:
    """A location from the leader of a run under way is a check-in with the team's position;
    None when the sender leads no started run today."""
    started = [at for at in runs_of(turn) if at.run.status == EscortRun.Status.STARTED]
    if not started:
        return None
    return _check_in(
        turn,
        started[0],
        latitude=turn.intent.latitude,
        longitude=turn.intent.longitude,
        outcome="run.located",
    )


def _agent_location(turn: Turn) -> Reply | None:
    return _raise_sos(turn, latitude=turn.intent.latitude, longitude=turn.intent.longitude)


def location(turn: Turn) -> Reply:
    """A shared location: a leader's check-in on a run under way, else an agent's SOS."""
    for handler in (_leader_location, _agent_location):
        reply = handler(turn)
        if reply is not None:
            return reply
    reply = help_(turn)
    reply.outcome = "location.unused"
    return reply


# --- STATUS ---


def _escort_status(turn: Turn) -> list[Reply]:
    runs = [
        at
        for at in runs_of(turn)
        if at.run.status not in (EscortRun.Status.COMPLETED, EscortRun.Status.MISSED)
    ]
    if not runs:
        return []
    reply = run_reply(runs[0], outcome="status")
    reply.details = [_run_line(at) for at in runs[1:]]
    return [reply]


def _trip_reply(station: Station, row: escort_selectors.BranchEscort, date, path: str) -> Reply:
    entry = row.entry
    if row.run is not None and row.meeting is not None:
        leader = row.run.team.leader
        meet_at, place = row.meeting
        return Reply(
            "chat_escort",
            {
                "reference": run_reference(row.run),
                "agents": entry.agent.name,
                "date": _date_text(date),
                "time": f"{meet_at:%H:%M}-{min(row.run.end, entry.return_at):%H:%M}",
                "meeting_point": place,
                "contact": officer_contact(leader),
                "phone": str(leader.phone),
                "link": path,
            },
        )
    reason = row.uncovered.plain_reason if row.uncovered else _("not on the plan")
    context = {
        "agents": entry.agent.name,
        "date": _date_text(date),
        "time": f"{entry.depart_at:%H:%M}-{entry.return_at:%H:%M}",
        "reason": reason,
        "link": path,
    }
    if not station.phone:
        # 112 is for danger, not for asking the station whether to set out.
        return Reply("chat_unescorted_no_phone", context)
    return Reply("chat_unescorted", {**context, "phone": station.phone})


def _trips_status(
    turn: Turn,
    station: Station,
    branch: LenderBranch,
    date: datetime.date,
    *,
    only: set[int] | None,
    path: str,
) -> Reply | None:
    """The escort of the branch's (or one agent's) trips of `date` not yet over."""
    sheet, rows = escort_selectors.branch_escorts(branch=branch, date=date)
    now_time = timezone.localtime(turn.now).time()
    rows = [
        row
        for row in rows
        if (only is None or row.entry.pk in only)
        and (date != turn.today or row.entry.return_at > now_time)
    ]
    if not rows:
        return None
    if sheet is None:
        return Reply(
            "chat_not_published",
            {
                "trips": str(len(rows)),
                "date": _date_text(date),
                "cutoff": f"{station.roster_cutoff:%H:%M}",
                "link": path,
            },
        )
    replies_ = [_trip_reply(station, row, date, path) for row in rows]
    first, rest = replies_[0], replies_[1:]
    first.details = [replies.text(reply, turn.sender.language) for reply in rest]
    return first


def _branch_status(turn: Turn, station: Station) -> list[Reply]:
    found = []
    for branch in lender_selectors.branch_list_with(user=turn.user, cap=BranchCap.ESCORTS_READ):
        for date in (turn.today, turn.today + datetime.timedelta(days=1)):
            path = station_reverse(station, "escorts:branch_escorts", branch.pk, date)
            reply = _trips_status(turn, station, branch, date, only=None, path=path)
            if reply is not None:
                found.append(reply)
                break
    return found


def _agent_status(turn: Turn, station: Station) -> list[Reply]:
    trips = list(lender_selectors.trips_of_agent_today(user=turn.user))
    found = []
    for branch in {trip.roster.branch for trip in trips}:
        reply = _trips_status(
            turn,
            station,
            branch,
            turn.today,
            only={trip.pk for trip in trips},
            path=station_reverse(station, "incidents:my_trips"),
        )
        if reply is not None:
            found.append(reply)
    return found


def _station_status(turn: Turn, station: Station) -> Reply:
    sheet = DutySheet.objects.in_force(turn.today)
    runs = sheet.runs.all() if sheet else EscortRun.objects.none()
    return Reply(
        "chat_station",
        {
            "station": station.display_name,
            "date": _date_text(turn.today),
            "state": str(sheet.get_status_display()).lower() if sheet else _("not built yet"),
            "runs": str(runs.count()),
            "acknowledged": str(runs.exclude(status=EscortRun.Status.PLANNED).count()),
            "sos": str(incident_selectors.sos_list_open().count()),
            "link": station_reverse(station, "escorts:sheet", turn.today),
        },
    )


def status(turn: Turn) -> Reply:
    """The sender's next escort or run: what their own pages would show them first."""
    answers: list[Reply] = _escort_status(turn)
    for station in turn.sender.stations:
        with tenant_context(station):
            perms = turn.perms(station)
            if Perm.ENTER not in perms:
                continue
            answers += _branch_status(turn, station)
            answers += _agent_status(turn, station)
            if Perm.OPERATE in perms:
                answers.append(_station_status(turn, station))
    if not answers:
        return Reply("chat_nothing", outcome="status")
    first = answers[0]
    first.details += [replies.text(reply, turn.sender.language) for reply in answers[1:]]
    first.outcome = "status"
    return first


# --- Consent and help ---


def stop(turn: Turn) -> Reply:
    services.contact_set_consent(contact=turn.sender.contact, channel=turn.channel, on=False)
    return Reply("chat_stopped", outcome="stopped")


def start(turn: Turn) -> Reply:
    """START typed alone after STOP gives the channel back; otherwise it is a run's Start."""
    resuming = turn.intent.typed and turn.intent.number is None
    if resuming and not selectors.consents(turn.sender.contact, turn.channel):
        services.contact_set_consent(contact=turn.sender.contact, channel=turn.channel, on=True)
        return Reply("chat_resumed", outcome="resumed")
    return run_action(turn)


def help_(turn: Turn) -> Reply:
    return Reply(
        "chat_help",
        buttons=[Button(f"{STATUS}::", str(BUTTON_TITLES[STATUS]))],
        outcome="help",
    )


ACTIONS: dict[str, Handler] = {
    ACK: run_action,
    START: start,
    CHECKIN: run_action,
    DONE: run_action,
    DONE_CONFIRMED: run_action,
    RUN: run_action,
    COPY: roster_copy,
    NONE: roster_none,
    SOS: sos,
    LOCATION_SHARED: location,
    STATUS: status,
    STOP: stop,
    HELP: help_,
}


# --- One message, from receipt to reply ---


@dataclass(frozen=True)
class Answer:
    reply: Reply | None
    outcome: str
    user: User | None
    language: str


def _link(message: Incoming, intent: Intent, contact: ChatContact | None) -> Answer:
    """A code from the profile page: link this number to its owner."""
    since = timezone.now() - datetime.timedelta(hours=1)
    if selectors.wrong_codes(phone=message.phone, since=since) >= WRONG_CODES_PER_HOUR:
        return Answer(None, "link.ignored", None, STRANGER_LANGUAGE)
    user = services.link_code_use(code=intent.code, phone=message.phone, channel=message.channel)
    if user is not None:
        name = user.get_full_name() or user.get_username()
        return Answer(Reply("chat_linked", {"name": name}), "linked", user, user.language)
    if contact is None:
        # An unknown number with a wrong code is a stranger like any other.
        return Answer(_stranger(message), "stranger.code", None, STRANGER_LANGUAGE)
    reply = Reply("chat_wrong_code", {"link": public_reverse("chat:phone")})
    return Answer(reply, "link.wrong", contact.user, contact.user.language)


def _answer(
    message: Incoming, intent: Intent, contact: ChatContact | None, now: datetime.datetime
) -> Answer:
    sender = sender_for(contact)
    language = contact.user.language if contact else STRANGER_LANGUAGE
    if intent.action == LINK:
        return _link(message, intent, contact)
    if contact is not None and intent.action == STOP:
        # Withdrawing consent works whatever the person's role, even none.
        services.contact_set_consent(contact=contact, channel=message.channel, on=False)
        return Answer(Reply("chat_stopped"), "stopped", contact.user, language)
    if sender is None:
        if intent.action == STOP:
            return Answer(None, "stranger.stop", None, STRANGER_LANGUAGE)
        reply = _stranger(message)
        return Answer(reply, "stranger" if reply else "stranger.silent", None, STRANGER_LANGUAGE)
    turn = Turn(message=message, intent=intent, sender=sender, now=now)
    handler = ACTIONS.get(intent.action, help_)
    reply = handler(turn)
    return Answer(reply, reply.outcome, sender.user, language)


def _stranger(message: Incoming) -> Reply | None:
    if selectors.stranger_answered(phone=message.phone):
        return None
    return Reply("chat_stranger", {"link": public_reverse("chat:phone")})


def _reply_body(reply: Reply, channel: str, language: str) -> dict | None:
    if channel == InboundChannel.WHATSAPP:
        return {"body": replies.whatsapp_payload(reply, language)}
    body = replies.sms_payload(reply, language)
    return {"body": body} if body else {"body": None, "kind": reply.kind}


def inbound_process(*, message: Incoming, received_at: datetime.datetime) -> InboundMessage | None:
    """Record, claim and answer one received message in one transaction, then send the reply;
    None for a duplicate. `services.reply_send` raises TransientDeliveryError when the provider
    may take the reply later, for the caller to try again."""
    with transaction.atomic():
        services.phone_lock(message.phone)
        inbound = services.inbound_receive(incoming=message, received_at=received_at)
        if inbound is None:
            return None
        intent = intent_of(message)
        contact = contact_for(message.phone)
        with translation.override(contact.user.language if contact else STRANGER_LANGUAGE):
            answer = _answer(message, intent, contact, timezone.now())
        body = None
        if answer.reply is not None:
            with translation.override(answer.language):
                body = _reply_body(answer.reply, message.channel, answer.language)
        services.inbound_finish(
            inbound=inbound, user=answer.user, outcome=answer.outcome, reply=body
        )
    if body:
        services.reply_send(inbound_pk=inbound.pk)
    return inbound
