"""Every change a branch or a duty officer makes on the lender side, with its rules.

The web forms, the upload and the API all call these functions, so a rule is written once and
gives the same message on every path.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, fields
from typing import cast

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Field, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from stations import due, stats
from stations import services as station_services
from stations.models import Station, StationRole, SubdivisionRole, User
from stations.tenancy import schema_station

from . import notify
from .models import (
    BranchMember,
    CashBand,
    CollectionArea,
    FieldAgent,
    LenderBranch,
    Roster,
    RosterEntry,
)

# --- The clock of a station ---


def cutoff_at(date: datetime.date) -> datetime.datetime:
    """When the roster for `date` locks: the station's cut-off time on that date, local time."""
    station = schema_station()
    return timezone.make_aware(datetime.datetime.combine(date, station.roster_cutoff))


def local_today() -> datetime.date:
    return timezone.localdate()


def fileable_dates() -> list[datetime.date]:
    """Branches file for today and tomorrow."""
    today = local_today()
    return [today, today + datetime.timedelta(days=1)]


def is_open_for_branches(date: datetime.date) -> bool:
    return date in fileable_dates() and timezone.now() < cutoff_at(date)


# --- Branches ---


@transaction.atomic
def branch_register(*, user: User, **details: object) -> LenderBranch:
    """A lender manager asks to register a branch with the current station; it starts pending."""
    # The back button brings the sent form back filled in; sending it again must not put the
    # same branch twice before the duty officer.
    sent_before = LenderBranch.objects.filter(
        created_by=user,
        lender_name__iexact=str(details.get("lender_name", "")).strip(),
        branch_name__iexact=str(details.get("branch_name", "")).strip(),
    ).exclude(status=LenderBranch.Status.REJECTED)
    if sent_before.exists():
        raise ValidationError(
            _("You have already registered this branch with this police station.")
        )
    branch = LenderBranch(created_by=user, status=LenderBranch.Status.PENDING, **details)
    branch.full_clean()
    branch.save()
    BranchMember.objects.create(branch=branch, user=user, role=BranchMember.Role.MANAGER)
    _grant_lender_role(user)
    stats.refresh_on_commit()
    return branch


def _grant_lender_role(user: User) -> None:
    station = schema_station()
    # A police officer of this station keeps that role; they only gain branch membership.
    if not StationRole.objects.filter(user=user, station=station).exists():
        station_services.station_role_grant(
            user=user, station=station, role=StationRole.Role.LENDER
        )


def _decide(branch: LenderBranch, *, status: str, by: User, reason: str) -> LenderBranch:
    branch = LenderBranch.objects.select_for_update().get(pk=branch.pk)
    branch.status = status
    branch.decided_by = by
    branch.decided_at = timezone.now()
    branch.decision_reason = reason
    branch.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    stats.refresh_on_commit()
    if status in (LenderBranch.Status.APPROVED, LenderBranch.Status.REJECTED):
        notify.branch_decided(branch)
    return branch


@transaction.atomic
def branch_approve(*, branch: LenderBranch, by: User) -> LenderBranch:
    if branch.status not in (LenderBranch.Status.PENDING, LenderBranch.Status.REJECTED):
        raise ValidationError(_("Only a pending or rejected registration can be approved."))
    due.due_now(REMINDERS_JOB)
    return _decide(branch, status=LenderBranch.Status.APPROVED, by=by, reason="")


@transaction.atomic
def branch_reject(*, branch: LenderBranch, by: User, reason: str) -> LenderBranch:
    if not reason.strip():
        raise ValidationError({"reason": _("Say why, so the branch can put it right.")})
    if branch.status != LenderBranch.Status.PENDING:
        raise ValidationError(_("Only a pending registration can be rejected."))
    return _decide(branch, status=LenderBranch.Status.REJECTED, by=by, reason=reason.strip())


@transaction.atomic
def branch_suspend(*, branch: LenderBranch, by: User, reason: str) -> LenderBranch:
    if not reason.strip():
        raise ValidationError({"reason": _("Say why, so the branch can put it right.")})
    if branch.status != LenderBranch.Status.APPROVED:
        raise ValidationError(_("Only an approved branch can be suspended."))
    return _decide(branch, status=LenderBranch.Status.SUSPENDED, by=by, reason=reason.strip())


