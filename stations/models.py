"""Public schema: subdivisions, stations (the tenants), users and their roles."""

from __future__ import annotations

import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.postgresql_backend.base import _check_schema_name
from django_tenants.utils import get_public_schema_name, schema_exists

from escort_portal import audit
from stations.usernames import UsernameValidator


class Subdivision(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    name_bn = models.CharField(_("name in Bengali"), max_length=100, blank=True)
    district = models.CharField(_("district"), max_length=100)
    state = models.CharField(_("state"), max_length=100, default="West Bengal")

    class Meta:
        ordering = ["name"]
        verbose_name = _("subdivision")
        verbose_name_plural = _("subdivisions")

    def __str__(self) -> str:
        if get_language() == "bn" and self.name_bn:
            return self.name_bn
        return self.name


def station_display_name(name: str, name_bn: str) -> str:
    """A station's name in the reader's language: pages that read stations as values (the SDPO's
    dashboard) name them as the model does."""
    if get_language() == "bn" and name_bn:
        return name_bn
    return name


class StationQuerySet(models.QuerySet):
    def live(self) -> StationQuerySet:
        """Real police stations: without the public tenant and the schema new ones are cloned
        from. Every listing of or loop over stations starts here."""
        return self.exclude(schema_name__in=[get_public_schema_name(), settings.TENANT_BASE_SCHEMA])


# An incident is often reported, and the trips around it looked up, weeks after the day.
# A cut-off is the morning of the day it locks: the sheet for a date is built at that date's
# cut-off, so a later one (23:55) would build it after the day's trips. 10:00 is when the
# first collection trips usually leave; "the evening before" is not offered, as every roster
# rule (editing until cut-off, late entries after it) reads the cut-off on the trip's own date.
LATEST_ROSTER_CUTOFF = datetime.time(10, 0)

MIN_RETENTION_DAYS = 30


class Stage(models.TextChoices):
    """How far a run's silence (or a missed acknowledgement or start) has gone, and so which
    rungs of the station's escalation ladder hear of it."""

    AMBER = "amber", _("Amber")
    RED = "red", _("Red")
    OFF = "off", _("Never")


# The rungs of the escalation ladder, lowest first, each with the stage that reaches it by
# default: the team leader in the portal, then by SMS or WhatsApp, the duty officer, the OC,
# the SDPO.
LADDER_RUNGS = (
    ("ladder_leader_app", Stage.AMBER),
    ("ladder_leader_phone", Stage.AMBER),
    ("ladder_duty_officer", Stage.AMBER),
    ("ladder_oc", Stage.RED),
    ("ladder_sdpo", Stage.RED),
)


def validate_tile_url(value: str) -> None:
    if not value:
        return
    parts = urlsplit(value.replace("{", "").replace("}", ""))
    if (
        parts.scheme != "https"
        or not parts.netloc
        or any(slot not in value for slot in ("{z}", "{x}", "{y}"))
    ):
        raise ValidationError(_("A tile URL starts with https:// and has {z}, {x} and {y} in it."))


@audit.track()
class Station(TenantMixin):
    """A police station: one PostgreSQL schema holding all of its data."""

    name = models.CharField(_("name"), max_length=100)
    name_bn = models.CharField(_("name in Bengali"), max_length=100, blank=True)
    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    # Blank only for the public tenant and the template schema.
    subdivision = models.ForeignKey(
        Subdivision,
        on_delete=models.PROTECT,
        related_name="stations",
        null=True,
        blank=True,
        verbose_name=_("subdivision"),
    )
    address = models.CharField(_("address"), max_length=255, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    latitude = models.DecimalField(
        _("latitude"), max_digits=8, decimal_places=5, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=8, decimal_places=5, null=True, blank=True
    )
    roster_cutoff = models.TimeField(
        _("roster cut-off time"),
        default=datetime.time(8, 30),
        validators=[
            MaxValueValidator(
                LATEST_ROSTER_CUTOFF,
                _(
                    "The cut-off must be in the morning, by 10:00: the day's sheet is built at "
                    "the cut-off, and the first trips usually leave from then."
                ),
            )
        ],
        help_text=_(
            "The morning of the day, by 10:00: the rosters lock and the day's sheet is built "
            "at this time, before the first trips leave."
        ),
    )
    reminder_lead_minutes = models.PositiveSmallIntegerField(
        _("reminder lead time (minutes)"), default=60
    )
    planner_seconds = models.PositiveSmallIntegerField(
        _("planner time budget (seconds)"), default=10
    )
    retention_days = models.PositiveSmallIntegerField(
        _("retention days"),
        default=90,
        validators=[MinValueValidator(MIN_RETENTION_DAYS)],
        help_text=_(
            "Personal details of trips older than this are cleared every night; at least 30 days."
        ),
    )
    default_speed_kmph = models.PositiveSmallIntegerField(
        _("default travel speed (km/h)"), default=25
    )
    # The watch over runs (escorts.watch): a started run with no sign of life for
    # `check_in_minutes` is amber, `amber_to_red_minutes` later red; a run not acknowledged
    # `acknowledge_lead_minutes` before its start is amber, one not started
    # `start_grace_minutes` after it red. Each stage tells the rungs of the ladder set to it.
    check_in_minutes = models.PositiveSmallIntegerField(
        _("check-in interval (minutes)"),
        default=20,
        validators=[MinValueValidator(5), MaxValueValidator(240)],
        help_text=_(
            "A started run with no check-in, position or status change for this long turns amber."
        ),
    )
    amber_to_red_minutes = models.PositiveSmallIntegerField(
        _("amber to red (minutes)"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(240)],
        help_text=_("An amber run still silent this much later turns red."),
    )
    acknowledge_lead_minutes = models.PositiveSmallIntegerField(
        _("acknowledge by (minutes before the start)"),
        default=30,
        validators=[MaxValueValidator(720)],
    )
    start_grace_minutes = models.PositiveSmallIntegerField(
        _("start grace (minutes after the start)"),
        default=15,
        validators=[MaxValueValidator(240)],
    )
    ladder_leader_app = models.CharField(
        _("team leader, in the portal"), max_length=5, choices=Stage.choices, default=Stage.AMBER
    )
    ladder_leader_phone = models.CharField(
        _("team leader, by SMS or WhatsApp"),
        max_length=5,
        choices=Stage.choices,
        default=Stage.AMBER,
    )
    ladder_duty_officer = models.CharField(
        _("duty officers"), max_length=5, choices=Stage.choices, default=Stage.AMBER
    )
    ladder_oc = models.CharField(
        _("officer-in-charge"), max_length=5, choices=Stage.choices, default=Stage.RED
    )
    ladder_sdpo = models.CharField(
        _("SDPO's office"), max_length=5, choices=Stage.choices, default=Stage.RED
    )
    # Where an agent's phone sends an SOS by SMS when it has no data connection.
    sos_sms_number = models.CharField(
        _("SOS number for SMS"),
        max_length=20,
        blank=True,
        validators=[
            RegexValidator(r"^\+?[0-9]{3,15}$", _("Digits only, with an optional + in front."))
        ],
        help_text=_("A mobile number that receives SMS; 112 when blank."),
    )
    # A base map under the live board's map, for deployments that have a tile server; the
    # map is drawn without it (areas and positions from their coordinates) when blank.
    map_tile_url = models.CharField(
        _("base map tile URL"),
        max_length=300,
        blank=True,
        validators=[validate_tile_url],
        help_text=_("Optional, such as https://tiles.example.org/{z}/{x}/{y}.png"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    objects = StationQuerySet.as_manager()

    auto_create_schema = True

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(retention_days__gte=MIN_RETENTION_DAYS),
                name="station_keeps_details_a_month_at_least",
            )
        ]
        verbose_name = _("police station")
        verbose_name_plural = _("police stations")

    def __str__(self) -> str:
        return self.display_name

    def clean(self) -> None:
        # A ladder is climbed: a rung reached at red cannot come before one reached at amber,
        # or the SDPO could hear of a run before its own leader.
        reached = [getattr(self, name) for name, _default in LADDER_RUNGS]
        stages = [stage for stage in reached if stage != Stage.OFF]
        if stages != sorted(stages, key=[Stage.AMBER, Stage.RED].index):
            raise ValidationError(
                _(
                    "The ladder is climbed in order: a rung told at amber cannot come after "
                    "one told at red."
                )
            )

    @property
    def ladder(self) -> list[tuple[str, str]]:
        """The rungs (field names of LADDER_RUNGS) and the stage that reaches each, lowest
        first, without the rungs set to never."""
        rungs = [(name, getattr(self, name)) for name, _default in LADDER_RUNGS]
        return [(name, stage) for name, stage in rungs if stage != Stage.OFF]

    @property
    def display_name(self) -> str:
        return station_display_name(self.name, self.name_bn)

    def create_schema(
        self, check_if_exists: bool = False, sync_schema: bool = True, verbosity: int = 1
    ) -> bool:
        """A station's schema is replayed from the template's snapshot (constant time); the
        template itself, and the public schema, are made by migrating."""
        if not sync_schema or self.schema_name in (
            get_public_schema_name(),
            settings.TENANT_BASE_SCHEMA,
        ):
            return super().create_schema(check_if_exists, sync_schema, verbosity)
        from . import schemas

        _check_schema_name(self.schema_name)
        if check_if_exists and schema_exists(self.schema_name):
            return False
        schemas.schema_create_from_template(self.schema_name)
        return True


class Domain(DomainMixin):
    """With subfolder routing, `domain` holds the station's slug."""


@audit.track(exclude=["password", "last_login"])
class User(AbstractUser):
    class Language(models.TextChoices):
        ENGLISH = "en", _("English")
        BENGALI = "bn", _("Bengali")

    # Django's own field, with letters of one alphabet only (`stations.usernames`).
    username_validator = UsernameValidator()
    username = models.CharField(
        _("username"),
        max_length=150,
        unique=True,
        help_text=_("Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only."),
        validators=[username_validator],
        error_messages={"unique": _("A user with that username already exists.")},
    )

    phone = models.CharField(_("phone"), max_length=20, blank=True)
    language = models.CharField(
        _("preferred language"), max_length=5, choices=Language.choices, default=Language.ENGLISH
    )
    # Raised to end every session of the user at once (`stations.services.user_sessions_end`).
    session_generation = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def get_session_auth_hash(self) -> str:
        """Django signs each session with this hash and drops a session whose hash no longer
        matches, so a new generation signs the user out everywhere on their next request.
        Generation 0 keeps Django's own hash, so sessions made before the field stay valid."""
        base = super().get_session_auth_hash()
        if not self.session_generation:
            return base
        return salted_hmac(
            "stations.User.session_generation",
            f"{base}:{self.session_generation}",
            algorithm="sha256",
        ).hexdigest()


@audit.track()
class StationRole(models.Model):
    """What a user is in one station. One role per user and station."""

    class Role(models.TextChoices):
        OFFICER_IN_CHARGE = "oc", _("Officer-in-charge")
        DUTY_OFFICER = "duty", _("Duty officer")
        ESCORT_OFFICER = "escort", _("Escort officer")
        LENDER = "lender", _("Lender branch staff")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="station_roles",
        verbose_name=_("user"),
    )
    station = models.ForeignKey(
        Station, on_delete=models.CASCADE, related_name="roles", verbose_name=_("station")
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "station"], name="one_role_per_user_station")
        ]
        verbose_name = _("station role")
        verbose_name_plural = _("station roles")

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.station}"


