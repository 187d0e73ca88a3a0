"""Station schema: the police incident register and field agents' SOS alerts.

Both moved here from `lenders` and kept their tables (and their audit trail's), so existing
stations keep every row: see migrations/0001_initial.py.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from escort_portal import audit
from lenders.models import CashBand, CollectionArea, FieldAgent, LenderBranch, RosterEntry

# What an SOS's incident says until an officer writes more. Kept in English, whoever pressed it,
# and shown in each reader's language (`Incident.narrative_shown`).
SOS_NARRATIVE = gettext_noop("SOS pressed by the field agent.")


@audit.track(event_table="lenders_incidentevent")
class Incident(models.Model):
    """Something that happened on the road: recorded by the station or reported by a branch."""

    class Kind(models.TextChoices):
        SNATCHING = "snatching", _("Snatching")
        ATTEMPT = "attempt", _("Attempted snatching")
        SUSPICIOUS = "suspicious", _("Suspicious person or vehicle")
        SOS = "sos", _("SOS from a field agent")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        REPORTED = "reported", _("Reported by a branch, to be confirmed")
        # A state, not the sheet page's "Open" button: Bengali tells the two apart.
        OPEN = "open", pgettext_lazy("incident status", "Open")
        CLOSED = "closed", _("Closed")

    occurred_at = models.DateTimeField(_("when"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    area = models.ForeignKey(
        CollectionArea, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("area")
    )
    place = models.CharField(_("place"), max_length=255, blank=True)
    branch = models.ForeignKey(
        LenderBranch, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("branch")
    )
    agent = models.ForeignKey(
        FieldAgent, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("agent")
    )
    cash_band = models.CharField(
        _("cash band"), max_length=10, choices=CashBand.choices, blank=True
    )
    # A full FIR reference ("Debra PS Case No. 123/2026 dated ... u/s 309(4)/3(5) BNS") is long.
    fir_number = models.CharField(_("FIR number"), max_length=200, blank=True)
    narrative = models.TextField(_("what happened"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        db_constraint=False,  # users live in public: see stations.schemas
        related_name="+",
        verbose_name=_("reported by"),
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        db_constraint=False,  # users live in public: see stations.schemas
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        db_table = "lenders_incident"
        ordering = ["-occurred_at"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")

    def __str__(self) -> str:
        # The database keeps UTC; the station's people read India's time.
        return f"{self.get_kind_display()} · {timezone.localtime(self.occurred_at):%Y-%m-%d %H:%M}"

    @property
    def narrative_shown(self) -> str:
        return gettext(SOS_NARRATIVE) if self.narrative == SOS_NARRATIVE else self.narrative


@audit.track(event_table="lenders_sosalertevent")
class SosAlert(models.Model):
    """A field agent's call for help during a trip; open until a station officer takes it."""

    entry = models.ForeignKey(
        RosterEntry, on_delete=models.PROTECT, related_name="sos_alerts", verbose_name=_("entry")
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        db_constraint=False,  # users live in public: see stations.schemas
        related_name="+",
        verbose_name=_("raised by"),
    )
    raised_at = models.DateTimeField(auto_now_add=True, verbose_name=_("raised at"))
    latitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True, verbose_name=_("latitude")
    )
    longitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True, verbose_name=_("longitude")
    )
    accuracy_m = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("accuracy (metres)")
    )
    # When the phone fixed its position; it may be up to a minute older than the SOS.
    located_at = models.DateTimeField(null=True, blank=True, verbose_name=_("located at"))
    incident = models.OneToOneField(
        Incident, on_delete=models.PROTECT, related_name="sos", verbose_name=_("incident")
    )
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        db_constraint=False,  # users live in public: see stations.schemas
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("acknowledged by"),
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True, verbose_name=_("acknowledged at"))

    class Meta:
        db_table = "lenders_sosalert"
        ordering = ["-raised_at"]
        verbose_name = _("SOS alert")
        verbose_name_plural = _("SOS alerts")

    def __str__(self) -> str:
        return f"SOS {self.entry.agent.name} · {timezone.localtime(self.raised_at):%H:%M}"

    @property
    def geo_uri(self) -> str:
        return f"geo:{self.latitude},{self.longitude}"

    @property
    def map_url(self) -> str:
        lat, lon = self.latitude, self.longitude
        return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"

    @property
    def has_location(self) -> bool:
        return self.latitude is not None and self.longitude is not None
