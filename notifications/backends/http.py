"""A small JSON-over-HTTPS client shared by the SMS and WhatsApp backends (stdlib only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from . import PermanentDeliveryError, TransientDeliveryError

# Worth retrying: the gateway is overloaded, rate-limiting or briefly down.
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
_ERROR_BODY_MAX = 500


@dataclass(frozen=True)
class Response:
    status: int
    data: dict


def transient_status(status: int, data: dict) -> bool:
    return status in TRANSIENT_STATUSES


def post_json(
    url: str,
    payload: dict,
    *,
    headers: dict[str, str],
    is_transient: Callable[[int, dict], bool] = transient_status,
) -> Response:
    """POST `payload` as JSON; return the decoded 2xx answer or raise a delivery error.

    `is_transient(status, error_body)` decides whether a refused request is worth retrying.
    """
    if not url.startswith(("https://", "http://")):
        raise PermanentDeliveryError(f"Gateway URL must be http(s): {url!r}")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=json.dumps(payload, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(  # noqa: S310 - scheme checked above
            request, timeout=settings.NOTIFICATIONS_HTTP_TIMEOUT
        ) as answer:
            status, body = answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        detail = " ".join(raw[:_ERROR_BODY_MAX].decode(errors="replace").split())
        error = f"HTTP {exc.code}: {detail}".strip()
        if is_transient(exc.code, _decode(raw)):
            raise TransientDeliveryError(error) from exc
        raise PermanentDeliveryError(error) from exc
    except TimeoutError as exc:
        raise TransientDeliveryError(_no_answer()) from exc
    except OSError as exc:  # URLError and connection errors
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            raise TransientDeliveryError(_no_answer()) from exc
        raise TransientDeliveryError(f"Gateway unreachable: {reason}") from exc
    return Response(status=status, data=_decode(body))


def _no_answer() -> str:
    return f"No answer within {settings.NOTIFICATIONS_HTTP_TIMEOUT:g} s"


def _decode(body: bytes) -> dict:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
