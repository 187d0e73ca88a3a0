"""The username a sign-in attempt names, as the lockouts (django-axes) record it."""

from __future__ import annotations

from django.http import HttpRequest

# django-axes keeps at most this many characters of a username in its records.
USERNAME_CHARS = 255


def attempted_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """What django-axes reads by default, cut to what its records hold. Django's sign-in form
    does not hold the username to the account's length, and no account's name is this long, so
    a longer one counts as a failed sign-in like any other instead of a failed insert."""
    if credentials:
        given = credentials.get("username")
    else:
        given = getattr(request, "data", request.POST).get("username")
    return given[:USERNAME_CHARS] if isinstance(given, str) else given
