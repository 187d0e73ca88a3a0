"""Every change to officers, teams and duty sheets, with its rules.

Building a sheet takes seconds (the planner has the station's time budget), so it runs in three
steps: claim (a short transaction under a per-date lock that decides whether to build and makes
the new version's row), plan (outside any transaction, recording its stage so the page can show
progress) and store (a short transaction that writes the runs). Claiming under the lock is what
makes the build idempotent: two workers, or a retry, find the version already claimed.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import NotRequired, TypedDict, cast

from celery import current_app
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, F, Field, Max, Q, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from lenders import services as lender_services
from lenders.models import LenderBranch, RosterEntry
from stations import due, stats
from stations.db import connection
from stations.models import Station, User
from stations.tenancy import schema_station

from . import notify, planning, selectors, watch
from .models import (
    DutySheet,
    EscortRun,
    EscortTeam,
    Officer,
    RunEntry,
    RunEscalation,
    RunSign,
    RunWatch,
    SignKind,
    SignSource,
    TeamOffDuty,
    UncoveredEntry,
)

logger = logging.getLogger(__name__)

# --- Officers and teams ---


@transaction.atomic
def officer_save(*, officer: Officer, by: User) -> Officer:
    """Create or update an officer (a form's instance)."""
    officer.updated_by = by
    officer.full_clean()
    officer.save()
    return officer


@transaction.atomic
def officer_delete(*, officer: Officer) -> None:
    if officer.teams_led.exists():
        raise ValidationError(
            _("%(officer)s leads a team. Give the team another leader first.")
            % {"officer": officer}
        )
    officer.delete()


@transaction.atomic
def team_save(*, team: EscortTeam, members: Iterable[Officer] = (), by: User) -> EscortTeam:
    """Create or update a team; a team without a base starts from the station."""
    station = schema_station()
    if team.base_latitude is None and team.base_longitude is None:
        team.base_latitude, team.base_longitude = station.latitude, station.longitude
    if (team.base_latitude is None) != (team.base_longitude is None):
        raise ValidationError(_("Give both the base latitude and longitude, or neither."))
    team.updated_by = by
    team.full_clean()
    team.save()
    team.members.set(members)
    return team


@transaction.atomic
def team_delete(*, team: EscortTeam) -> None:
    if EscortRun.objects.filter(team=team).exists():
        raise ValidationError(
            _("%(team)s has runs on duty sheets. Mark it inactive instead.") % {"team": team}
        )
    team.delete()


@transaction.atomic
def team_set_off_duty(
    *, team: EscortTeam, date: datetime.date, off: bool, reason: str = "", by: User
) -> None:
    """Mark a team off duty (or back on duty) for a date. Takes effect on the next build."""
    if off:
        TeamOffDuty.objects.update_or_create(
            team=team, date=date, defaults={"reason": reason.strip(), "created_by": by}
        )
    else:
        TeamOffDuty.objects.filter(team=team, date=date).delete()


# The station settings the OC changes on the settings page, beside the cut-off's own.
WATCH_SETTINGS = (
    "check_in_minutes",
    "amber_to_red_minutes",
    "acknowledge_lead_minutes",
    "start_grace_minutes",
    "ladder_leader_app",
    "ladder_leader_phone",
    "ladder_duty_officer",
    "ladder_oc",
    "ladder_sdpo",
    "sos_sms_number",
    "map_tile_url",
)


@transaction.atomic
def station_escort_settings_update(
    *,
    station: Station,
    roster_cutoff: datetime.time,
    planner_seconds: int,
    default_speed_kmph: int,
    reminder_lead_minutes: int,
    retention_days: int,
    by: User,
    **watch_settings: object,
) -> Station:
    """The OC's settings that the cut-off, reminder, retention and watch jobs read.

    `watch_settings` are fields of WATCH_SETTINGS (the check-in interval, the amber-to-red
    gap, the acknowledge lead, the start grace, the ladder, the SOS number for SMS and the
    base map's tile URL); those not given stay as they are."""
    unknown = set(watch_settings) - set(WATCH_SETTINGS)
    if unknown:
        raise TypeError(f"Not a station setting: {', '.join(sorted(unknown))}")
    station = Station.objects.select_for_update().get(pk=station.pk)
    station.roster_cutoff = roster_cutoff
    station.planner_seconds = planner_seconds
    station.default_speed_kmph = default_speed_kmph
    station.reminder_lead_minutes = reminder_lead_minutes
    station.retention_days = retention_days
    for name, value in watch_settings.items():
        setattr(station, name, value)
    station.full_clean()
    station.save(
        update_fields=[
            "roster_cutoff",
            "planner_seconds",
            "default_speed_kmph",
            "reminder_lead_minutes",
            "retention_days",
            *watch_settings,
        ]
    )
    logger.info("station %s settings changed by %s", station.slug, by.pk)
    # A new cut-off, reminder lead or watch timing moves the times those jobs next have work.
    due.due_now(TICK_JOB, lender_services.REMINDERS_JOB, station=station)
    return station


# --- Building a sheet ---


def _lock_date(date: datetime.date) -> None:
    """Serialise every change to one date's sheets (build, edit, publish) across processes."""
    key = f"escorts.sheet:{connection.schema_name}:{date.isoformat()}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


def _build_is_stale(sheet: DutySheet, now: datetime.datetime) -> bool:
    return sheet.build_is_stale(now)


def _supersede(sheet: DutySheet, *, now: datetime.datetime) -> None:
    sheet.status = DutySheet.Status.SUPERSEDED
    sheet.superseded_at = now
    sheet.save(update_fields=["status", "superseded_at", "updated_at"])


def _next_version(date: datetime.date) -> int:
    latest = DutySheet.objects.filter(date=date).aggregate(v=Max("version"))["v"]
    return (latest or 0) + 1


@transaction.atomic
def _build_claim(
    *, date: datetime.date, origin: str, by: User | None, size: planning.DaySize | None = None
) -> tuple[DutySheet, bool]:
    """Make the row of a new version to build, queued for a planning worker, or return the one
    that makes it unnecessary. Its planner budget fits the day's `size` (counted when not given).

    At cut-off any sheet of the date means the job already ran, unless its build was abandoned
    (a worker killed mid-build): the next minute's job then builds a new version. On a rebuild
    only a build still running does (two clicks, one build).
    """
    _lock_date(date)
    now = timezone.now()
    latest = DutySheet.objects.filter(date=date).order_by("-version").first()
    if latest is not None:
        abandoned = latest.is_building and _build_is_stale(latest, now)
        if origin == DutySheet.Origin.CUTOFF and not abandoned:
            return latest, False
        if latest.is_building and not abandoned:
            return latest, False
    draft = DutySheet.objects.filter(date=date, status=DutySheet.Status.DRAFT).first()
    if draft is not None:
        if draft.is_building:
            draft.build_status = DutySheet.Build.FAILED
            draft.build_error = "abandoned"
            draft.save(update_fields=["build_status", "build_error"])
        _supersede(draft, now=now)
    station = schema_station()
    size = size or planning.day_size(date)
    sheet = DutySheet.objects.create(
        date=date,
        version=_next_version(date),
        origin=origin,
        previous=latest,
        build_status=DutySheet.Build.RUNNING,
        # The worker that takes it from the planning queue sets the start (_build_start).
        build_stage="queued",
        build_seconds=planning.budget_seconds(size.entries, most=station.planner_seconds),
        created_by=by,
        updated_by=by,
    )
    return sheet, True


def _set_stage(sheet: DutySheet, stage: str) -> None:
    # Committed at once outside a transaction, so the sheet page sees it while the planner runs.
    DutySheet.objects.filter(pk=sheet.pk).update(build_stage=stage)
    sheet.build_stage = stage


def _build_start(sheet: DutySheet) -> None:
    # From here the build is timed against its budget and grace, not its wait in the queue.
    now = timezone.now()
    DutySheet.objects.filter(pk=sheet.pk).update(build_started_at=now, build_stage="reading")
    sheet.build_started_at, sheet.build_stage = now, "reading"


def duty_sheet_build_run(*, sheet_pk: int) -> DutySheet:
    """Plan and store a claimed version. Does nothing for a version already built or replaced,
    so a retried task is harmless."""
    sheet = DutySheet.objects.get(pk=sheet_pk)
    if sheet.build_status != DutySheet.Build.RUNNING or sheet.status != DutySheet.Status.DRAFT:
        return sheet
    try:
        _build_start(sheet)
        data = planning.plan_input(sheet.date)
        _set_stage(sheet, "planning")
        # A duty officer's rebuild mends the sheet it replaces rather than starting afresh, and
        # keeps the runs the officer shaped by hand exactly as they are, and the entries they
        # took off, off.
        previous = None
        if sheet.origin == DutySheet.Origin.REBUILD:
            previous = planning.previous_plan(sheet.previous)
            data = planning.with_pinned_runs(data, sheet.previous)
            data = planning.with_taken_off_kept_off(data, sheet.previous)
        plan = planning.solve(
            data.instance,
            seconds=sheet.build_seconds,
            seed=sheet.date.toordinal(),
            previous=previous,
        )
        _set_stage(sheet, "saving")
        return _build_store(sheet_pk=sheet.pk, data=data, plan=plan)
    except Exception as exc:
        DutySheet.objects.filter(pk=sheet.pk, build_status=DutySheet.Build.RUNNING).update(
            build_status=DutySheet.Build.FAILED, build_error=str(exc)[:2000]
        )
        raise


def _runs_by_shape(sheet: DutySheet | None) -> dict[tuple, EscortRun]:
    """The runs of `sheet` by team, area, window and entries."""
    if sheet is None:
        return {}
    return {
        (
            run.team_id,
            run.area_id,
            run.start,
            run.end,
            frozenset(link.entry_id for link in links),
        ): run
        for run in sheet.runs.prefetch_related("run_entries")
        if (links := run.run_entries.all())
    }


@transaction.atomic
def _build_store(*, sheet_pk: int, data: planning.PlanInput, plan) -> DutySheet:
    sheet = DutySheet.objects.select_for_update().get(pk=sheet_pk)
    if sheet.build_status != DutySheet.Build.RUNNING or sheet.status != DutySheet.Status.DRAFT:
        return sheet  # replaced by a rebuild while the planner ran
    # A rebuild that plans a run again exactly as it was continues it (its leader's
    # acknowledgement carries over on publish), pinned or not.
    before = _runs_by_shape(sheet.previous if sheet.origin == DutySheet.Origin.REBUILD else None)
    for planned in plan.runs:
        # A pinned run comes back from the planner unchanged; the rest of it is carried here.
        kept = data.pinned.pop(planned, None)
        team, area = data.teams[planned.team], data.areas[planned.area]
        start, end = planning.clock(planned.start), planning.clock(planned.end)
        entries = frozenset(data.entries[rid].pk for rid in planned.requests)
        run = EscortRun.objects.create(
            sheet=sheet,
            team=team,
            area=area,
            start=start,
            end=end,
            meeting_point=kept.meeting_point if kept else "",
            pinned=kept is not None,
            copied_from=kept or before.get((team.pk, area.pk, start, end, entries)),
            created_by=kept.created_by if kept else None,
        )
        RunEntry.objects.bulk_create(
            RunEntry(sheet=sheet, run=run, entry=data.entries[rid]) for rid in planned.requests
        )
    uncovered = [
        UncoveredEntry(sheet=sheet, entry_id=entry_pk, reason=reason, detail=detail)
        for entry_pk, (reason, detail) in data.set_aside.items()
    ]
    uncovered += [
        UncoveredEntry(
            sheet=sheet, entry=data.entries[rid], reason=UncoveredEntry.Reason.NO_TEAM_FREE
        )
        for rid in plan.unassigned
    ]
    UncoveredEntry.objects.bulk_create(uncovered)
    sheet.build_status = DutySheet.Build.DONE
    sheet.build_stage = "done"
    sheet.built_at = timezone.now()
    sheet.save(update_fields=["build_status", "build_stage", "built_at", "updated_at"])
    stats.refresh_on_commit(date=sheet.date)
    notify.draft_ready(sheet)
    return sheet


def _queue_build(sheet: DutySheet, *, priority: int) -> None:
    # By name: tasks call services, never the other way round. The route in the settings
    # (CELERY_TASK_ROUTES) puts it on the planning queue.
    transaction.on_commit(
        lambda: current_app.send_task("escorts.duty_sheet_build", [sheet.pk], priority=priority)
    )


def duty_sheet_queue_due(*, now: datetime.datetime | None = None) -> DutySheet | None:
    """The cut-off job: once the station's cut-off for today has passed and today has no sheet,
    lock the rosters and queue the draft's build for a planning worker, ahead of the stations
    whose first trips leave later. Returns the version queued, else None."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    if now < lender_services.cutoff_at(today):
        return None
    latest = DutySheet.objects.filter(date=today).order_by("-version").first()
    if latest is not None and not (latest.is_building and _build_is_stale(latest, now)):
        return None
    lender_services.rosters_lock(date=today)
    size = planning.day_size(today)
    sheet, claimed = _build_claim(date=today, origin=DutySheet.Origin.CUTOFF, by=None, size=size)
    if not claimed:
        return None
    first = size.first_departure
    leaves = timezone.make_aware(datetime.datetime.combine(today, first)) if first else None
    _queue_build(sheet, priority=planning.build_priority(leaves, now=now))
    return sheet


@transaction.atomic
def duty_sheet_rebuild(*, date: datetime.date, by: User) -> DutySheet:
    """The duty officer asks for a fresh plan: a new version, built by a worker; the old kept."""
    if timezone.now() >= lender_services.cutoff_at(date):
        lender_services.rosters_lock(date=date)
    sheet, claimed = _build_claim(date=date, origin=DutySheet.Origin.REBUILD, by=by)
    if claimed:
        # The minute job takes over a build whose worker is lost.
        due.due_now(TICK_JOB)
        _queue_build(sheet, priority=planning.REBUILD_PRIORITY)
    return sheet


# --- Changing a sheet ---


def _copy_sheet(source: DutySheet, *, by: User, now: datetime.datetime) -> DutySheet:
    sheet = DutySheet.objects.create(
        date=source.date,
        version=_next_version(source.date),
        origin=DutySheet.Origin.CHANGE,
        previous=source,
        build_status=DutySheet.Build.COPIED,
        built_at=source.built_at,
        created_by=by,
        updated_by=by,
    )
    for run in EscortRun.objects.filter(sheet=source).prefetch_related("run_entries"):
        entries = [link.entry_id for link in run.run_entries.all()]
        original = run.pk
        run.pk = None
        run.sheet = sheet
        run.copied_from_id = original
        run.save()
        RunEntry.objects.bulk_create(
            RunEntry(sheet=sheet, run=run, entry_id=entry_pk) for entry_pk in entries
        )
    UncoveredEntry.objects.bulk_create(
        UncoveredEntry(
            sheet=sheet,
            entry_id=item.entry_id,
            reason=item.reason,
            detail=item.detail,
            created_by=item.created_by,
        )
        for item in UncoveredEntry.objects.filter(sheet=source)
    )
    return sheet


def _editable_sheet(date: datetime.date, *, by: User) -> DutySheet:
    """The draft to change, under the date's lock; a published version is copied into a new
    draft first, so what was sent stays as it was."""
    _lock_date(date)
    latest = DutySheet.objects.filter(date=date).order_by("-version").first()
    if latest is None:
        raise ValidationError(_("There is no duty sheet for this date yet."))
    refusal = _not_editable(latest)
    if refusal is not None:
        raise ValidationError(refusal)
    if latest.status == DutySheet.Status.DRAFT:
        return latest
    return _copy_sheet(latest, by=by, now=timezone.now())


def _not_editable(latest: DutySheet) -> str | None:
    """Why the date's latest version cannot be edited (a published one can, through a copy)."""
    if latest.is_building:
        return _("The sheet is being built. Wait for it to finish.")
    if latest.build_status == DutySheet.Build.FAILED:
        return _("The last build failed. Rebuild the sheet first.")
    if latest.status not in (DutySheet.Status.DRAFT, DutySheet.Status.PUBLISHED):
        return _("This version was replaced. Open the latest version.")
    return None


def _touch(sheet: DutySheet, by: User) -> None:
    sheet.updated_by = by
    sheet.save(update_fields=["updated_by", "updated_at"])
    stats.refresh_on_commit(date=sheet.date)


def _in_sheet(sheet: DutySheet, run: EscortRun) -> EscortRun:
    """`run` as it is on `sheet` (it may be the copy of a run of an earlier version)."""
    if run.sheet_id == sheet.pk:
        return EscortRun.objects.select_for_update().select_related("team", "area").get(pk=run.pk)
    copy = (
        EscortRun.objects.select_related("team", "area")
        .filter(sheet=sheet, copied_from=run)
        .first()
    )
    if copy is None:
        raise ValidationError(_("That run is no longer on the sheet. Reload the page."))
    return copy


def _entries_of(run: EscortRun) -> list[RosterEntry]:
    return [
        link.entry
        for link in run.run_entries.select_related("entry__agent", "entry__area").order_by(
            "entry__depart_at"
        )
    ]


def _entry_on_date(entry: RosterEntry, date: datetime.date) -> None:
    if entry.roster.date != date:
        raise ValidationError(_("That entry is not on this date's rosters."))


def _check_team_available(team: EscortTeam, date: datetime.date) -> None:
    off_duty = TeamOffDuty.objects.filter(team=team, date=date).exists()
    refusal = _team_unavailable(team, off_duty=off_duty)
    if refusal is not None:
        raise ValidationError(refusal)


def _team_unavailable(team: EscortTeam, *, off_duty: bool) -> str | None:
    if not team.active:
        return _("%(team)s is not active.") % {"team": team}
    if off_duty:
        return _("%(team)s is off duty on this date.") % {"team": team}
    return None


def _check_team_day(
    sheet: DutySheet,
    team: EscortTeam,
    *,
    changed: EscortRun | None = None,
    slot: planning.Slot | None = None,
    dropped: Iterable[EscortRun] = (),
) -> None:
    """Raise unless `team` can do its runs on `sheet`, with `changed` replaced by `slot`
    (or `slot` added as a new run) and the `dropped` runs (emptied by the change) left out."""
    skip = {run.pk for run in dropped}
    if changed is not None:
        skip.add(changed.pk)
    slots = []
    for run in EscortRun.objects.filter(sheet=sheet, team=team).select_related("area"):
        if run.pk in skip:
            continue
        slots.append(planning.run_slot(run))
    if slot is not None:
        slots.append(slot)
    problems = planning.team_day_problems(team, slots)
    if problems:
        raise ValidationError(problems)


def _take_off(sheet: DutySheet, entry: RosterEntry) -> None:
    """Remove the entry from its run (shrinking the run to what is left, or deleting an empty
    one) or from the uncovered list."""
    link = RunEntry.objects.filter(sheet=sheet, entry=entry).select_related("run").first()
    UncoveredEntry.objects.filter(sheet=sheet, entry=entry).delete()
    if link is None:
        return
    run = link.run
    link.delete()
    rest = _entries_of(run)
    if not rest:
        run.delete()
        return
    window = (min(e.depart_at for e in rest), max(e.return_at for e in rest))
    if window != (run.start, run.end):
        # Saved only when the hours change: the trail would list an empty "Changed" otherwise.
        run.start, run.end = window
        run.save(update_fields=["start", "end", "updated_at"])


@transaction.atomic
def run_move_entry(
    *,
    date: datetime.date,
    entry: RosterEntry,
    by: User,
    to_run: EscortRun | None = None,
    to_team: EscortTeam | None = None,
) -> EscortRun:
    """Put an entry on another run, or on a new run of another team, by the planner's rules."""
    if (to_run is None) == (to_team is None):
        raise ValidationError(_("Choose a run or a team."))
    _entry_on_date(entry, date)
    sheet = _editable_sheet(date, by=by)
    if to_run is not None:
        to_run = _in_sheet(sheet, to_run)
    # Read after the date's lock (taken by `_editable_sheet`), so no other edit changes it.
    problems = _move_problems(planning.sheet_day(sheet), entry, run=to_run, team=to_team)
    if problems:
        raise ValidationError(problems)
    _take_off(sheet, entry)
    if to_run is not None:
        start = min(planning.minutes(to_run.start), planning.minutes(entry.depart_at))
        end = max(planning.minutes(to_run.end), planning.minutes(entry.return_at))
        to_run.start, to_run.end = planning.clock(start), planning.clock(end)
        to_run.pinned = True
        to_run.updated_by = by
        to_run.save(update_fields=["start", "end", "pinned", "updated_by", "updated_at"])
        target = to_run
    else:
        assert to_team is not None  # one of the two, checked above
        target = EscortRun.objects.create(
            sheet=sheet,
            team=to_team,
            area=entry.area,
            start=entry.depart_at,
            end=entry.return_at,
            pinned=True,
            created_by=by,
            updated_by=by,
        )
    RunEntry.objects.create(sheet=sheet, run=target, entry=entry)
    _touch(sheet, by)
    return target


def _move_problems(
    day: planning.SheetDay,
    entry: RosterEntry,
    *,
    run: EscortRun | None = None,
    team: EscortTeam | None = None,
) -> list[str]:
    """Why `entry` cannot go on `run` of the day's sheet, or on a new run of `team`; empty when
    it can. The one copy of the move rules: the move itself and the cover advice both ask it,
    and it reads only `day`, so asking it for every entry and every try costs no query."""
    current = day.run_of.get(entry.pk)
    # Taking the entry off a run it is alone on leaves that run out of the team's day.
    leaving_out = {current} if current is not None and day.agents[current] == 1 else set()
    if run is not None:
        if current == run.pk:
            return [_("The entry is already on that run.")]
        if run.area_id != entry.area_id:
            return [
                _("%(agent)s collects in %(area)s; that run is in %(run_area)s.")
                % {"agent": entry.agent.name, "area": entry.area, "run_area": run.area}
            ]
        team = run.team
        start = min(planning.minutes(run.start), planning.minutes(entry.depart_at))
        end = max(planning.minutes(run.end), planning.minutes(entry.return_at))
        slot = planning.Slot(run.area, start, end, day.agents[run.pk] + 1)
        leaving_out.add(run.pk)
    else:
        assert team is not None  # the callers give one of the two
        start, end = planning.minutes(entry.depart_at), planning.minutes(entry.return_at)
        slot = planning.Slot(entry.area, start, end, 1)
    refusal = _team_unavailable(team, off_duty=team.pk in day.off_duty)
    if refusal is not None:
        return [refusal]
    return planning.team_day_problems(team, [*day.slots(team, leaving_out=leaving_out), slot])


@dataclass(frozen=True)
class CoverOption:
    """A run or a team the entry could be moved to; `problem` says why not, if it cannot."""

    run: EscortRun | None
    team: EscortTeam
    problem: str | None


def entry_cover_options(
    *, date: datetime.date, entries: Iterable[RosterEntry]
) -> dict[int, list[CoverOption]]:
    """For each entry, what would cover it on the date's latest sheet: each run of its area,
    then a new run of each active team, by the rules of `run_move_entry` (`_move_problems`).
    The sheet is read once for all the entries."""
    return {pk: list(tries) for pk, tries in _cover_tries(date, entries).items()}


def entries_cover_advice(*, date: datetime.date, entries: Iterable[RosterEntry]) -> dict[int, str]:
    """For each entry, one line for the sheet on what would cover it (`cover_advice`): the tries
    stop at the first that fits, as the line names only that one."""
    return {pk: cover_advice(tries) for pk, tries in _cover_tries(date, entries).items()}


def _cover_tries(
    date: datetime.date, entries: Iterable[RosterEntry]
) -> dict[int, Iterator[CoverOption]]:
    """Each entry's options as `entry_cover_options` lists them, each tried only when read."""
    entries = list(entries)
    sheet = selectors.sheet_latest(date=date)
    if sheet is None:
        return {entry.pk: iter(()) for entry in entries}
    refusal = _not_editable(sheet)
    day = planning.sheet_day(sheet)
    return {entry.pk: _tries(day, entry, refusal) for entry in entries}


def _tries(
    day: planning.SheetDay, entry: RosterEntry, refusal: str | None
) -> Iterator[CoverOption]:
    tries: list[tuple[EscortRun | None, EscortTeam]] = [
        (run, run.team) for run in day.runs if run.area_id == entry.area_id
    ]
    tries += [(None, team) for team in day.teams]
    for run, team in tries:
        problems = [refusal] if refusal else _move_problems(day, entry, run=run, team=team)
        yield CoverOption(run=run, team=team, problem=" ".join(problems) or None)


def cover_advice(options: Iterable[CoverOption]) -> str:
    """One line for the sheet: what would cover an uncovered entry, or that nothing would.

    `options` come as `entry_cover_options` gives them, runs before new runs, and are read only
    up to the first that fits."""
    fits = next((option for option in options if option.problem is None), None)
    if fits is not None and fits.run is not None:
        return _("It fits on the run %(run)s.") % {"run": fits.run.label}
    if fits is not None:
        return _("%(team)s is free then: a new run of that team would cover it.") % {
            "team": fits.team
        }
    return _(
        "No team is free then: another team on duty at that time, or a team with more "
        "capacity, would cover it."
    )


def _emptied(sheet: DutySheet, entries: list[RosterEntry]) -> list[EscortRun]:
    """The runs of `sheet` that taking `entries` off would leave empty."""
    runs = EscortRun.objects.filter(sheet=sheet, run_entries__entry__in=entries).distinct()
    return [run for run in runs if not run.run_entries.exclude(entry__in=entries).exists()]


@transaction.atomic
def run_remove_entry(*, date: datetime.date, entry: RosterEntry, by: User) -> UncoveredEntry:
    """Take an entry off its run; it goes to the uncovered list for route surveillance."""
    _entry_on_date(entry, date)
    sheet = _editable_sheet(date, by=by)
    if not RunEntry.objects.filter(sheet=sheet, entry=entry).exists():
        raise ValidationError(_("That entry is not on a run."))
    _take_off(sheet, entry)
    item = UncoveredEntry.objects.create(
        sheet=sheet, entry=entry, reason=UncoveredEntry.Reason.REMOVED, created_by=by
    )
    _touch(sheet, by)
    return item


@transaction.atomic
def run_create(
    *,
    date: datetime.date,
    team: EscortTeam,
    entries: list[RosterEntry],
    by: User,
    start: datetime.time | None = None,
    end: datetime.time | None = None,
    meeting_point: str = "",
) -> EscortRun:
    """A run made by hand from entries of one area, by the same rules as the planner's."""
    if not entries:
        raise ValidationError(_("Choose at least one entry for the run."))
    for entry in entries:
        _entry_on_date(entry, date)
    areas = {entry.area_id for entry in entries}
    if len(areas) != 1:
        raise ValidationError(_("All entries of a run must be in one area."))
    area = entries[0].area
    sheet = _editable_sheet(date, by=by)
    _check_team_available(team, date)
    start_min = (
        planning.minutes(start) if start else min(planning.minutes(e.depart_at) for e in entries)
    )
    end_min = planning.minutes(end) if end else max(planning.minutes(e.return_at) for e in entries)
    if start_min >= end_min:
        raise ValidationError(_("The run must end after it starts."))
    problems = planning.window_covers(start_min, end_min, entries)
    if problems:
        raise ValidationError(problems)
    _check_team_day(
        sheet,
        team,
        slot=planning.Slot(area, start_min, end_min, len(entries)),
        dropped=_emptied(sheet, entries),
    )
    for entry in entries:
        _take_off(sheet, entry)
    run = EscortRun.objects.create(
        sheet=sheet,
        team=team,
        area=area,
        start=planning.clock(start_min),
        end=planning.clock(end_min),
        meeting_point=meeting_point.strip(),
        pinned=True,
        created_by=by,
        updated_by=by,
    )
    RunEntry.objects.bulk_create(RunEntry(sheet=sheet, run=run, entry=e) for e in entries)
    _touch(sheet, by)
    return run


@transaction.atomic
def run_set_meeting_point(
    *, date: datetime.date, run: EscortRun, meeting_point: str, by: User
) -> EscortRun:
    sheet = _editable_sheet(date, by=by)
    run = _in_sheet(sheet, run)
    run.meeting_point = meeting_point.strip()
    run.pinned = True
    run.updated_by = by
    run.full_clean()
    run.save(update_fields=["meeting_point", "pinned", "updated_by", "updated_at"])
    _touch(sheet, by)
    return run


@transaction.atomic
def run_edit(
    *, date: datetime.date, run: EscortRun, team: EscortTeam, meeting_point: str, by: User
) -> EscortRun:
    """The run form's one edit: a new team and a new meeting point are saved both or neither."""
    if team != run.team:
        run = run_change_team(date=date, run=run, team=team, by=by)
    if meeting_point != run.meeting_point:
        run = run_set_meeting_point(date=date, run=run, meeting_point=meeting_point, by=by)
    return run


@transaction.atomic
def run_change_team(
    *, date: datetime.date, run: EscortRun, team: EscortTeam, by: User
) -> EscortRun:
    sheet = _editable_sheet(date, by=by)
    run = _in_sheet(sheet, run)
    if run.team_id == team.pk:
        raise ValidationError(_("The run already belongs to %(team)s.") % {"team": team})
    _check_team_available(team, date)
    slot = planning.run_slot(run)
    _check_team_day(sheet, team, slot=slot)
    run.team = team
    run.status = EscortRun.Status.PLANNED
    run.acknowledged_at = None
    run.pinned = True
    run.updated_by = by
    run.save(
        update_fields=["team", "status", "acknowledged_at", "pinned", "updated_by", "updated_at"]
    )
    _touch(sheet, by)
    return run


@transaction.atomic
def run_set_pinned(*, date: datetime.date, run: EscortRun, pinned: bool, by: User) -> EscortRun:
    """Pin a run so a rebuild keeps it as it is, or unpin it to let the planner re-plan it.
    Asking for what the run already is changes nothing, so a double tap is harmless."""
    sheet = _editable_sheet(date, by=by)
    run = _in_sheet(sheet, run)
    if run.pinned == pinned:
        return run
    run.pinned = pinned
    run.updated_by = by
    run.save(update_fields=["pinned", "updated_by", "updated_at"])
    _touch(sheet, by)
    return run


@transaction.atomic
def late_entry_add(
    *,
    date: datetime.date,
    branch: LenderBranch,
    data: lender_services.EntryInput,
    by: User,
) -> RosterEntry:
    """A duty officer adds a trip after cut-off; it joins the sheet as uncovered until placed."""
    entry = lender_services.roster_entry_add(
        branch=branch, date=date, data=data, by=by, as_officer=True
    )
    if DutySheet.objects.filter(date=date).exists():
        sheet = _editable_sheet(date, by=by)
        UncoveredEntry.objects.create(
            sheet=sheet, entry=entry, reason=UncoveredEntry.Reason.LATE, created_by=by
        )
        _touch(sheet, by)
    return entry


# --- Publishing ---


class RunPlacement(TypedDict):
    """Where an entry is on a version: its run, with times as HH:MM."""

    team: str
    area: str
    area_bn: NotRequired[str]  # versions published before it was kept have none
    start: str
    end: str
    meeting_point: str


class UncoveredPlacement(TypedDict):
    uncovered: str  # UncoveredEntry.Reason


class SheetChange(TypedDict):
    """One item of `DutySheet.changes`, the JSON a published version keeps of what changed."""

    entry: int
    agent: str
    branch: int | None
    before: RunPlacement | UncoveredPlacement | None
    after: RunPlacement | UncoveredPlacement | None


def _placements(sheet: DutySheet) -> dict[int, RunPlacement | UncoveredPlacement]:
    placed: dict[int, RunPlacement | UncoveredPlacement] = {}
    for link in RunEntry.objects.filter(sheet=sheet).select_related("run__team", "run__area"):
        run = link.run
        placed[link.entry_id] = {
            "team": run.team.name,
            "area": run.area.name,
            "area_bn": run.area.name_bn,
            "start": f"{run.start:%H:%M}",
            "end": f"{run.end:%H:%M}",
            "meeting_point": run.meeting_point,
        }
    for item in UncoveredEntry.objects.filter(sheet=sheet):
        placed[item.entry_id] = {"uncovered": item.reason}
    return placed


def sheet_diff(*, old: DutySheet | None, new: DutySheet) -> list[SheetChange]:
    """Per entry whose escort differs between two versions: before and after (None if absent)."""
    before = _placements(old) if old is not None else {}
    after = _placements(new)
    changed = sorted(pk for pk in before.keys() | after.keys() if before.get(pk) != after.get(pk))
    entries = RosterEntry.objects.select_related("agent", "roster__branch").in_bulk(changed)
    return [
        {
            "entry": pk,
            "agent": entries[pk].agent.name if pk in entries else "",
            "branch": entries[pk].roster.branch_id if pk in entries else None,
            "before": before.get(pk),
            "after": after.get(pk),
        }
        for pk in changed
    ]


def sheet_revision(sheet: DutySheet) -> str:
    """A token of what a version says: every entry's escort or reason, and its last change.
    The publish page carries it, so what is published is what the officer reviewed."""
    content = json.dumps(
        [sheet.pk, sheet.updated_at.isoformat(), sorted(_placements(sheet).items())],
        sort_keys=True,
    )
    return hashlib.sha256(content.encode()).hexdigest()[:20]


class DraftChanged(ValidationError):
    """The draft is no longer the one the officer reviewed."""


@transaction.atomic
def duty_sheet_publish(*, date: datetime.date, by: User, revision: str | None = None) -> DutySheet:
    """Publish the date's draft: it becomes the version branches and escorts see, and records
    what changed against the version published before it. With `revision` (from
    `sheet_revision`), only if the draft is still what was reviewed; else DraftChanged."""
    _lock_date(date)
    sheet = DutySheet.objects.filter(date=date, status=DutySheet.Status.DRAFT).first()
    if sheet is None:
        raise ValidationError(_("There is no draft to publish; the latest version is published."))
    if sheet.build_status not in (DutySheet.Build.DONE, DutySheet.Build.COPIED):
        raise ValidationError(_("The draft is not built yet. Wait for it, or rebuild."))
    if revision is not None and revision != sheet_revision(sheet):
        raise DraftChanged(
            _("The draft changed after you opened this page. Check the changes again.")
        )
    now = timezone.now()
    old = DutySheet.objects.filter(date=date, status=DutySheet.Status.PUBLISHED).first()
    sheet.changes = sheet_diff(old=old, new=sheet) if old is not None else []
    if old is not None:
        _carry_progress(sheet, old)
        _supersede(old, now=now)
    sheet.status = DutySheet.Status.PUBLISHED
    sheet.published_by = by
    sheet.published_at = now
    sheet.updated_by = by
    sheet.full_clean()
    sheet.save()
    stats.refresh_on_commit(date=date)
    # Its runs' starts are times the minute job has work.
    due.due_now(TICK_JOB)
    if old is None:
        notify.sheet_published(sheet)
    else:
        notify.sheet_changed(sheet)
    return sheet


_PROGRESS_FIELDS = ["status", "acknowledged_at", "started_at", "completed_at", "status_changed_by"]


def _source_in(run: EscortRun, old: DutySheet) -> EscortRun | None:
    """The run of `old` that `run` descends from, through the drafts and rebuilds between
    them (each keeps the run it copied or kept), or None if it is a new run."""
    source = run.copied_from
    while source is not None and source.sheet_id != old.pk:
        source = source.copied_from
    return source


def _carry_progress(sheet: DutySheet, old: DutySheet) -> None:
    """What escorts did on the version in force while this one was a draft carries over, also
    when more versions were made between the two (a change, then a rebuild keeping the run)."""
    for run in EscortRun.objects.filter(sheet=sheet, copied_from__isnull=False):
        source = _source_in(run, old)
        if source is None or run.team_id != source.team_id:
            continue
        for name in _PROGRESS_FIELDS:
            setattr(run, name, getattr(source, name))
        run.save(update_fields=[*_PROGRESS_FIELDS, "updated_at"])
        _carry_watch(run, source)


def _carry_watch(run: EscortRun, source: EscortRun) -> None:
    """The run's watch goes with its progress: its last sign and position, the rungs told in
    its spells (so a new version tells nobody twice), and each agent's arrival."""
    kept = RunWatch.objects.filter(run=source).first()
    if kept is not None:
        kept.pk = None
        kept.run = run
        RunWatch.objects.bulk_create([kept], ignore_conflicts=True)
    RunEscalation.objects.bulk_create(
        [
            RunEscalation(
                run=run,
                spell=told.spell,
                rung=told.rung,
                stage=told.stage,
                reason=told.reason,
                at=told.at,
                messages=0,
            )
            for told in RunEscalation.objects.filter(run=source)
        ],
        ignore_conflicts=True,
    )
    for link in RunEntry.objects.filter(run=source, reached_at__isnull=False):
        RunEntry.objects.filter(run=run, entry_id=link.entry_id).update(
            reached_at=link.reached_at, reached_by=link.reached_by_id
        )


# --- The escort's day ---

_NEXT: dict[str, tuple[set[str], str | None]] = {
    EscortRun.Status.ACKNOWLEDGED: ({EscortRun.Status.PLANNED}, "acknowledged_at"),
    EscortRun.Status.STARTED: (
        {EscortRun.Status.PLANNED, EscortRun.Status.ACKNOWLEDGED},
        "started_at",
    ),
    EscortRun.Status.COMPLETED: ({EscortRun.Status.STARTED}, "completed_at"),
    EscortRun.Status.MISSED: (
        {EscortRun.Status.PLANNED, EscortRun.Status.ACKNOWLEDGED},
        None,
    ),
}


# A run may be started this long before its time: the team drives to the meeting point.
RUN_START_EARLIEST = datetime.timedelta(hours=1)


def _refuse_early_start(run: EscortRun) -> None:
    starts = timezone.make_aware(datetime.datetime.combine(run.sheet.date, run.start))
    opens = starts - RUN_START_EARLIEST
    wait = opens - timezone.now()
    if wait > datetime.timedelta(0):
        hours, minutes = divmod(-(-int(wait.total_seconds()) // 60), 60)
        # The times as params, not in the text: the leader's page writes them in the page's
        # numerals, the chat's reply (SMS, WhatsApp) in ASCII digits.
        raise ValidationError(
            _(
                "This run starts at %(start)s. It can be started from %(opens)s, "
                "in %(hours)s h %(minutes)s min."
            ),
            code="too_early",
            params={
                "start": f"{run.start:%H:%M}",
                "opens": f"{timezone.localtime(opens):%H:%M}",
                "hours": hours,
                "minutes": minutes,
            },
        )


def _refuse_unless_today(run: EscortRun) -> None:
    if run.sheet.status != DutySheet.Status.PUBLISHED:
        raise ValidationError(_("This run is not on the published sheet."))
    if run.sheet.date != timezone.localdate():
        raise ValidationError(_("Only today's runs can be updated."))


def _confirm_reached(run: EscortRun, reached: Collection[int], *, by: User) -> None:
    """Completing needs the leader's word that every escorted agent reached the deposit point:
    `reached` must name every entry of the run."""
    links = list(RunEntry.objects.filter(run=run).select_related("entry__agent"))
    missing = [link.entry.agent.name for link in links if link.entry_id not in set(reached)]
    if missing:
        raise ValidationError(
            _("Confirm that every agent reached the deposit point first. Not confirmed: %(names)s.")
            % {"names": ", ".join(missing)}
        )
    RunEntry.objects.filter(run=run).update(reached_at=timezone.now(), reached_by=by)


@transaction.atomic
def run_set_status(
    *, run: EscortRun, status: str, by: User, reached: Collection[int] = ()
) -> EscortRun:
    """An escort acknowledges, starts or completes a run of the version in force today.

    Completing needs `reached`: the ids of the run's entries whose agents reached the deposit
    point, every one of them. A status change is a sign of life for the run's watch."""
    run = EscortRun.objects.select_for_update().select_related("sheet").get(pk=run.pk)
    _refuse_unless_today(run)
    if run.status == status:
        # Asked again (from a second phone, or on the page after the chat): it is done, and
        # doing it again would move its time.
        return run
    allowed, stamp = _NEXT[status]
    if run.status not in allowed:
        raise ValidationError(
            _("A run that is %(now)s cannot be marked %(new)s.")
            % {
                "now": run.get_status_display().lower(),
                "new": EscortRun.Status(status).label.lower(),
            }
        )
    if status == EscortRun.Status.STARTED:
        _refuse_early_start(run)
    if status == EscortRun.Status.COMPLETED:
        _confirm_reached(run, reached, by=by)
    now = timezone.now()
    run.status = status
    fields = ["status", "status_changed_by", "updated_at"]
    if stamp:
        setattr(run, stamp, now)
        fields.append(stamp)
    run.status_changed_by = by
    run.save(update_fields=fields)
    _sign(run, kind=SignKind.STATUS, at=now)
    after = _state(run, now)
    if after.next_at is not None:
        # A started run is next due at its first check-in, maybe before the times stored.
        due.due_by(TICK_JOB, at=after.next_at)
    stats.refresh_on_commit(date=run.sheet.date)
    return run


def _state(run: EscortRun, now: datetime.datetime) -> watch.RunState:
    return watch.run_state(
        run=run,
        sheet=run.sheet,
        watch=RunWatch.objects.filter(run=run).first(),
        settings=watch.settings_of(schema_station()),
        now=now,
    )


@dataclass(frozen=True)
class Position:
    """Where a phone was, from the Geolocation API or a shared location."""

    latitude: Decimal
    longitude: Decimal
    accuracy_m: int | None = None


def _position(latitude: object, longitude: object, accuracy_m: object = None) -> Position | None:
    if latitude in (None, "") and longitude in (None, ""):
        return None
    try:
        lat = Decimal(str(latitude)).quantize(Decimal("0.000001"))
        lon = Decimal(str(longitude)).quantize(Decimal("0.000001"))
        accuracy = None if accuracy_m in (None, "") else round(float(str(accuracy_m)))
        on_earth = -90 <= lat <= 90 and -180 <= lon <= 180
    except (ArithmeticError, ValueError) as exc:  # not numbers, NaN, infinity
        raise ValidationError(_("The position is not a pair of coordinates.")) from exc
    if not on_earth or (accuracy is not None and accuracy < 0):
        raise ValidationError(_("The position is not a pair of coordinates."))
    return Position(lat, lon, None if accuracy is None else min(accuracy, 1_000_000))


# How far back a sign made offline may be dated: a phone's queue is sent on the next page
# load, the same day; a clock far off is not believed.
SIGN_MAX_AGE = datetime.timedelta(hours=12)


def _made_at(at: datetime.datetime | None, now: datetime.datetime) -> datetime.datetime:
    """When the phone says it made a sign, never later than its arrival nor absurdly early."""
    if at is None:
        return now
    return min(now, max(at, now - SIGN_MAX_AGE))


def _sign(
    run: EscortRun,
    *,
    kind: str,
    at: datetime.datetime,
    position: Position | None = None,
) -> None:
    """Move the run's watch on to a sign of life made at `at`: its last sign and, with a
    position, its last position. Signs may arrive out of order (a queue sent late), so each
    value only ever moves forward in time."""
    newer = Q(last_sign_at__lte=at)
    values: dict[str, object] = {
        "last_sign_at": Greatest(F("last_sign_at"), Value(at)),
        "last_sign": Case(
            When(newer, then=Value(kind)),
            default=F("last_sign"),
            output_field=RunWatch._meta.get_field("last_sign"),
        ),
    }
    if position is not None:
        fresher = Q(located_at__isnull=True) | Q(located_at__lte=at)
        for name, value in (
            ("latitude", position.latitude),
            ("longitude", position.longitude),
            ("accuracy_m", position.accuracy_m),
            ("located_at", at),
        ):
            values[name] = Case(
                When(fresher, then=Value(value)),
                default=F(name),
                output_field=cast(Field, RunWatch._meta.get_field(name)),
            )
    if RunWatch.objects.filter(run_id=run.pk).update(**values):
        return
    first = RunWatch(run_id=run.pk, last_sign_at=at, last_sign=kind)
    if position is not None:
        first.latitude, first.longitude = position.latitude, position.longitude
        first.accuracy_m, first.located_at = position.accuracy_m, at
    # Two first signs at once: the second waits for the first's row and moves it on.
    RunWatch.objects.bulk_create([first], ignore_conflicts=True)
    RunWatch.objects.filter(run_id=run.pk).update(**values)


@dataclass(frozen=True)
class SignResult:
    """A check-in or position as the server kept it. `created` is False when its key had
    been accepted before (a double tap, a replayed queue, a chat message delivered twice):
    nothing was added, and `sign` is what the first one made."""

    sign: RunSign
    created: bool


def _sign_record(
    *,
    run: EscortRun,
    kind: str,
    by: User | None,
    key: str,
    at: datetime.datetime | None,
    position: Position | None,
    source: str,
) -> SignResult:
    key = (key or "").strip()
    if not key or len(key) > 100:
        raise ValidationError(_("A check-in or position needs a key of 1 to 100 characters."))
    if kind == SignKind.CHECK_IN:
        # A check-in sent again (a chat message delivered twice) is answered as the first
        # was, even once the run has ended. A position sent again is simply not kept twice
        # (the insert below), which spares the leader's page a query a minute.
        kept = RunSign.objects.filter(key=key).first()
        if kept is not None:
            return SignResult(kept, created=False)
    _refuse_unless_today(run)
    if run.status != EscortRun.Status.STARTED:
        raise ValidationError(
            _("Start the run first.")
            if run.status in EscortRun.WAITING
            else _("This run is %(status)s.") % {"status": run.get_status_display().lower()}
        )
    now = timezone.now()
    made = _made_at(at, now)
    before = watch.run_state(
        run=run,
        sheet=run.sheet,
        watch=watch.watch_of(run),
        settings=watch.settings_of(schema_station()),
        now=now,
    )
    sign = RunSign(
        run=run,
        kind=kind,
        key=key,
        at=made,
        received_at=now,
        by=by,
        source=source,
        latitude=position.latitude if position else None,
        longitude=position.longitude if position else None,
        accuracy_m=position.accuracy_m if position else None,
    )
    if not _insert_once(sign):
        # Of two requests with one key at once, the second waits on the unique index and is
        # answered with the first's row.
        return SignResult(RunSign.objects.get(key=key), created=False)
    _sign(run, kind=kind, at=made, position=position)
    if before.stage in (watch.AMBER, watch.RED):
        # The run is back to normal: the dashboard's red and amber counts change.
        stats.refresh_on_commit(date=run.sheet.date)
    return SignResult(sign, created=True)


def _insert_once(sign: RunSign) -> bool:
    """Insert the sign unless its key is taken, in one statement (a page sends a position a
    minute per run): PostgreSQL's ON CONFLICT DO NOTHING, which the ORM's bulk_create offers
    without saying whether the row went in. Returns whether it did, with `sign.pk` set."""
    fields = [f for f in RunSign._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    values = [f.get_db_prep_save(getattr(sign, f.attname), connection) for f in fields]
    table = connection.ops.quote_name(RunSign._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({marks}) "  # noqa: S608 - names from the model
            "ON CONFLICT (key) DO NOTHING RETURNING id",
            values,
        )
        row = cursor.fetchone()
    if row is None:
        return False
    sign.pk = row[0]
    return True


@transaction.atomic
def run_check_in(
    *,
    run: EscortRun,
    by: User | None,
    key: str,
    at: datetime.datetime | None = None,
    latitude: object = None,
    longitude: object = None,
    accuracy_m: object = None,
    source: str = SignSource.PAGE,
) -> SignResult:
    """The team says all is well on a started run of today: its watch starts a new spell.

    Idempotent by `key` (a page's idempotency key, a chat message's id): the same key again
    adds nothing and returns the first check-in. `at` is when the phone made it (a check-in
    queued offline arrives later; never after its arrival). With a position, it joins the
    day's track. The caller has found `run` among the person's own runs.
    """
    position = _position(latitude, longitude, accuracy_m)
    return _sign_record(
        run=run,
        kind=SignKind.CHECK_IN,
        by=by,
        key=key,
        at=at,
        position=position,
        source=source,
    )


@transaction.atomic
def run_position_record(
    *,
    run: EscortRun,
    by: User | None,
    key: str,
    latitude: object,
    longitude: object,
    accuracy_m: object = None,
    at: datetime.datetime | None = None,
    source: str = SignSource.PAGE,
) -> SignResult:
    """A position of a started run of today (the leader's page sends one a minute; a chat
    can share one): the day's track, the run's last position, and a sign of life. Idempotent
    by `key`: the same key again adds nothing and returns the first position, as long as the
    run is still started (a position for an ended run is refused whatever its key)."""
    position = _position(latitude, longitude, accuracy_m)
    if position is None:
        raise ValidationError(_("The position is not a pair of coordinates."))
    return _sign_record(
        run=run,
        kind=SignKind.POSITION,
        by=by,
        key=key,
        at=at,
        position=position,
        source=source,
    )


def run_signs_purge(*, before: datetime.datetime, dry_run: bool = False) -> int:
    """Retention: the tracks and check-ins received before `before` go, and so does the last
    position of the runs of days before it. Escalations stay (the audit trail says who was
    told when). Returns how many check-ins and positions went (or would go)."""
    old = RunSign.objects.filter(received_at__lt=before)
    if dry_run:
        return old.count()
    deleted, _ = old.delete()
    RunWatch.objects.filter(run__sheet__date__lt=timezone.localdate(before)).exclude(
        latitude__isnull=True
    ).update(latitude=None, longitude=None, accuracy_m=None, located_at=None)
    return deleted


# --- The watch: escalating silent, unacknowledged and late runs ---


def runs_escalate(*, now: datetime.datetime | None = None) -> int:
    """Tell the station's ladder about today's amber and red runs, each rung once per spell
    (escorts.watch). Returns how many rungs were told.

    Runs are read once; a run with a rung to tell is then escalated in a transaction of its
    own, under its row's lock, from its state read again: a status change or a second worker
    waits for the lock and finds the rungs told.
    """
    now = now or timezone.now()
    sheet = DutySheet.objects.filter(
        date=timezone.localdate(now), status=DutySheet.Status.PUBLISHED
    ).first()
    if sheet is None:
        return 0
    settings = watch.settings_of(schema_station())
    told: dict[tuple[int, str], set[str]] = defaultdict(set)
    for run_id, spell, rung in RunEscalation.objects.filter(run__sheet=sheet).values_list(
        "run_id", "spell", "rung"
    ):
        told[(run_id, spell)].add(rung)
    count = 0
    for run in EscortRun.objects.filter(sheet=sheet).select_related("watch"):
        state = watch.run_state(
            run=run, sheet=sheet, watch=watch.watch_of(run), settings=settings, now=now
        )
        if watch.rungs_due(state, settings, told[(run.pk, state.spell)]):
            count += _run_escalate(run_pk=run.pk, now=now)
    return count


@transaction.atomic
def _run_escalate(*, run_pk: int, now: datetime.datetime) -> int:
    run = (
        EscortRun.objects.select_for_update(of=("self",))
        .select_related("sheet", "team__leader", "area")
        .get(pk=run_pk)
    )
    settings = watch.settings_of(schema_station())
    state = watch.run_state(
        run=run,
        sheet=run.sheet,
        watch=RunWatch.objects.filter(run=run).first(),
        settings=settings,
        now=now,
    )
    told = set(
        RunEscalation.objects.filter(run=run, spell=state.spell).values_list("rung", flat=True)
    )
    rungs = watch.rungs_due(state, settings, told)
    # Lowest rung first, so the ladder's order is also the outbox's.
    for rung, stage in rungs:
        sent = notify.run_escalated(run, state=state, rung=rung, now=now)
        RunEscalation.objects.create(
            run=run,
            spell=state.spell,
            rung=rung,
            stage=stage,
            reason=state.reason,
            at=now,
            messages=sent,
        )
    if rungs:
        logger.info(
            "run %s %s (%s): told %s", run.pk, state.stage, state.reason, [r for r, _ in rungs]
        )
    return len(rungs)


# The minute job's name in the stations' due times (stations.due).
TICK_JOB = "escorts.station_tick"


def station_tick(*, now: datetime.datetime | None = None) -> DutySheet | None:
    """The minute job of a station: queue today's draft at cut-off, escalate amber and red
    runs, and recount today's dashboard figures, then store when it next has work. The
    recount moves the overdue, amber and red counts on as the clock passes, and makes good a
    change's recount that failed after the change had committed."""
    now = now or timezone.now()
    runs_escalate(now=now)
    sheet = duty_sheet_queue_due(now=now)
    stats.refresh_on_commit(date=timezone.localdate(now))
    due.due_set(job=TICK_JOB, at=station_tick_next_due(now=now), started=now)
    return sheet


def station_tick_next_due(*, now: datetime.datetime) -> datetime.datetime:
    """When the station's minute job next has work: today's cut-off, a run of today's sheet
    reaching its start or the next stage of its watch (acknowledge-by, start grace, its next
    check-in, red), a draft still building (every minute until it is done or stale), local
    midnight (the new day's figures), and tomorrow's cut-off."""
    today = timezone.localdate(now)
    tomorrow = today + datetime.timedelta(days=1)
    times = [
        timezone.make_aware(datetime.datetime.combine(tomorrow, datetime.time())),
        lender_services.cutoff_at(tomorrow),
    ]
    cutoff = lender_services.cutoff_at(today)
    if now < cutoff:
        times.append(cutoff)
    else:
        latest = DutySheet.objects.filter(date=today).order_by("-version").first()
        if latest is None or latest.is_building:
            times.append(now + datetime.timedelta(minutes=1))
    sheet = DutySheet.objects.filter(date=today, status=DutySheet.Status.PUBLISHED).first()
    if sheet is not None:
        settings = watch.settings_of(schema_station())
        for run in EscortRun.objects.filter(sheet=sheet).select_related("watch"):
            state = watch.run_state(
                run=run, sheet=sheet, watch=watch.watch_of(run), settings=settings, now=now
            )
            begins = watch.run_start_at(run, today)
            if run.status in EscortRun.WAITING and begins > now:
                times.append(begins)
            if state.next_at is not None and state.next_at > now:
                times.append(state.next_at)
    return min(times)
