"""A repeated request answers what the first one did, instead of doing it twice.

Page forms: every form with `{% csrf_token %}` also carries a one-time `submission_token`
(stations.templatetags.submission). The first POST of a token by a signed-in person claims it;
when it saves (a redirect), the redirect's target is kept, and a second POST of the same token
(a double tap, a browser resending) is sent there: the saved result, not "already out
14:00-15:00". A POST that did not save (the form again, with its errors) frees the token.

The API: a POST, PUT, PATCH or DELETE with an `Idempotency-Key` header is answered once; the
same key with the same method, path and body gets the first answer again (with
`Idempotent-Replayed: true`); the same key with another request gets 422. A second request
arriving while the first is still running waits for its answer. Server errors, throttled calls
and calls refused for their key (401) are not kept, so they may be retried with the same key.

The phone pages' offline queue (static/field/queue.js) sends each action (acknowledge, start,
check in, complete, SOS) the same way, with a key of its own, signed in by the session: the
key is the person's, and a page action refused for its sign-in or CSRF token (401, 403) is not
kept either, so it is tried again once the person has a fresh page.
"""

from __future__ import annotations

import datetime
import hashlib
import time
import uuid
from collections.abc import Callable
from typing import TypeVar, cast

from django.contrib import messages
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, models, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from .db import connection
from .models import IdempotentRequest, SubmissionToken

FIELD = "submission_token"
HEADER = "Idempotency-Key"
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# How long a repeat waits for the first request's answer before answering 409.
WAIT_SECONDS = 15.0

Row = TypeVar("Row")


def _wait_for(fetch: Callable[[], Row | None], done: Callable[[Row], bool]) -> Row | None:
    deadline = time.monotonic() + WAIT_SECONDS
    row = fetch()
    while row is not None and not done(row) and time.monotonic() < deadline:
        time.sleep(0.05)
        row = fetch()
    return row


def _claim(model: type[models.Model], **fields: object) -> bool:
    """Insert the row in a transaction of its own; False when it was there already."""
    try:
        with transaction.atomic():
            model._default_manager.create(**fields)
    except IntegrityError:
        return False
    return True


class SubmissionTokenMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = self._token(request)
        if token is None:
            return self.get_response(request)
        user_id = cast(int, request.user.pk)  # `_token` answers for a signed-in user only
        if not _claim(SubmissionToken, token=token, user_id=user_id):
            first = _wait_for(
                lambda: SubmissionToken.objects.filter(token=token, user_id=user_id).first(),
                lambda row: bool(row.location),
            )
            if first is not None and first.location:
                # The first answer, with its own message, is the one a browser drops for this
                # one when the button is tapped twice.
                messages.info(request, _("You sent this twice; it was done once."))
                return HttpResponseRedirect(first.location)
            if first is not None:
                return _still_running()
            # The first did not save: this one is a try of its own.
            _claim(SubmissionToken, token=token, user_id=user_id)
        response = self.get_response(request)
        if response.status_code in (301, 302, 303) and response.has_header("Location"):
            SubmissionToken.objects.filter(token=token).update(location=response["Location"])
        else:
            SubmissionToken.objects.filter(token=token).delete()
        return response

    @staticmethod
    def _token(request: HttpRequest) -> uuid.UUID | None:
        if request.method != "POST" or not request.user.is_authenticated:
            return None
        if request.headers.get(HEADER):
            # The page's script sent it with a key, which does the token's work (and reads the
            # body whole, which reading the form here would consume).
            return None
        try:
            return uuid.UUID(request.POST.get(FIELD, ""))
        except ValueError:
            return None


class IdempotencyKeyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if not key or request.method not in WRITES:
            return self.get_response(request)
        api = "/api/" in request.path
        if api:
            caller = hashlib.sha256(request.headers.get("Authorization", "").encode()).hexdigest()
        elif request.user.is_authenticated:
            # A page's own script (the phone pages' offline queue) sends its actions with a key
            # of the signed-in person's.
            caller = f"user:{request.user.pk}"
        else:
            return self.get_response(request)  # nobody to keep it for; the view refuses it
        if len(key) > 255:
            return JsonResponse({"detail": _("The Idempotency-Key is too long.")}, status=400)
        if "\x00" in key:
            # PostgreSQL cannot store it: refused before anything is kept.
            message = _("The Idempotency-Key cannot contain NUL characters.")
            return JsonResponse({"detail": message}, status=400)
        scope = f"{connection.schema_name}:{caller}"
        try:
            body = request.body
        except RequestDataTooBig:
            return self.get_response(request)  # the view answers it with its own message
        fingerprint = hashlib.sha256(
            b"\n".join([request.method.encode(), request.path.encode(), body])
        ).hexdigest()
        if not _claim(IdempotentRequest, scope=scope, key=key, fingerprint=fingerprint):
            replay = self._replay(scope, key, fingerprint)
            if replay is not None:
                return replay
            _claim(IdempotentRequest, scope=scope, key=key, fingerprint=fingerprint)
        response = self.get_response(request)
        kept = IdempotentRequest.objects.filter(scope=scope, key=key)
        # A page's action refused for its sign-in or its CSRF token did nothing: sent again
        # once the person is signed in with a fresh page, it must be tried, not replayed. An
        # API call refused for its key did nothing either, and keeping it would let anyone with
        # a made-up key fill the table.
        unkept = (401, 403) if not api else (401,)
        if (
            response.status_code >= 500
            or response.status_code in (429, *unkept)
            or response.streaming
        ):
            kept.delete()
        else:
            kept.update(
                status_code=response.status_code,
                content_type=response.get("Content-Type", ""),
                body=response.content,
            )
        return response

    @staticmethod
    def _replay(scope: str, key: str, fingerprint: str) -> HttpResponse | None:
        first = _wait_for(
            lambda: IdempotentRequest.objects.filter(scope=scope, key=key).first(),
            lambda row: row.status_code is not None,
        )
        if first is None:
            return None  # the first failed and was not kept: this one is a try of its own
        if first.fingerprint != fingerprint:
            message = _(
                "This Idempotency-Key was already used for a different request. "
                "Use a new key for a new request."
            )
            return JsonResponse({"detail": message}, status=422)
        if first.status_code is None:
            return _still_running()
        response = HttpResponse(
            bytes(first.body), status=first.status_code, content_type=first.content_type
        )
        response["Idempotent-Replayed"] = "true"
        return response


# A repeat comes seconds after the first; a day is plenty for a client's own retries.
KEPT_FOR = datetime.timedelta(days=1)


def replays_forget(*, now: datetime.datetime | None = None) -> int:
    """Drop tokens and kept answers older than KEPT_FOR (nightly); returns how many."""
    before = (now or timezone.now()) - KEPT_FOR
    tokens, _ = SubmissionToken.objects.filter(created_at__lt=before).delete()
    answers, _ = IdempotentRequest.objects.filter(created_at__lt=before).delete()
    return tokens + answers


def _still_running() -> HttpResponse:
    message = _("The same request is still being handled. Try again in a moment.")
    return JsonResponse({"detail": message}, status=409)