@transaction.atomic
def branch_reinstate(*, branch: LenderBranch, by: User) -> LenderBranch:
    if branch.status != LenderBranch.Status.SUSPENDED:
        raise ValidationError(_("Only a suspended branch can be reinstated."))
    due.due_now(REMINDERS_JOB)
    return _decide(branch, status=LenderBranch.Status.APPROVED, by=by, reason="")


@transaction.atomic
def branch_member_add(
    *,
    branch: LenderBranch,
    username: str,
    first_name: str,
    password: str,
    phone: str = "",
    email: str = "",
    role: str = BranchMember.Role.STAFF,
    agent: FieldAgent | None = None,
    language: str = User.Language.ENGLISH,
) -> BranchMember:
    """A manager gives a colleague (or one of the branch's field agents) a login of the branch."""
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This username is taken. Choose another.")})
    if agent is not None and agent.branch_id != branch.pk:
        raise ValidationError({"agent": _("Choose one of this branch's field agents.")})
    if agent is not None and BranchMember.objects.filter(agent=agent).exists():
        raise ValidationError({"agent": _("This field agent has a login already.")})
    user = User(
        username=username, first_name=first_name, phone=phone, email=email, language=language
    )
    # The checks of the sign-up page: a branch login opens the agents' trips and the SOS.
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.error_list}) from exc
    user.set_password(password)
    user.full_clean()
    user.save()
    member = BranchMember.objects.create(branch=branch, user=user, role=role, agent=agent)
    _grant_lender_role(user)
    return member


@transaction.atomic
def branch_member_remove(*, member: BranchMember, by: User) -> None:
    """A manager takes a login off the branch (a colleague who left, a lost phone): it is signed
    out everywhere and keeps no power here. An account with no other role anywhere is closed, so
    it cannot sign in to register a branch of its own; the login's history stays."""
    if member.user_id == by.pk:
        raise ValidationError(_("You cannot remove your own login."))
    if member.role == BranchMember.Role.MANAGER:
        raise ValidationError(_("A manager's login cannot be removed."))
    user = member.user
    member.delete()
    if not BranchMember.objects.filter(user=user).exists():
        StationRole.objects.filter(
            user=user, station=schema_station(), role=StationRole.Role.LENDER
        ).delete()
    if not (
        StationRole.objects.filter(user=user).exists()
        or SubdivisionRole.objects.filter(user=user).exists()
    ):
        user.is_active = False
        user.save(update_fields=["is_active"])
    station_services.user_sessions_end(user=user)


# --- Field agents ---


def _agent_check_unique(agent: FieldAgent) -> None:
    clash = FieldAgent.objects.filter(
        branch_id=agent.branch_id, employee_id__iexact=agent.employee_id
    ).exclude(pk=agent.pk)
    if clash.exists():
        raise ValidationError(
            {"employee_id": _("Another agent of this branch has this employee id.")}
        )


@transaction.atomic
def agent_create(*, branch: LenderBranch, **details: object) -> FieldAgent:
    agent = FieldAgent(branch=branch, **details)
    # The employee id's constraint is checked by `_agent_check_unique`, in any letter case and
    # with a message people understand; Django's own would say "... with this Branch and ...".
    agent.full_clean(validate_unique=False, validate_constraints=False)
    _agent_check_unique(agent)
    agent.save()
    return agent


@transaction.atomic
def agent_update(*, agent: FieldAgent, **details: object) -> FieldAgent:
    # The stored row's: a form has already put its own values on `agent`.
    kept_photo = FieldAgent.objects.filter(pk=agent.pk).values_list("photo", flat=True).get()
    for name, value in details.items():
        # As a form would: a cleared photo (False) is stored as none.
        cast(Field, FieldAgent._meta.get_field(name)).save_form_data(agent, value)
    agent.full_clean(validate_unique=False, validate_constraints=False)
    _agent_check_unique(agent)
    agent.save()
    if kept_photo and kept_photo != agent.photo.name:
        # A replaced or cleared photo is a person's face the portal no longer needs: it leaves the
        # disk once the change is kept.
        storage = agent.photo.storage
        transaction.on_commit(lambda: storage.delete(kept_photo))
    return agent


