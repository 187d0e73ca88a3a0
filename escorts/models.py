"""Station schema: officers, escort teams, and the duty sheet the planner drafts each morning."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from escort_portal import audit
from escort_portal.formats import native_digits, page_date
from escort_portal.stamps import CreatedStamp, Stamped, UpdatedStamp
from lenders.models import CollectionArea, RosterEntry


def build_grace() -> datetime.timedelta:
    """A build still "running" this long after its planner budget is taken to have died with
    its worker; a rebuild may then start afresh (`BUILD_GRACE_SECONDS`, 5 minutes)."""
    return datetime.timedelta(seconds=settings.BUILD_GRACE_SECONDS)


class DutySheetQuerySet(models.QuerySet):
    def in_force(self, date: datetime.date) -> DutySheet | None:
        """The version that counts for `date`: the published one, else the draft being
        worked on; None when there is neither."""
        sheets = self.filter(date=date).exclude(status=DutySheet.Status.SUPERSEDED)
        return sheets.filter(status=DutySheet.Status.PUBLISHED).first() or sheets.first()


class EscortRunQuerySet(models.QuerySet):
    def overdue(self, now: datetime.datetime, *, grace: datetime.timedelta) -> EscortRunQuerySet:
        """Runs of a published sheet still waiting `grace` (the station's start grace) past
        their start on their own day; `EscortRun.is_overdue` is the same rule for one run in
        hand."""
        latest = timezone.localtime(now) - grace
        return self.filter(
            Q(sheet__date__lt=latest.date())
            | Q(sheet__date=latest.date(), start__lte=latest.time()),
            sheet__status=DutySheet.Status.PUBLISHED,
            status__in=EscortRun.WAITING,
        )


@audit.track()
class Officer(UpdatedStamp):
    class Rank(models.TextChoices):
        SI = "si", _("Sub-Inspector (SI)")
        ASI = "asi", _("Assistant Sub-Inspector (ASI)")
        CONSTABLE = "constable", _("Constable")
        LADY_CONSTABLE = "lady_constable", _("Lady Constable")
        HOME_GUARD = "home_guard", _("Home Guard")
        CIVIC_VOLUNTEER = "civic", _("Civic Volunteer")

    name = models.CharField(_("name"), max_length=120)
    rank = models.CharField(_("rank"), max_length=20, choices=Rank.choices)
    badge_no = models.CharField(_("badge number"), max_length=30, blank=True)
    phone = PhoneNumberField(_("mobile number"), region="IN")
    # The officer's login, if they have one; it lives in the public schema.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        db_constraint=False,  # users live in public: see stations.schemas
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("login"),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["badge_no"],
                condition=~Q(badge_no=""),
                name="officer_badge_no_unique",
                violation_error_message=_("Another officer of the station has this badge number."),
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(user__isnull=False),
                name="officer_one_per_login",
                violation_error_message=_("That login is already another officer's."),
            ),
        ]
        verbose_name = _("officer")
        verbose_name_plural = _("officers")

    def __str__(self) -> str:
        return f"{self.get_rank_display()} {self.name}"


@audit.track()
class EscortTeam(UpdatedStamp):
    name = models.CharField(_("name"), max_length=80, unique=True)
    leader = models.ForeignKey(
        Officer, on_delete=models.PROTECT, related_name="teams_led", verbose_name=_("leader")
    )
    members = models.ManyToManyField(
        Officer, blank=True, related_name="teams", verbose_name=_("members")
    )
    vehicle = models.CharField(_("vehicle"), max_length=60, blank=True)
    shift_start = models.TimeField(_("shift starts"), default=datetime.time(7, 0))
    shift_end = models.TimeField(_("shift ends"), default=datetime.time(17, 0))
    capacity = models.PositiveSmallIntegerField(_("capacity (agents escorted at once)"), default=4)
    base_latitude = models.DecimalField(
        _("base latitude"), max_digits=8, decimal_places=5, null=True, blank=True
    )
    base_longitude = models.DecimalField(
        _("base longitude"), max_digits=8, decimal_places=5, null=True, blank=True
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(shift_end__gt=F("shift_start")), name="team_shift_ends_after_start"
            ),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="team_capacity_positive"),
        ]
        verbose_name = _("escort team")
        verbose_name_plural = _("escort teams")

    def __str__(self) -> str:
        return self.name


@audit.track()
class TeamOffDuty(CreatedStamp):
    """A team that is not available on one date (leave, law-and-order duty, vehicle repair)."""

    team = models.ForeignKey(
        EscortTeam, on_delete=models.CASCADE, related_name="days_off", verbose_name=_("team")
    )
    date = models.DateField(_("date"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["date", "team__name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "date"], name="team_off_duty_once_per_date")
        ]
        verbose_name = _("team off duty")
        verbose_name_plural = _("teams off duty")

    def __str__(self) -> str:
        return f"{self.team} · {self.date:%Y-%m-%d}"

    @property
    def label(self) -> str:
        """As a page names it: the date in the portal's format and the reader's numerals."""
        return f"{self.team} · {page_date(self.date)}"


@audit.track(exclude=["build_stage", "updated_at", "created_at"])
class DutySheet(Stamped):
    """One version of the escort plan for one date.

    Versions only grow: a rebuild, or a change to a published version, makes a new row and marks
    the one it replaces superseded, so every published version stays as it was sent.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        SUPERSEDED = "superseded", _("Superseded")

    class Build(models.TextChoices):
        RUNNING = "running", _("Building")
        DONE = "done", _("Built")
        FAILED = "failed", _("Build failed")
        COPIED = "copied", _("Copied from the previous version")

    class Origin(models.TextChoices):
        CUTOFF = "cutoff", _("Built at cut-off")
        REBUILD = "rebuild", _("Rebuilt by the duty officer")
        CHANGE = "change", _("Changed after publishing")

    date = models.DateField(_("date"))
    version = models.PositiveSmallIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.DRAFT
    )
    origin = models.CharField(_("origin"), max_length=10, choices=Origin.choices)
    previous = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("previous version"),
    )
    build_status = models.CharField(
        max_length=10, choices=Build.choices, default=Build.RUNNING, verbose_name=_("build status")
    )
    build_stage = models.CharField(max_length=20, blank=True, verbose_name=_("build stage"))
    build_started_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("build started at")
    )
    build_seconds = models.PositiveSmallIntegerField(default=0, verbose_name=_("build seconds"))
    build_error = models.TextField(blank=True, verbose_name=_("build error"))
    built_at = models.DateTimeField(_("built at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        db_constraint=False,  # users live in public: see stations.schemas
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("published by"),
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True, verbose_name=_("superseded at"))
    # What this version changed against the version published before it, set when published.
    changes = models.JSONField(default=list, blank=True, verbose_name=_("changes"))

    objects = DutySheetQuerySet.as_manager()

    class Meta:
        ordering = ["date", "version"]
        constraints = [
            models.UniqueConstraint(fields=["date", "version"], name="sheet_version_unique"),
            models.UniqueConstraint(
                fields=["date"], condition=Q(status="draft"), name="sheet_one_draft_per_date"
            ),
            models.UniqueConstraint(
                fields=["date"],
                condition=Q(status="published"),
                name="sheet_one_published_per_date",
            ),
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False),
                name="sheet_published_has_time",
            ),
        ]
        verbose_name = _("duty sheet")
        verbose_name_plural = _("duty sheets")

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} v{self.version}"

    @property
    def label(self) -> str:
        """As a page names it: the date and version in the reader's numerals."""
        return f"{page_date(self.date)} v{native_digits(self.version)}"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_building(self) -> bool:
        return self.build_status == self.Build.RUNNING

    def build_is_stale(self, now: datetime.datetime) -> bool:
        """Building past the planner's budget and the grace: the worker that had it is gone.
        Still queued (no worker has started it) past `BUILD_QUEUE_SECONDS`: its message is."""
        if self.build_started_at is None:
            waited = datetime.timedelta(seconds=settings.BUILD_QUEUE_SECONDS)
            return now > self.created_at + waited
        budget = datetime.timedelta(seconds=self.build_seconds)
        return now > self.build_started_at + budget + build_grace()

    @property
    def is_stuck(self) -> bool:
        return self.is_building and self.build_is_stale(timezone.now())

    @property
    def was_published(self) -> bool:
        return self.published_at is not None


