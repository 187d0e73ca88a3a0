"""Station schema: lender branches, their people, collection areas and the morning roster."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from escort_portal import audit
from escort_portal.formats import native_digits, page_date
from escort_portal.stamps import FiledStamp


@audit.track()
class LenderBranch(FiledStamp):
    class Kind(models.TextChoices):
        MFI = "mfi", _("Micro-finance institution")
        BANK = "bank", _("Bank")
        NBFC = "nbfc", _("NBFC")
        SHG_FEDERATION = "shg", _("SHG federation")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        SUSPENDED = "suspended", _("Suspended")

    lender_name = models.CharField(_("lender name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    branch_name = models.CharField(_("branch name"), max_length=120)
    address = models.CharField(_("address"), max_length=255)
    registration_number = models.CharField(
        _("RBI / registration number"), max_length=60, blank=True
    )
    manager_name = models.CharField(_("manager's name"), max_length=120)
    manager_phone = PhoneNumberField(_("manager's phone"), region="IN")
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    decision_reason = models.TextField(_("reason"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        db_constraint=False,  # users live in public: see stations.schemas
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(null=True, blank=True, verbose_name=_("decided at"))

    class Meta:
        ordering = ["lender_name", "branch_name"]
        verbose_name = _("lender branch")
        verbose_name_plural = _("lender branches")

    def __str__(self) -> str:
        return f"{self.lender_name}, {self.branch_name}"

    @property
    def can_file(self) -> bool:
        return self.status == self.Status.APPROVED


@audit.track()
class BranchMember(models.Model):
    """A login of a branch: its manager, staff who file rosters, or a field agent."""

    class Role(models.TextChoices):
        MANAGER = "manager", _("Manager")
        STAFF = "staff", _("Staff")
        AGENT = "agent", _("Field agent")

    branch = models.ForeignKey(
        LenderBranch, on_delete=models.CASCADE, related_name="members", verbose_name=_("branch")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        db_constraint=False,  # users live in public: see stations.schemas
        related_name="branch_memberships",
        verbose_name=_("user"),
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    agent = models.OneToOneField(
        "FieldAgent",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="login",
        verbose_name=_("agent"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("branch login")
        verbose_name_plural = _("branch logins")
        constraints = [
            models.UniqueConstraint(fields=["branch", "user"], name="one_membership_per_branch")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.branch}"


@audit.track(exclude=["photo"])
class FieldAgent(models.Model):
    branch = models.ForeignKey(
        LenderBranch, on_delete=models.PROTECT, related_name="agents", verbose_name=_("branch")
    )
    name = models.CharField(_("name"), max_length=120)
    employee_id = models.CharField(_("employee id"), max_length=40)
    phone = PhoneNumberField(_("mobile number"), region="IN")
    id_reference = models.CharField(_("ID document reference"), max_length=60, blank=True)
    photo = models.ImageField(_("photo"), upload_to="agents/", blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "employee_id"], name="agent_employee_id_unique_in_branch"
            )
        ]
        verbose_name = _("field agent")
        verbose_name_plural = _("field agents")

    def __str__(self) -> str:
        return f"{self.name} ({self.employee_id})"


@audit.track()
class CollectionArea(models.Model):
    """A village, market or centre where agents collect; kept by the station."""

    class Risk(models.TextChoices):
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PROPOSED = "proposed", _("Proposed by a branch")
        MERGED = "merged", _("Merged into another area")

    name = models.CharField(_("name"), max_length=120)
    name_bn = models.CharField(_("name in Bengali"), max_length=120, blank=True)
    locality = models.CharField(_("locality"), max_length=120, blank=True)
    latitude = models.DecimalField(
        _("latitude"), max_digits=8, decimal_places=5, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=8, decimal_places=5, null=True, blank=True
    )
    risk = models.CharField(_("risk level"), max_length=10, choices=Risk.choices, default="normal")
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    proposed_by = models.ForeignKey(
        LenderBranch,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("proposed by"),
    )
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("merged into"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("collection area")
        verbose_name_plural = _("collection areas")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if get_language() == "bn" and self.name_bn:
            return self.name_bn
        return self.name

    @property
    def has_location(self) -> bool:
        return self.latitude is not None and self.longitude is not None


@audit.track()
class Roster(models.Model):
    """One branch's collection trips for one date."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Not filed")
        FILED = "filed", _("Filed")
        LOCKED = "locked", _("Locked at cut-off")

    branch = models.ForeignKey(
        LenderBranch, on_delete=models.PROTECT, related_name="rosters", verbose_name=_("branch")
    )
    date = models.DateField(_("date"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        db_constraint=False,  # users live in public: see stations.schemas
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("filed by"),
    )
    filed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("filed at"))
    locked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("locked at"))
    # The branch said it has no trips that day: not a missing roster, and no reminder. Filing a
    # trip afterwards takes it back (`lenders.services.roster_declare_no_collection`).
    no_collection = models.BooleanField(_("no collection that day"), default=False)

    class Meta:
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(fields=["branch", "date"], name="one_roster_per_branch_date")
        ]
        verbose_name = _("roster")
        verbose_name_plural = _("rosters")

    def __str__(self) -> str:
        return f"{self.branch} · {self.date:%Y-%m-%d}"

    @property
    def label(self) -> str:
        """As a page names it: the date in the portal's format and the reader's numerals."""
        return f"{self.branch} · {page_date(self.date)}"


