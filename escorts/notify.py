"""The duty sheet's messages, written into the notifications outbox inside the transaction of
the change that causes them. Each branch hears only of its own entries; no message carries cash.
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone, translation

from lenders.models import BranchMember, CollectionArea, LenderBranch, RosterEntry
from lenders.notify import branch_people
from notifications.models import Channel, Kind
from notifications.services import message_queue
from stations.models import Station, StationRole, User
from stations.routing import station_reverse
from stations.selectors import user_list_overseers, user_list_station_officers
from stations.tenancy import schema_station

from .models import DutySheet, EscortRun, Officer, RunEntry, RunEscalation, UncoveredEntry
from .selectors import agent_meeting
from .watch import RED, RunState, minutes_between

_BRANCH_ROLES = (BranchMember.Role.MANAGER, BranchMember.Role.STAFF)


def run_reference(run: EscortRun) -> str:
    return f"R{run.pk}"


def _leader(run: EscortRun) -> QuerySet[User]:
    # A leader without an account has no user id, and `pk=None` matches no one.
    return User.objects.filter(pk=run.team.leader.user_id, is_active=True)  # type: ignore[misc]


def officer_contact(officer: Officer) -> str:
    """The officer to call, as a message names them: the rank's short form ("ASI", not
    "Assistant Sub-Inspector (ASI)") and the name, so an SMS slot does not cut the name off."""
    rank = str(officer.get_rank_display())
    if rank.endswith(")") and "(" in rank:
        rank = rank[rank.rindex("(") + 1 : -1]
    return f"{rank} {officer.name}"


def _contact(officer: Officer) -> dict:
    """The officer to call in the portal's language, and in Bengali for a Bengali reader's copy
    (as `_meeting_place`): one message is made for readers of both, whoever's page or job
    made it."""
    with translation.override(settings.LANGUAGE_CODE):
        contact = officer_contact(officer)
    with translation.override("bn"):
        return {"contact": contact, "contact_bn": officer_contact(officer)}


def _meeting_place(meeting_point: str, area: CollectionArea) -> dict:
    """Where to meet, for a message: the run's own meeting point as the officer wrote it, or else
    the area, by its English name and, when the station keeps one, its Bengali name, which a
    Bengali reader's copy shows (`notifications.catalogue.render`)."""
    if meeting_point:
        return {"meeting_point": meeting_point}
    return {"meeting_point": area.name, "meeting_point_bn": area.name_bn}


def _escort_context(run: EscortRun, date_text: str, path: str) -> dict:
    """The leader's view of a run. Values are whole: the inbox shows them in full and only the
    SMS text is cut to its slots' length."""
    leader = run.team.leader
    return {
        "reference": run_reference(run),
        "agents": ", ".join(entry.agent.name for entry in run.entries.all()) or "-",
        "date": date_text,
        "time": f"{run.start:%H:%M}-{run.end:%H:%M}",
        **_meeting_place(run.meeting_point, run.area),
        **_contact(leader),
        "phone": str(leader.phone),
        "path": path,
    }


def _branch_recipients(branch: LenderBranch, entries: list[RosterEntry]) -> set[User]:
    """The branch's office logins, and the agents of these entries who have their own."""
    agents = User.objects.filter(
        is_active=True, branch_memberships__agent__in=[entry.agent_id for entry in entries]
    )
    return {*branch_people(branch, roles=_BRANCH_ROLES), *agents}


def draft_ready(sheet: DutySheet) -> None:
    station = schema_station()
    message_queue(
        event=f"sheet-draft:{sheet.pk}",
        kind="sheet_draft_ready",
        recipients=user_list_station_officers(station=station),
        context={
            "date": sheet.date.strftime("%d-%m-%Y"),
            "runs": str(sheet.runs.count()),
            "uncovered": str(UncoveredEntry.objects.filter(sheet=sheet).count()),
            "path": station_reverse(station, "escorts:sheet", sheet.date),
        },
    )


def _announce_runs(sheet: DutySheet, runs: list[EscortRun], *, kind: str, only: set | None):
    """Per run: its team leader; and per entry on it (only `only`, if given), its branch and
    agent, with the agent's own meeting time and place."""
    station = schema_station()
    date_text = sheet.date.strftime("%d-%m-%Y")
    by_run: dict[int, list[RosterEntry]] = defaultdict(list)
    links = RunEntry.objects.filter(run__in=runs).select_related(
        "entry__roster__branch", "entry__agent", "entry__area"
    )
    for link in links:
        if only is None or link.entry_id in only:
            by_run[link.run_id].append(link.entry)
    my_day = station_reverse(station, "escorts:my_day")
    for run in runs:
        context = _escort_context(run, date_text, my_day)
        message_queue(
            event=f"{kind}:{sheet.pk}:run:{run.pk}:leader",
            kind=kind,
            recipients=_leader(run),
            # The leader's copy carries Acknowledge on WhatsApp (the chat app acts on it).
            context={**context, "chat_ref": f"run:{run.pk}"},
        )
        for entry in by_run.get(run.pk, []):
            branch = entry.roster.branch
            meet_at = agent_meeting(run=run, entry=entry)[0]
            message_queue(
                event=f"{kind}:{sheet.pk}:run:{run.pk}:entry:{entry.pk}",
                kind=kind,
                recipients=_branch_recipients(branch, [entry]),
                context={
                    **context,
                    "agents": entry.agent.name,
                    "time": f"{meet_at:%H:%M}-{min(run.end, entry.return_at):%H:%M}",
                    **_meeting_place(run.meeting_point, entry.area),
                    "path": station_reverse(
                        station, "escorts:branch_escorts", branch.pk, sheet.date
                    ),
                },
            )


