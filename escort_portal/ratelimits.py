"""Rate limits on the pages people could hammer: sign-in, sign-up, uploads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django_ratelimit.decorators import ratelimit

_F = TypeVar("_F", bound=Callable[..., Any])


def rate_limit(name: str, *, key: str = "ip") -> Callable[[_F], _F]:
    """Limit POSTs to the rate named in settings.RATE_LIMITS; over it, the 429 page."""
    return ratelimit(
        key=key, rate=lambda group, request: settings.RATE_LIMITS[name], method="POST", block=True
    )
