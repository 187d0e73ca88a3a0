"""The cache behind the rate limits: Redis, and this process's memory while Redis is down.

The cache holds nothing but the counters of django-ratelimit (sign-in, sign-up, uploads) and
of the API's throttle. Neither library survives a cache error (django-ratelimit's
`RATELIMIT_FAIL_OPEN` covers a missing count, not a raised ConnectionError; DRF's throttle reads
a list), so with Redis down every sign-in would answer 500. Here a Redis error falls back to a
per-process memory cache with a log line: limits still hold per web process, and nobody is
locked out while Redis is away.
"""

from __future__ import annotations

import logging
import time

import redis
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

# One warning a minute per process is enough to raise the alarm without flooding the log.
WARN_EVERY_SECONDS = 60.0


class RedisCacheWithLocalFallback(RedisCache):
    def __init__(self, server: str, params: dict) -> None:
        super().__init__(server, params)
        self._local = LocMemCache(f"fallback:{server}", params)
        self._warned_at = -WARN_EVERY_SECONDS

    def _fallen_back(self, name: str, exc: redis.RedisError) -> LocMemCache:
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            logger.warning(
                "Redis cache unavailable on %s (%s: %s); rate limits count in process memory",
                name,
                type(exc).__name__,
                exc,
            )
        return self._local


def _with_fallback(name: str):
    def method(self: RedisCacheWithLocalFallback, *args: object, **kwargs: object) -> object:
        try:
            return getattr(RedisCache, name)(self, *args, **kwargs)
        except redis.RedisError as exc:
            return getattr(self._fallen_back(name, exc), name)(*args, **kwargs)

    method.__name__ = name
    return method


for _name in (
    "add",
    "get",
    "set",
    "touch",
    "delete",
    "get_many",
    "has_key",
    "incr",
    "set_many",
    "delete_many",
    "clear",
):
    setattr(RedisCacheWithLocalFallback, _name, _with_fallback(_name))
