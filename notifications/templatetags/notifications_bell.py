from __future__ import annotations

from django import template

from notifications.selectors import message_unread_count, subdivision_unread_count
from stations.access import schemas_overseen
from stations.routing import public_reverse, station_reverse

register = template.Library()


@register.inclusion_tag("notifications/_bell.html", takes_context=True)
def notifications_bell(context: template.Context) -> dict:
    """The navbar bell. The SDPO and staff have one bell for every station they oversee, on
    every page; everyone else has the current station's, on that station's pages."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return {"shown": False}
    overseen = schemas_overseen(user)
    if overseen:
        return {
            "shown": True,
            "unread": subdivision_unread_count(user=user, stations=overseen),
            "inbox_url": public_reverse("subdivision_inbox"),
        }
    # The station only a request that passed the access check names (see the context processor).
    station = context.get("current_station")
    if station is None:
        return {"shown": False}
    return {
        "shown": True,
        "unread": message_unread_count(user=user),
        "inbox_url": station_reverse(station, "notifications:inbox"),
    }