@audit.track()
class EscortRun(Stamped):
    """One team escorting a group of entries of one area from `start` to `end`.

    Its `created_by` is blank when the planner made the run."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        STARTED = "started", _("Started")
        COMPLETED = "completed", _("Completed")
        MISSED = "missed", _("Missed")

    sheet = models.ForeignKey(
        DutySheet, on_delete=models.CASCADE, related_name="runs", verbose_name=_("sheet")
    )
    team = models.ForeignKey(
        EscortTeam, on_delete=models.PROTECT, related_name="runs", verbose_name=_("team")
    )
    area = models.ForeignKey(
        CollectionArea, on_delete=models.PROTECT, related_name="+", verbose_name=_("area")
    )
    start = models.TimeField(_("start"))
    end = models.TimeField(_("end"))
    entries: models.ManyToManyField[RosterEntry, RunEntry] = models.ManyToManyField(
        RosterEntry, through="RunEntry", related_name="+", verbose_name=_("entries")
    )
    meeting_point = models.CharField(_("meeting point"), max_length=200, blank=True)
    # Set when the duty officer shaped the run by hand (made it, put an entry on it, set its
    # meeting point or team) or pinned it: a rebuild keeps it unchanged and plans around it.
    pinned = models.BooleanField(_("pinned"), default=False)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PLANNED
    )
    # The run of the previous version this one was copied from: its progress carries over.
    copied_from = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("copied from"),
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True, verbose_name=_("acknowledged at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    completed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("completed at"))
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        db_constraint=False,  # users live in public: see stations.schemas
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("status changed by"),
    )
    # Not stored: marked on the runs a page lists, when they should have started by now.
    overdue: bool

    objects = EscortRunQuerySet.as_manager()

    # Not started yet: the statuses a run can be overdue in.
    WAITING = (Status.PLANNED, Status.ACKNOWLEDGED)

    class Meta:
        ordering = ["team__name", "start", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="run_ends_after_start"),
        ]
        verbose_name = _("escort run")
        verbose_name_plural = _("escort runs")

    def __str__(self) -> str:
        return f"{self.team} · {self.area} · {self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def label(self) -> str:
        """The run as a page names it, its hours in the reader's numerals (`__str__` keeps
        ASCII for the records and the chat replies); the team's name as it was typed."""
        hours = native_digits(f"{self.start:%H:%M}-{self.end:%H:%M}")
        return f"{self.team} · {self.area} · {hours}"

    def is_overdue(
        self, now: datetime.datetime, *, date: datetime.date, grace: datetime.timedelta
    ) -> bool:
        """The rule of `EscortRunQuerySet.overdue` for this run of a published sheet of `date`."""
        start = timezone.make_aware(datetime.datetime.combine(date, self.start))
        return self.status in self.WAITING and now >= start + grace