@audit.track()
class SubdivisionRole(models.Model):
    """The SDPO and their staff: read access to every station of the subdivision."""

    class Role(models.TextChoices):
        SDPO = "sdpo", _("SDPO")
        SDPO_STAFF = "staff", _("SDPO staff")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="subdivision_roles",
        verbose_name=_("user"),
    )
    subdivision = models.ForeignKey(
        Subdivision, on_delete=models.CASCADE, related_name="roles", verbose_name=_("subdivision")
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "subdivision"], name="one_role_per_user_subdivision"
            )
        ]
        verbose_name = _("subdivision role")
        verbose_name_plural = _("subdivision roles")

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.subdivision}"


class WorkerHeartbeat(models.Model):
    """When a Celery worker last ran a task in a schema (a station's or public)."""

    schema_name = models.CharField(max_length=63, primary_key=True, verbose_name=_("schema name"))
    seen_at = models.DateTimeField(verbose_name=_("seen at"))

    def __str__(self) -> str:
        return f"{self.schema_name} @ {timezone.localtime(self.seen_at):%Y-%m-%d %H:%M:%S}"


class StationDay(models.Model):
    """The SDPO dashboard's read model: one station's figures for one day.

    Kept current by the services that change the facts behind it: a committed change leaves a
    `StationDayRecount` and the minute job recounts the day (`stations.stats`), so the dashboard
    never reads a station schema and a request never waits for a recount.
    """

    station = models.ForeignKey(
        Station, on_delete=models.CASCADE, related_name="days", verbose_name=_("station")
    )
    date = models.DateField(verbose_name=_("date"))
    branches_approved = models.PositiveIntegerField(default=0, verbose_name=_("branches approved"))
    branches_pending = models.PositiveIntegerField(default=0, verbose_name=_("branches pending"))
    rosters_filed = models.PositiveIntegerField(default=0, verbose_name=_("rosters filed"))
    rosters_missing = models.PositiveIntegerField(default=0, verbose_name=_("rosters missing"))
    entries = models.PositiveIntegerField(default=0, verbose_name=_("entries"))
    entries_covered = models.PositiveIntegerField(default=0, verbose_name=_("entries covered"))
    entries_uncovered = models.PositiveIntegerField(default=0, verbose_name=_("entries uncovered"))
    uncovered_by_reason = models.JSONField(
        default=dict, blank=True, verbose_name=_("uncovered by reason")
    )
    runs = models.PositiveIntegerField(default=0, verbose_name=_("runs"))
    runs_acknowledged = models.PositiveIntegerField(default=0, verbose_name=_("runs acknowledged"))
    runs_completed = models.PositiveIntegerField(default=0, verbose_name=_("runs completed"))
    runs_overdue = models.PositiveIntegerField(default=0, verbose_name=_("runs overdue"))
    # Today's runs by the watch's stage when last counted (escorts.watch).
    runs_amber = models.PositiveIntegerField(default=0, verbose_name=_("runs amber"))
    runs_red = models.PositiveIntegerField(default=0, verbose_name=_("runs red"))
    sheet_published = models.BooleanField(default=False, verbose_name=_("sheet published"))
    incidents = models.PositiveIntegerField(default=0, verbose_name=_("incidents"))
    sos_open = models.PositiveIntegerField(default=0, verbose_name=_("sos open"))
    sos = models.PositiveIntegerField(default=0, verbose_name=_("sos"))
    # Short lists the dashboard shows as they are: names and references, never cash figures.
    pending_branches = models.JSONField(
        default=list, blank=True, verbose_name=_("pending branches")
    )
    never_filed_branches = models.JSONField(
        default=list, blank=True, verbose_name=_("never filed branches")
    )
    high_priority_uncovered = models.JSONField(
        default=list, blank=True, verbose_name=_("high priority uncovered")
    )
    # Today's open SOS alerts, newest first: {"pk", "raised_at" (ISO), "area", "area_bn",
    # "branch"}, so the SDPO's dashboard lists them from every station without entering one.
    open_sos_alerts = models.JSONField(default=list, blank=True, verbose_name=_("open SOS alerts"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["station", "date"], name="one_station_day")]
        indexes = [models.Index(fields=["date", "station"])]

    def __str__(self) -> str:
        return f"{self.station} · {self.date}"

    @property
    def coverage_percent(self) -> int | None:
        planned = self.entries_covered + self.entries_uncovered
        return round(100 * self.entries_covered / planned) if planned else None


