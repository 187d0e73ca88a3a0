from __future__ import annotations

from django import template

from stations import routing

register = template.Library()


@register.simple_tag
def public_url(viewname: str, *args: object, **kwargs: object) -> str:
    return routing.public_reverse(viewname, *args, **kwargs)


@register.simple_tag
def station_url(station: routing.Slugged, viewname: str, *args: object, **kwargs: object) -> str:
    return routing.station_reverse(station, viewname, *args, **kwargs)
