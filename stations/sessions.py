"""Sessions that end after an idle time without a database write on every request."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse

RENEWED_KEY = "_renewed_at"


class IdleSessionMiddleware(SessionMiddleware):
    """Django's session middleware, pushing a session's expiry on at most once every
    SESSION_RENEW_SECONDS.

    `SESSION_SAVE_EVERY_REQUEST` would UPDATE the session row on every page and POST only to
    move its expiry; most of those writes change nothing else. Here the session is marked
    modified (so saved, with a fresh expiry and cookie) when its last renewal is older than the
    interval, so an idle session ends between SESSION_COOKIE_AGE - SESSION_RENEW_SECONDS and
    SESSION_COOKIE_AGE after its last request.
    """

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        session = getattr(request, "session", None)
        # An empty session (signed out, never signed in) is not created by a renewal.
        if session is not None and not session.is_empty():
            now = int(time.time())
            if now - session.get(RENEWED_KEY, 0) >= settings.SESSION_RENEW_SECONDS:
                session[RENEWED_KEY] = now
        return super().process_response(request, response)