@audit.track()
class RunEntry(models.Model):
    """An entry on a run. One entry is on at most one run of a sheet."""

    sheet = models.ForeignKey(
        DutySheet, on_delete=models.CASCADE, related_name="+", verbose_name=_("sheet")
    )
    run = models.ForeignKey(
        EscortRun, on_delete=models.CASCADE, related_name="run_entries", verbose_name=_("run")
    )
    entry = models.ForeignKey(
        RosterEntry, on_delete=models.CASCADE, related_name="+", verbose_name=_("entry")
    )
    # The leader's word, when completing the run, that this agent reached the deposit point.
    reached_at = models.DateTimeField(_("reached the deposit point at"), null=True, blank=True)
    reached_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        db_constraint=False,  # users live in public: see stations.schemas
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("confirmed by"),
    )

    class Meta:
        verbose_name = _("entry on a run")
        verbose_name_plural = _("entries on runs")
        constraints = [
            models.UniqueConstraint(fields=["sheet", "entry"], name="entry_once_per_sheet")
        ]

    def __str__(self) -> str:
        return f"{self.run} · {self.entry_id}"

    @property
    def label(self) -> str:
        """As `__str__`, the run named as a page names it (`EscortRun.label`)."""
        return f"{self.run.label} · {self.entry_id}"


