"""Reversing URLs across the two URL configurations.

A station request resolves against the station URLconf (every pattern under
/station/<slug>/), a public request against the public one; links from one side to the other
go through these two functions.
"""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.urls import reverse


class Slugged(Protocol):
    """A station, or what a page read of one as values (the SDPO's dashboard): its slug is
    all a link needs."""

    @property
    def slug(self) -> str: ...


def public_reverse(viewname: str, *args: object, **kwargs: object) -> str:
    return reverse(
        viewname, urlconf=settings.PUBLIC_SCHEMA_URLCONF, args=args or None, kwargs=kwargs or None
    )


def station_reverse(station: Slugged, viewname: str, *args: object, **kwargs: object) -> str:
    path = reverse(
        viewname, urlconf=settings.ROOT_URLCONF, args=args or None, kwargs=kwargs or None
    )
    return f"/{settings.TENANT_SUBFOLDER_PREFIX}/{station.slug}{path}"
