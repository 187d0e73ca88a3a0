"""Every change to the incident register and to SOS alerts, with its rules: the station's pages,
a branch's report, the SOS button and the chat's SOS all call these."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lenders.models import LenderBranch, Roster, RosterEntry
from lenders.services import local_today
from stations import stats
from stations.models import User

from . import notify
from .models import SOS_NARRATIVE, Incident, SosAlert


def _incident_save(incident: Incident) -> Incident:
    if incident.agent and incident.branch_id and incident.agent.branch_id != incident.branch_id:
        raise ValidationError({"agent": _("This agent is not of the branch chosen.")})
    if incident.occurred_at and incident.occurred_at > timezone.now() + datetime.timedelta(
        minutes=5
    ):
        raise ValidationError({"occurred_at": _("An incident cannot be in the future.")})
    incident.full_clean()
    incident.save()
    stats.refresh_on_commit(date=timezone.localdate(incident.occurred_at))
    return incident


@transaction.atomic
def incident_record(*, by: User, **details: object) -> Incident:
    """A station officer records an incident; it is open at once."""
    incident = _incident_save(Incident(reported_by=by, status=Incident.Status.OPEN, **details))
    notify.incident_recorded(incident)
    return incident


@transaction.atomic
def incident_report(*, branch: LenderBranch, by: User, **details: object) -> Incident:
    """A branch reports an incident; the station confirms it before it counts."""
    details["branch"] = branch
    return _incident_save(Incident(reported_by=by, status=Incident.Status.REPORTED, **details))


@transaction.atomic
def incident_update(*, incident: Incident, **details: object) -> Incident:
    for name, value in details.items():
        setattr(incident, name, value)
    return _incident_save(incident)


@transaction.atomic
def incident_set_status(*, incident: Incident, by: User, status: str) -> Incident:
    allowed: dict[str, set[str]] = {
        Incident.Status.REPORTED: {Incident.Status.OPEN, Incident.Status.CLOSED},
        Incident.Status.OPEN: {Incident.Status.CLOSED},
        Incident.Status.CLOSED: {Incident.Status.OPEN},
    }
    if status not in allowed[incident.status]:
        raise ValidationError(_("That change of status is not possible."))
    confirming = incident.status == Incident.Status.REPORTED and status == Incident.Status.OPEN
    if incident.status == Incident.Status.REPORTED:
        incident.confirmed_by = by
    incident.status = status
    incident = _incident_save(incident)
    if confirming:
        notify.incident_recorded(incident)
    return incident


# An agent pressing twice in a panic raises one alert, not two.
SOS_REPEAT_WINDOW = datetime.timedelta(minutes=10)


@transaction.atomic
def sos_raise(
    *,
    entry: RosterEntry,
    by: User,
    latitude: float | None = None,
    longitude: float | None = None,
    accuracy_m: int | None = None,
    located_at: datetime.datetime | None = None,
) -> SosAlert:
    """A field agent calls for help during today's trip: an open SOS and an incident at once."""
    entry = (
        RosterEntry.objects.select_for_update().select_related("roster", "agent").get(pk=entry.pk)
    )
    if entry.roster.date != local_today():
        raise ValidationError(_("SOS is for today's trips."))
    if entry.roster.status == Roster.Status.DRAFT:
        raise ValidationError(_("This trip is not on a filed roster."))
    recent = SosAlert.objects.filter(
        entry=entry,
        acknowledged_at__isnull=True,
        raised_at__gte=timezone.now() - SOS_REPEAT_WINDOW,
    ).first()
    if recent is not None:
        # A second press, or a location sent after the word SOS, gives the open alert the
        # position it lacked; it raises nothing new.
        if not recent.has_location and latitude is not None and longitude is not None:
            recent.latitude = _coordinate(latitude, 6)
            recent.longitude = _coordinate(longitude, 6)
            recent.accuracy_m = accuracy_m
            recent.located_at = located_at or timezone.now()
            recent.save(update_fields=["latitude", "longitude", "accuracy_m", "located_at"])
        return recent
    incident = Incident.objects.create(
        occurred_at=timezone.now(),
        kind=Incident.Kind.SOS,
        area=entry.area,
        place=entry.centres,
        branch=entry.roster.branch,
        agent=entry.agent,
        status=Incident.Status.OPEN,
        reported_by=by,
        narrative=SOS_NARRATIVE,
    )
    alert = SosAlert.objects.create(
        entry=entry,
        raised_by=by,
        latitude=_coordinate(latitude, 6),
        longitude=_coordinate(longitude, 6),
        accuracy_m=accuracy_m,
        located_at=located_at if latitude is not None else None,
        incident=incident,
    )
    stats.refresh_on_commit(at_once=True)
    notify.sos_raised(alert)
    return alert


def _coordinate(value: float | None, places: int) -> Decimal | None:
    return None if value is None else round(Decimal(str(value)), places)


@transaction.atomic
def sos_acknowledge(*, alert: SosAlert, by: User) -> SosAlert:
    alert = SosAlert.objects.select_for_update().get(pk=alert.pk)
    if alert.acknowledged_at is None:
        alert.acknowledged_at = timezone.now()
        alert.acknowledged_by = by
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
        stats.refresh_on_commit(at_once=True)
    return alert