class SubmissionToken(models.Model):
    """A page form's one-time token once posted, and where its saved result is: a second tap
    of the same form is sent there instead of saving again (stations.replay)."""

    token = models.UUIDField(primary_key=True, verbose_name=_("token"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    location = models.CharField(max_length=2000, blank=True, verbose_name=_("result location"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    def __str__(self) -> str:
        return str(self.token)


class IdempotentRequest(models.Model):
    """An API write sent with an `Idempotency-Key`, and its answer, replayed for the same key
    (stations.replay). `scope` is the station's schema and a hash of the caller's key."""

    scope = models.CharField(max_length=140, verbose_name=_("scope"))
    key = models.CharField(max_length=255, verbose_name=_("idempotency key"))
    fingerprint = models.CharField(max_length=64, verbose_name=_("request fingerprint"))
    status_code = models.PositiveSmallIntegerField(null=True, verbose_name=_("status code"))
    content_type = models.CharField(max_length=100, blank=True, verbose_name=_("content type"))
    body = models.BinaryField(default=b"", verbose_name=_("body"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="one_request_per_key")]

    def __str__(self) -> str:
        return self.key


class TemplateSnapshot(models.Model):
    """The template schema as `pg_dump` wrote it (tables, indexes, constraints, triggers and
    their functions, sequences, and the rows it holds) at one migration state. A new station's
    schema is this script replayed under the station's name (see `stations.schemas`)."""

    state = models.CharField(max_length=64, unique=True)
    sql = models.TextField()
    taken_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{settings.TENANT_BASE_SCHEMA} at {self.state}"


class StationDayRecount(models.Model):
    """A station's day whose figures changed since they were last counted: one row however many
    changes, removed by the recount that counts them."""

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    since = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["station", "date"], name="one_recount_a_station_day")
        ]

    def __str__(self) -> str:
        return f"{self.station_id} {self.date}"


class StationJobDue(models.Model):
    """When a station next has work for one of the minute jobs: the job's beat entry reads
    this public table and enters only the stations whose time has come. The station's run of
    the job writes the next time; a change that may bring it forward sets it to now."""

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="+")
    job = models.CharField(max_length=64)
    due_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["station", "job"], name="one_due_time_a_station_job")
        ]
        indexes = [models.Index(fields=["job", "due_at"], name="station_job_due_idx")]

    def __str__(self) -> str:
        return f"{self.station_id} {self.job} @ {timezone.localtime(self.due_at):%Y-%m-%d %H:%M}"