class UncoveredEntry(CreatedStamp):
    """An entry of the date that no run of the sheet covers, and why: watched by patrols."""

    # What the branch and its agent are told; short enough for one SMS variable.
    PLAIN_REASONS = {
        "no_coordinates": _("no map point for the area"),
        "no_team": _("no escort team on duty"),
        "outside_shifts": _("outside escort hours"),
        "no_team_free": _("every escort team is busy"),
        "removed": _("taken off the plan"),
        "late": _("filed after the plan was made"),
    }

    class Reason(models.TextChoices):
        NO_COORDINATES = "no_coordinates", _("The area has no location")
        NO_TEAM_ON_DUTY = "no_team", _("No team on duty")
        OUTSIDE_SHIFTS = "outside_shifts", _("Outside every team's shift")
        NO_TEAM_FREE = "no_team_free", _("No team free")
        REMOVED = "removed", _("Taken off a run by the duty officer")
        LATE = "late", _("Added after the sheet was built")

    sheet = models.ForeignKey(
        DutySheet, on_delete=models.CASCADE, related_name="uncovered", verbose_name=_("sheet")
    )
    entry = models.ForeignKey(
        RosterEntry, on_delete=models.CASCADE, related_name="+", verbose_name=_("entry")
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    detail = models.CharField(_("detail"), max_length=255, blank=True)

    class Meta:
        ordering = ["entry__depart_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["sheet", "entry"], name="uncovered_once_per_sheet")
        ]
        verbose_name = _("uncovered entry")
        verbose_name_plural = _("uncovered entries")

    def __str__(self) -> str:
        return f"{self.entry_id} · {self.get_reason_display()}"

    @property
    def plain_reason(self) -> str:
        return str(self.PLAIN_REASONS.get(self.reason, self.get_reason_display()))

    @classmethod
    def detail_of(cls, reason: str, entry: RosterEntry) -> str:
        """What `reason` is about for `entry`, in the active language and numerals ('' where the
        reason says it all)."""
        if reason == cls.Reason.NO_COORDINATES:
            return gettext("%(area)s has no map location.") % {"area": entry.area.display_name}
        if reason == cls.Reason.OUTSIDE_SHIFTS:
            return gettext("%(start)s-%(end)s is outside every team's shift.") % {
                "start": native_digits(f"{entry.depart_at:%H:%M}"),
                "end": native_digits(f"{entry.return_at:%H:%M}"),
            }
        return ""

    @property
    def reason_detail(self) -> str:
        """`detail` written again from the entry in the reader's language and numerals: `detail`
        keeps it in the language the sheet was built in. The entry's area and times are the ones
        the sheet's row shows beside it."""
        return self.detail_of(self.reason, self.entry) or self.detail


class SignKind(models.TextChoices):
    """What told the station a run is alive."""

    STATUS = "status", _("status change")
    CHECK_IN = "check_in", _("check-in")
    POSITION = "position", _("position")


class SignSource(models.TextChoices):
    PAGE = "page", _("the run page")
    CHAT = "chat", _("a chat message")


class RunWatch(models.Model):
    """A run's last sign of life and last known position: one row per run, moved on by every
    check-in, position and status change (escorts.watch reads it).

    Not in the audit trail: a started run's page sends its position every minute, and the
    check-ins and positions themselves are kept as `RunSign` rows.
    """

    run = models.OneToOneField(
        EscortRun,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="watch",
        verbose_name=_("run"),
    )
    last_sign_at = models.DateTimeField(_("last sign of life"))
    last_sign = models.CharField(_("last sign"), max_length=10, choices=SignKind.choices)
    latitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True, verbose_name=_("latitude")
    )
    longitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True, verbose_name=_("longitude")
    )
    accuracy_m = models.PositiveIntegerField(_("accuracy (metres)"), null=True, blank=True)
    located_at = models.DateTimeField(_("position taken at"), null=True, blank=True)

    class Meta:
        verbose_name = _("run watch")
        verbose_name_plural = _("run watches")

    def __str__(self) -> str:
        return f"{self.run_id} @ {timezone.localtime(self.last_sign_at):%H:%M}"

    @property
    def has_position(self) -> bool:
        return self.latitude is not None and self.longitude is not None


