"""Reversing URLs across the two URL configurations.

A station request resolves against the station URLconf (every pattern under
/station/<slug>/), a public request against the public one; links from one side to the other
go through these two functions.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from .models import Station


def public_reverse(viewname: str, *args: object, **kwargs: object) -> str:
    return reverse(
        viewname, urlconf=settings.PUBLIC_SCHEMA_URLCONF, args=args or None, kwargs=kwargs or None
    )


def station_reverse(station: Station, viewname: str, *args: object, **kwargs: object) -> str:
    path = reverse(
        viewname, urlconf=settings.ROOT_URLCONF, args=args or None, kwargs=kwargs or None
    )
    return f"/{settings.TENANT_SUBFOLDER_PREFIX}/{station.slug}{path}"