@transaction.atomic
def agent_set_active(*, agent: FieldAgent, active: bool) -> FieldAgent:
    """Deactivating keeps the agent's history; they cannot be put on a roster, and their
    login, if they have one, is signed out everywhere and keeps no powers."""
    agent.active = active
    agent.save(update_fields=["active"])
    if not active:
        for member in BranchMember.objects.filter(agent=agent).select_related("user"):
            station_services.user_sessions_end(user=member.user)
    return agent


# --- Collection areas ---


@transaction.atomic
def area_save(*, area: CollectionArea) -> CollectionArea:
    area.full_clean()
    area.save()
    return area


@transaction.atomic
def area_propose(*, branch: LenderBranch, name: str, locality: str = "") -> CollectionArea:
    """A branch asks the station to add a missing area; it cannot be used until accepted."""
    if not name.strip():
        raise ValidationError({"name": _("Give the area's name.")})
    # An area already on the list (by either of its names), or this branch's own proposal
    # waiting, would only leave the officer a duplicate to merge.
    same = Q(name__iexact=name.strip()) | Q(name_bn=name.strip())
    known = (
        CollectionArea.objects.filter(same)
        .filter(
            Q(status=CollectionArea.Status.ACTIVE)
            | Q(status=CollectionArea.Status.PROPOSED, proposed_by=branch)
        )
        .first()
    )
    if known is not None and known.status == CollectionArea.Status.ACTIVE:
        raise ValidationError(
            {
                "name": _("The station already has this area: choose “%(area)s” on the roster.")
                % {"area": known.display_name}
            }
        )
    if known is not None:
        raise ValidationError({"name": _("You have proposed this area already.")})
    area = CollectionArea(
        name=name.strip(),
        locality=locality.strip(),
        status=CollectionArea.Status.PROPOSED,
        proposed_by=branch,
    )
    area.full_clean()
    area.save()
    return area


@transaction.atomic
def area_accept(*, area: CollectionArea) -> CollectionArea:
    if area.status != CollectionArea.Status.PROPOSED:
        raise ValidationError(_("Only a proposed area can be accepted."))
    area.status = CollectionArea.Status.ACTIVE
    area.save(update_fields=["status"])
    return area


@transaction.atomic
def area_merge(*, area: CollectionArea, into: CollectionArea) -> CollectionArea:
    """A proposed area that already exists under another name: point its entries there."""
    if area.status != CollectionArea.Status.PROPOSED:
        raise ValidationError(_("Only a proposed area can be merged."))
    if into.status != CollectionArea.Status.ACTIVE or into.pk == area.pk:
        raise ValidationError({"into": _("Choose an active area to merge into.")})
    RosterEntry.objects.filter(area=area).update(area=into)
    area.status = CollectionArea.Status.MERGED
    area.merged_into = into
    area.save(update_fields=["status", "merged_into"])
    return into


# --- The roster ---


@dataclass
class EntryInput:
    """What a branch says about one trip, from a form, an upload row or an API call."""

    agent: FieldAgent | None
    area: CollectionArea | None
    depart_at: datetime.time | None
    return_at: datetime.time | None
    cash_band: str
    centres: str = ""
    vehicle_registration: str = ""
    deposit_point: str = ""
    notes: str = ""


class RosterRowsInvalid(ValidationError):
    """Several entries at once had errors; `rows` maps each bad row's index to its errors."""

    def __init__(self, rows: dict[int, ValidationError]) -> None:
        self.rows = rows
        super().__init__(_("%(count)d rows have errors.") % {"count": len(rows)})


def roster_for(*, branch: LenderBranch, date: datetime.date, lock: bool = False) -> Roster:
    if lock:
        return _locked_roster(branch, date)
    roster, _created = Roster.objects.get_or_create(branch=branch, date=date)
    return roster


def _locked_roster(
    branch: LenderBranch, date: datetime.date, *, filed_by: User | None = None
) -> Roster:
    """The branch's roster for `date`, created if need be, locked until the transaction ends.

    A roster that exists (every entry after the first) costs one query, its branch included.
    The first entry's INSERT skips a row a concurrent first entry made, so neither needs a
    savepoint to retry, and the second lock then waits for that filing to commit. A roster
    made for an entry being filed (`filed_by`) is made filed, which saves the UPDATE that would
    file it; should the entry fail, the transaction takes the roster back with it.
    """
    # The branch comes in the same query, read inside the transaction: its status decides.
    rosters = (
        Roster.objects.select_for_update(of=("self",))
        .select_related("branch")
        .filter(branch=branch, date=date)
    )
    roster = rosters.first()
    if roster is None:
        new = Roster(branch=branch, date=date)
        if filed_by is not None:
            new.status, new.filed_by, new.filed_at = Roster.Status.FILED, filed_by, timezone.now()
        Roster.objects.bulk_create([new], ignore_conflicts=True)
        roster = rosters.get()
    return roster


