from __future__ import annotations

from django.http import HttpRequest

from .access import Perm, current_station


def station(request: HttpRequest) -> dict:
    # Only a request that passed the access check names its station: a 404 page must look the
    # same whether or not the station exists.
    perms: frozenset[Perm] = getattr(request, "station_perms", frozenset())
    return {
        "current_station": current_station(request) if perms else None,
        "station_perms": perms,
    }