class CashBand(models.TextChoices):
    """Never an exact amount: a leaked roster must not price a robbery."""

    UNDER_50K = "lt50k", _("Under Rs 50,000")
    FROM_50K_TO_1L = "50k-1l", _("Rs 50,000 to 1 lakh")
    FROM_1L_TO_2L = "1l-2l", _("Rs 1 to 2 lakh")
    OVER_2L = "gt2l", _("Over Rs 2 lakh")


@audit.track()
class RosterEntry(FiledStamp):
    """One trip of one field agent: out to an area and back to the deposit point."""

    roster = models.ForeignKey(
        Roster, on_delete=models.CASCADE, related_name="entries", verbose_name=_("roster")
    )
    agent = models.ForeignKey(
        FieldAgent, on_delete=models.PROTECT, related_name="entries", verbose_name=_("agent")
    )
    area = models.ForeignKey(
        CollectionArea, on_delete=models.PROTECT, related_name="entries", verbose_name=_("area")
    )
    centres = models.CharField(_("centre or group names"), max_length=255, blank=True)
    depart_at = models.TimeField(_("departure time"))
    return_at = models.TimeField(_("expected return time"))
    cash_band = models.CharField(_("cash band"), max_length=10, choices=CashBand.choices)
    vehicle_registration = models.CharField(_("vehicle registration"), max_length=20, blank=True)
    deposit_point = models.CharField(_("deposit point"), max_length=120, blank=True)
    notes = models.CharField(_("notes"), max_length=500, blank=True)
    is_late = models.BooleanField(_("added after cut-off"), default=False)
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        ordering = ["depart_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(return_at__gt=models.F("depart_at")),
                name="entry_returns_after_departure",
            )
        ]
        verbose_name = _("roster entry")
        verbose_name_plural = _("roster entries")

    def __str__(self) -> str:
        return f"{self.agent.name} · {self.area} · {self.depart_at:%H:%M}-{self.return_at:%H:%M}"

    @property
    def label(self) -> str:
        """The entry as a page names it, in the reader's numerals (`__str__` keeps ASCII for the
        records and the admin)."""
        hours = native_digits(f"{self.depart_at:%H:%M}-{self.return_at:%H:%M}")
        return f"{self.agent.name} · {self.area} · {hours}"


@audit.track(exclude=["hashed_key"])
class BranchApiKey(models.Model):
    """A key a branch's own software uses to file rosters through the API.

    Only a SHA-256 digest of the key is stored; the key itself is shown once, when it is made.
    The key is 256 random bits, so a fast digest is enough: a slow password hash would only add
    its cost to every API call without making a random key any harder to guess.
    """

    branch = models.ForeignKey(
        LenderBranch, on_delete=models.CASCADE, related_name="api_keys", verbose_name=_("branch")
    )
    name = models.CharField(_("name"), max_length=60)
    # The first characters of the key, kept so that people can tell their keys apart.
    prefix = models.CharField(_("key starts with"), max_length=12, unique=True)
    hashed_key = models.CharField(
        max_length=64, unique=True, editable=False, verbose_name=_("hashed key")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        db_constraint=False,  # users live in public: see stations.schemas
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        db_constraint=False,  # users live in public: see stations.schemas
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