def _check_can_change(roster: Roster, *, as_officer: bool) -> None:
    if as_officer:
        return
    branch = roster.branch
    if not branch.can_file:
        raise ValidationError(
            _("This branch is %(status)s, so it cannot file rosters.")
            % {"status": branch.get_status_display().lower()}
        )
    if roster.date not in fileable_dates():
        raise ValidationError(_("Rosters can be filed for today and tomorrow only."))
    if roster.status == Roster.Status.LOCKED or timezone.now() >= cutoff_at(roster.date):
        # The date and time as params: a page writes them in its reader's numerals.
        raise ValidationError(
            _(
                "The roster for %(date)s locked at the %(time)s cut-off. Ask the station's "
                "duty officer to add or change entries."
            ),
            code="locked",
            params={
                "date": date_format(roster.date, "DATE_FORMAT"),
                "time": schema_station().roster_cutoff.strftime("%H:%M"),
            },
        )


def entry_hours_error(
    depart_at: datetime.time | None, return_at: datetime.time | None
) -> str | None:
    """What is wrong with a trip's hours on their own, if anything (both given)."""
    if depart_at and return_at and return_at <= depart_at:
        return _("Return must be after departure, on the same day.")
    return None


def _entry_errors(
    data: EntryInput, *, roster: Roster, exclude: RosterEntry | None
) -> dict[str, list[str | ValidationError]]:
    errors: dict[str, list[str | ValidationError]] = {}

    def add(field: str, message: str | ValidationError) -> None:
        errors.setdefault(field, []).append(message)

    if data.agent is None:
        add("agent", _("Choose the field agent."))
    elif data.agent.branch_id != roster.branch_id or not data.agent.active:
        add("agent", _("Choose an active field agent of this branch."))
    if data.area is None:
        add("area", _("Choose the area."))
    elif data.area.status != CollectionArea.Status.ACTIVE:
        add("area", _("Choose one of the station's areas."))
    if data.depart_at is None:
        add("depart_at", _("Give the departure time."))
    if data.return_at is None:
        add("return_at", _("Give the expected return time."))
    hours = entry_hours_error(data.depart_at, data.return_at)
    if hours:
        add("return_at", hours)
    if data.cash_band not in CashBand.values:
        add(
            "cash_band",
            # A file's cell takes the code or the label, so both are named.
            _("Choose the cash band, one of: %(codes)s.")
            % {"codes": ", ".join(f"{band.value} ({band.label})" for band in CashBand)},
        )
    if (
        "agent" not in errors
        and data.agent
        and data.depart_at
        and data.return_at
        and not errors.get("return_at")
    ):
        clash = (
            RosterEntry.objects.filter(
                roster__date=roster.date,
                agent=data.agent,
                depart_at__lt=data.return_at,
                return_at__gt=data.depart_at,
            )
            # No entry has a null id: with nothing to leave out, this leaves out nothing.
            .exclude(pk=exclude.pk if exclude else None)  # type: ignore[misc]
            .first()
        )
        if clash is not None:
            # The times as params, not in the text: a page writes them in its reader's
            # numerals, the API's JSON in ASCII digits.
            add(
                "agent",
                ValidationError(
                    _("%(agent)s is already out %(start)s-%(end)s in another entry."),
                    code="clash",
                    params={
                        "agent": data.agent.name,
                        "start": f"{clash.depart_at:%H:%M}",
                        "end": f"{clash.return_at:%H:%M}",
                    },
                ),
            )
    return errors


def _apply(entry: RosterEntry, data: EntryInput) -> None:
    for f in fields(EntryInput):
        setattr(entry, f.name, getattr(data, f.name))
    # One spelling of a number plate whichever way it came (form, file, API): officers read it
    # off the sheet and match it on the road.
    entry.vehicle_registration = " ".join(data.vehicle_registration.upper().split())