class InboxCount(models.Model):
    """How many portal messages a user has not read yet in one station.

    A station's messages live in its schema; a trigger on every station's message table
    (notifications.Message) keeps this count as messages are written, read and removed, so a
    bell over a subdivision of 500 stations reads a few public rows instead of 500 tables.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="+")
    unread = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "station"], name="one_inbox_count_a_station")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.station_id}: {self.unread}"


class EnrolmentCode(models.Model):
    """A one-time code that lets a police user set up their second factor.

    A password alone must not be enough to take the second factor: whoever holds a stolen
    password could enrol their own phone. The officer-in-charge (or the platform admin, for an
    officer-in-charge) issues the code and hands it over in person; only its hash is kept.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="enrolment_code",
        verbose_name=_("user"),
    )
    code_hash = models.CharField(max_length=64)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("issued by"),
    )
    expires_at = models.DateTimeField(_("expires at"))

    class Meta:
        verbose_name = _("enrolment code")
        verbose_name_plural = _("enrolment codes")

    def __str__(self) -> str:
        return f"{self.user_id} until {timezone.localtime(self.expires_at):%Y-%m-%d %H:%M}"


@audit.track()
class ChatContact(models.Model):
    """A person's own phone number for the portal's WhatsApp and SMS conversations.

    A number is known only once its owner proved it: signed in, they get a one-time code and
    send it from the phone (`chat.services.link_code_use`). Sent over WhatsApp, the same message
    is their opt-in to WhatsApp messages from the portal (its text names the portal); sent by
    SMS it proves the number for SMS alone. "STOP" withdraws a channel, "START" gives it back;
    every change is kept in the audit trail. WhatsApp messages go to this number only, and only
    while `whatsapp_consent` holds.
    """

    class Channel(models.TextChoices):
        WHATSAPP = "whatsapp", _("WhatsApp")
        SMS = "sms", _("SMS")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="chat_contact",
        verbose_name=_("user"),
    )
    # E.164, e.g. +919876543210. One person per number: linking it again moves it.
    phone = models.CharField(_("phone"), max_length=20, unique=True)
    verified_at = models.DateTimeField(_("verified at"))
    verified_over = models.CharField(_("verified over"), max_length=10, choices=Channel.choices)
    whatsapp_consent = models.BooleanField(_("WhatsApp messages agreed"), default=False)
    whatsapp_consent_changed_at = models.DateTimeField(
        _("WhatsApp consent changed at"), null=True, blank=True
    )
    sms_stopped = models.BooleanField(_("SMS stopped"), default=False)
    sms_stopped_changed_at = models.DateTimeField(_("SMS stop changed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("chat phone number")
        verbose_name_plural = _("chat phone numbers")

    def __str__(self) -> str:
        return f"{self.user} · {self.phone}"