class RunSign(models.Model):
    """One check-in or position of a run: the day's track. Each is accepted once per key (a
    page's idempotency key, a chat message's id), so a double tap or a replay adds nothing.
    Retention deletes them after the station's retention days."""

    run = models.ForeignKey(
        EscortRun, on_delete=models.CASCADE, related_name="signs", verbose_name=_("run")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=SignKind.choices)
    key = models.CharField(_("idempotency key"), max_length=100, unique=True)
    # When the phone made it (a check-in queued offline arrives later), never after arrival.
    at = models.DateTimeField(_("made at"))
    received_at = models.DateTimeField(_("received at"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        db_constraint=False,  # users live in public: see stations.schemas
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    source = models.CharField(
        _("source"), max_length=5, choices=SignSource.choices, default=SignSource.PAGE
    )
    latitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True, verbose_name=_("latitude")
    )
    longitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True, verbose_name=_("longitude")
    )
    accuracy_m = models.PositiveIntegerField(_("accuracy (metres)"), null=True, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["run", "at"]), models.Index(fields=["received_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=[SignKind.CHECK_IN, SignKind.POSITION]),
                name="run_sign_kind",
            ),
            models.CheckConstraint(
                condition=~Q(kind=SignKind.POSITION)
                | Q(latitude__isnull=False, longitude__isnull=False),
                name="run_sign_position_has_coordinates",
            ),
        ]
        verbose_name = _("run sign of life")
        verbose_name_plural = _("run signs of life")

    def __str__(self) -> str:
        return f"{self.run_id} {self.kind} @ {self.at:%H:%M}"


@audit.track()
class RunEscalation(models.Model):
    """One rung of the station's ladder told of one run's trouble: written with its outbox
    messages in one transaction, once per (run, spell, rung). A spell is one stretch of
    silence (from the last sign of life) or the run's waiting before its start, so a rung
    hears once per spell however often the minute job looks."""

    class Reason(models.TextChoices):
        SILENT = "silent", _("No sign of life")
        NOT_ACKNOWLEDGED = "not_acknowledged", _("Not acknowledged")
        NOT_STARTED = "not_started", _("Not started")

    class Rung(models.TextChoices):
        LEADER_APP = "leader_app", _("Team leader, in the portal")
        LEADER_PHONE = "leader_phone", _("Team leader, by SMS or WhatsApp")
        DUTY_OFFICER = "duty_officer", _("Duty officers")
        OC = "oc", _("Officer-in-charge")
        SDPO = "sdpo", _("SDPO's office")

    run = models.ForeignKey(
        EscortRun, on_delete=models.CASCADE, related_name="escalations", verbose_name=_("run")
    )
    spell = models.CharField(_("spell"), max_length=40)
    rung = models.CharField(_("rung"), max_length=15, choices=Rung.choices)
    stage = models.CharField(_("stage"), max_length=5)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    at = models.DateTimeField(_("told at"))
    messages = models.PositiveSmallIntegerField(_("messages"), default=0)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "spell", "rung"], name="run_escalation_once_per_spell"
            )
        ]
        verbose_name = _("run escalation")
        verbose_name_plural = _("run escalations")

    def __str__(self) -> str:
        return f"{self.run_id} {self.reason} → {self.rung}"