def _mark_filed(roster: Roster, by: User) -> None:
    if roster.status == Roster.Status.DRAFT:
        roster.status = Roster.Status.FILED
        roster.filed_by = by
        roster.filed_at = timezone.now()
        roster.no_collection = False
        roster.save(update_fields=["status", "filed_by", "filed_at", "no_collection"])
    elif roster.no_collection:
        roster.no_collection = False
        roster.save(update_fields=["no_collection"])


def _add(roster: Roster, data: EntryInput, *, by: User, as_officer: bool) -> RosterEntry:
    errors = _entry_errors(data, roster=roster, exclude=None)
    if errors:
        raise ValidationError(errors)
    entry = RosterEntry(roster=roster, created_by=by)
    _apply(entry, data)
    entry.is_late = as_officer and timezone.now() >= cutoff_at(roster.date)
    entry.save()
    return entry


@transaction.atomic
def roster_entry_add(
    *,
    branch: LenderBranch,
    date: datetime.date,
    data: EntryInput,
    by: User,
    as_officer: bool = False,
) -> RosterEntry:
    """Add one trip to the branch's roster for `date`.

    The roster row is locked first, so two entries for one agent filed at the same moment are
    checked against each other. A duty officer (`as_officer`) may add after cut-off; such an
    entry is marked late.
    """
    roster = _locked_roster(branch, date, filed_by=by)
    _check_can_change(roster, as_officer=as_officer)
    entry = _add(roster, data, by=by, as_officer=as_officer)
    _mark_filed(roster, by)
    stats.refresh_on_commit(date=date)
    return entry


@transaction.atomic
def roster_entry_update(
    *, entry: RosterEntry, data: EntryInput, as_officer: bool = False
) -> RosterEntry:
    roster = Roster.objects.select_for_update().select_related("branch").get(pk=entry.roster_id)
    _check_can_change(roster, as_officer=as_officer)
    errors = _entry_errors(data, roster=roster, exclude=entry)
    if errors:
        raise ValidationError(errors)
    _apply(entry, data)
    if as_officer and timezone.now() >= cutoff_at(roster.date):
        entry.is_late = True
    entry.save()
    stats.refresh_on_commit(date=roster.date)
    return entry


@transaction.atomic
def roster_entry_delete(*, entry: RosterEntry, as_officer: bool = False) -> None:
    roster = Roster.objects.select_for_update().select_related("branch").get(pk=entry.roster_id)
    _check_can_change(roster, as_officer=as_officer)
    entry.delete()
    if not roster.entries.exists() and roster.status == Roster.Status.FILED:
        roster.status = Roster.Status.DRAFT
        roster.save(update_fields=["status"])
    stats.refresh_on_commit(date=roster.date)


@transaction.atomic
def roster_entries_replace(
    *, branch: LenderBranch, date: datetime.date, rows: list[EntryInput], by: User
) -> list[RosterEntry]:
    """Make the roster for `date` exactly these rows (an upload, an API PUT): all or nothing.

    Every row is checked, including against the rows before it, and all errors are reported
    together in `RosterRowsInvalid.rows`; nothing changes unless every row is good.
    """
    roster = roster_for(branch=branch, date=date, lock=True)
    _check_can_change(roster, as_officer=False)
    roster.entries.all().delete()
    entries: list[RosterEntry] = []
    bad: dict[int, ValidationError] = {}
    for index, data in enumerate(rows):
        try:
            with transaction.atomic():
                entries.append(_add(roster, data, by=by, as_officer=False))
        except ValidationError as exc:
            bad[index] = exc
    if bad:
        raise RosterRowsInvalid(bad)
    if entries:
        _mark_filed(roster, by)
    elif roster.status == Roster.Status.FILED:
        roster.status = Roster.Status.DRAFT
        roster.save(update_fields=["status"])
    stats.refresh_on_commit(date=date)
    return entries


@dataclass(frozen=True)
class CopyResult:
    added: list[RosterEntry]
    skipped: list[tuple[RosterEntry, ValidationError]]
    source: Roster | None


