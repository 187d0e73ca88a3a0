"""The messages of the incident register and of SOS alerts, written into the notifications
outbox inside the transaction of the change that causes them. They carry references, times and
places, never cash."""

from __future__ import annotations

from django.utils import timezone

from notifications.services import message_queue
from stations.models import Station, User
from stations.routing import station_reverse
from stations.selectors import user_list_overseers, user_list_station_officers
from stations.tenancy import schema_station

from .models import Incident, SosAlert


def _station_and_sdpo(station: Station) -> set[User]:
    return {*user_list_station_officers(station=station), *user_list_overseers(station=station)}


def sos_raised(alert: SosAlert) -> None:
    """Everyone who can act, at once, on every channel they have: preferences do not apply."""
    station = schema_station()
    entry = alert.entry
    message_queue(
        event=f"sos:{alert.pk}",
        kind="sos",
        recipients=_station_and_sdpo(station),
        context={
            "reference": f"SOS-{alert.pk}",
            "time": timezone.localtime(alert.raised_at).strftime("%H:%M"),
            "place": entry.area.name,
            "place_bn": entry.area.name_bn,
            "name": entry.agent.name,
            "phone": str(entry.agent.phone),
            "path": station_reverse(station, "incidents:sos_list"),
            **_sos_location(alert),
        },
        urgent=True,
    )


def _sos_location(alert: SosAlert) -> dict:
    if not alert.has_location:
        return {}
    located = timezone.localtime(alert.located_at or alert.raised_at)
    location = {
        "latitude": str(alert.latitude),
        "longitude": str(alert.longitude),
        "located_at": located.strftime("%H:%M:%S"),
    }
    if alert.accuracy_m is not None:
        location["accuracy_m"] = str(alert.accuracy_m)
    return location


def incident_recorded(incident: Incident) -> None:
    station = schema_station()
    place = incident.area.name if incident.area else incident.place or station.name
    place_bn = incident.area.name_bn if incident.area else ""
    message_queue(
        event=f"incident:{incident.pk}",
        kind="incident_recorded",
        recipients=_station_and_sdpo(station),
        context={
            "reference": f"INC-{incident.pk}",
            "time": timezone.localtime(incident.occurred_at).strftime("%d-%m %H:%M"),
            "place": place,
            "place_bn": place_bn,
            "path": station_reverse(station, "incidents:incident_detail", incident.pk),
        },
    )