def _announce_unescorted(sheet: DutySheet, items: list[UncoveredEntry], *, kind: str) -> None:
    """Each uncovered trip to its branch and agent: why, whom to call, and how to go safely.
    The reason is in each reader's own language, so recipients are grouped by language."""
    station = schema_station()
    for item in items:
        entry = item.entry
        branch = entry.roster.branch
        by_language: dict[str, list[User]] = defaultdict(list)
        for user in _branch_recipients(branch, [entry]):
            by_language[user.language or settings.LANGUAGE_CODE].append(user)
        for language, people in by_language.items():
            with translation.override(language):
                reason = item.plain_reason
            message_queue(
                event=f"{kind}:{sheet.pk}:unescorted:entry:{entry.pk}",
                kind="trip_unescorted",
                recipients=people,
                context={
                    "agents": entry.agent.name,
                    "date": sheet.date.strftime("%d-%m-%Y"),
                    "time": f"{entry.depart_at:%H:%M}-{entry.return_at:%H:%M}",
                    "reason": reason,
                    "phone": station.phone or "112",
                    "path": station_reverse(
                        station, "escorts:branch_escorts", branch.pk, sheet.date
                    ),
                },
            )


def _uncovered(sheet: DutySheet) -> QuerySet[UncoveredEntry]:
    return UncoveredEntry.objects.filter(sheet=sheet).select_related(
        "entry__roster__branch", "entry__agent"
    )


def sheet_published(sheet: DutySheet) -> None:
    runs = list(
        sheet.runs.select_related("team__leader", "area").prefetch_related("entries__agent")
    )
    _announce_runs(sheet, runs, kind="sheet_published", only=None)
    _announce_unescorted(sheet, list(_uncovered(sheet)), kind="sheet_published")


def sheet_changed(sheet: DutySheet) -> None:
    """Only what changed: the runs that now hold a changed entry, their leaders, and the
    branches of those entries. An entry left without escort is the branch's to hear of too."""
    changed = {item["entry"] for item in sheet.changes}
    runs = list(
        sheet.runs.filter(run_entries__entry_id__in=changed)
        .select_related("team__leader", "area")
        .prefetch_related("entries__agent")
        .distinct()
    )
    _announce_runs(sheet, runs, kind="sheet_changed", only=changed)
    dropped = list(_uncovered(sheet).filter(entry_id__in=changed))
    _announce_unescorted(sheet, dropped, kind="sheet_changed")


def _rung_people(rung: str, run: EscortRun, station: Station) -> QuerySet[User]:
    """Who stands on one rung of the station's ladder for this run."""
    if rung in (RunEscalation.Rung.LEADER_APP, RunEscalation.Rung.LEADER_PHONE):
        return _leader(run)
    if rung == RunEscalation.Rung.SDPO:
        # As an SOS reaches them: in-app messages to the subdivision's people, in the
        # station's outbox.
        return user_list_overseers(station=station)
    role = (
        StationRole.Role.DUTY_OFFICER
        if rung == RunEscalation.Rung.DUTY_OFFICER
        else StationRole.Role.OFFICER_IN_CHARGE
    )
    return User.objects.filter(
        is_active=True, station_roles__station=station, station_roles__role=role
    ).distinct()


# The rung that is the leader's phone hears on the phone alone; the portal is the rung below.
_RUNG_CHANNELS: dict[str, tuple[str, ...]] = {
    RunEscalation.Rung.LEADER_APP: (Channel.IN_APP,),
    RunEscalation.Rung.LEADER_PHONE: (Channel.SMS, Channel.WHATSAPP),
}


def run_escalated(run: EscortRun, *, state: RunState, rung: str, now: datetime.datetime) -> int:
    """Tell one rung of the ladder that a run is amber or red; returns the messages written.

    Called inside the transaction that records the rung as told, so the messages and the
    record commit together; the event key (run, spell, rung) keeps a repeat from adding any.
    The leader's messages lead to their day's page, everyone else's to the live board."""
    station = schema_station()
    leader = run.team.leader
    leader_rungs = (RunEscalation.Rung.LEADER_APP, RunEscalation.Rung.LEADER_PHONE)
    path = station_reverse(station, "escorts:my_day" if rung in leader_rungs else "escorts:live")
    common = {
        "reference": run_reference(run),
        **_contact(leader),
        "phone": str(leader.phone),
        "path": path,
    }
    if state.reason == RunEscalation.Reason.SILENT:
        assert state.since is not None  # a silence runs from a sign of life
        kind = Kind.RUN_SILENT
        context = {
            **common,
            "minutes": str(minutes_between(state.since, now)),
            "since": f"{timezone.localtime(state.since):%H:%M}",
        }
    else:
        kind = (
            Kind.RUN_NOT_ACKNOWLEDGED
            if state.reason == RunEscalation.Reason.NOT_ACKNOWLEDGED
            else Kind.RUN_OVERDUE
        )
        context = {
            **common,
            "time": f"{run.start:%H:%M}",
            **_meeting_place(run.meeting_point, run.area),
        }
    messages = message_queue(
        event=f"watch:{run.pk}:{state.spell}:{rung}",
        kind=kind,
        recipients=_rung_people(rung, run, station),
        context=context,
        # Red, or the leader's phone the station chose to ring: whatever the preferences.
        urgent=state.stage == RED or rung == RunEscalation.Rung.LEADER_PHONE,
        channels=_RUNG_CHANNELS.get(rung),
    )
    return len(messages)