@transaction.atomic
def roster_copy_from_last(*, branch: LenderBranch, date: datetime.date, by: User) -> CopyResult:
    """Copy the trips of the branch's latest earlier roster into `date`'s, keeping what fits.

    Entries that break a rule today (an agent since deactivated, a clash with what is already
    filed) are skipped with the reason, not copied.
    """
    roster = roster_for(branch=branch, date=date, lock=True)
    _check_can_change(roster, as_officer=False)
    source = (
        Roster.objects.filter(branch=branch, date__lt=date, entries__isnull=False)
        .order_by("-date")
        .first()
    )
    added: list[RosterEntry] = []
    skipped: list[tuple[RosterEntry, ValidationError]] = []
    if source is not None:
        for old in source.entries.select_related("agent", "area"):
            data = EntryInput(**{f.name: getattr(old, f.name) for f in fields(EntryInput)})
            try:
                with transaction.atomic():
                    added.append(_add(roster, data, by=by, as_officer=False))
            except ValidationError as exc:
                skipped.append((old, exc))
    if added:
        _mark_filed(roster, by)
        stats.refresh_on_commit(date=date)
    return CopyResult(added=added, skipped=skipped, source=source)


@transaction.atomic
def roster_declare_no_collection(*, branch: LenderBranch, date: datetime.date, by: User) -> Roster:
    """The branch has no trips on `date`: the station stops waiting for its roster and no
    reminder goes out. Only for a roster with no trips, before cut-off; filing a trip later
    takes the declaration back."""
    roster = roster_for(branch=branch, date=date, lock=True)
    _check_can_change(roster, as_officer=False)
    trips = roster.entries.count()
    if trips:
        raise ValidationError(
            _(
                "The roster for %(date)s has %(count)d trips. Remove them first if there is "
                "no collection that day."
            )
            % {"date": date_format(date, "DATE_FORMAT"), "count": trips}
        )
    if not roster.no_collection:
        roster.no_collection = True
        roster.filed_by = by
        roster.filed_at = timezone.now()
        roster.save(update_fields=["no_collection", "filed_by", "filed_at"])
        stats.refresh_on_commit(date=date)
    return roster


@transaction.atomic
def rosters_lock(*, date: datetime.date) -> int:
    """Lock every roster of the station for `date` (the cut-off job); returns how many."""
    return (
        Roster.objects.filter(date=date)
        .exclude(status=Roster.Status.LOCKED)
        .update(status=Roster.Status.LOCKED, locked_at=timezone.now())
    )


def branch_register_at(*, station: Station, user: User, **details: object) -> LenderBranch:
    """Register a branch with `station` from the public site."""
    with tenant_context(station):
        return branch_register(user=user, **details)


# The minute job's name in the stations' due times (stations.due).
REMINDERS_JOB = "lenders.roster_reminders"


def roster_reminders_run(*, now: datetime.datetime | None = None) -> int:
    """The station's reminder job: send what is due, then store when the next window opens."""
    now = now or timezone.now()
    count = roster_reminders_send(now=now)
    due.due_set(job=REMINDERS_JOB, at=roster_reminders_next_due(now=now), started=now)
    return count


def roster_reminders_next_due(*, now: datetime.datetime) -> datetime.datetime:
    """When the reminder job next has work: the opening of today's window if it is still to
    come, else tomorrow's (a run inside the window has just reminded every branch; one
    approved later brings the time forward)."""
    lead = datetime.timedelta(minutes=schema_station().reminder_lead_minutes)
    today = timezone.localdate(now)
    opens = cutoff_at(today) - lead
    if now < opens:
        return opens
    return cutoff_at(today + datetime.timedelta(days=1)) - lead


def roster_reminders_send(*, now: datetime.datetime | None = None) -> int:
    """In the station's reminder window before today's cut-off, remind every approved branch
    with nothing filed for today. The outbox's event key sends each branch one a day."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    cutoff = cutoff_at(today)
    lead = datetime.timedelta(minutes=schema_station().reminder_lead_minutes)
    if not cutoff - lead <= now < cutoff:
        return 0
    filed = RosterEntry.objects.filter(roster__date=today).values("roster__branch_id")
    none_today = Roster.objects.filter(date=today, no_collection=True).values("branch_id")
    branches = (
        LenderBranch.objects.filter(status=LenderBranch.Status.APPROVED)
        .exclude(pk__in=filed)
        .exclude(pk__in=none_today)
    )
    count = 0
    for branch in branches:
        with transaction.atomic():
            notify.roster_reminder(branch, today)
        count += 1
    return count
