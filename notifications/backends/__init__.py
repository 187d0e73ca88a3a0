"""Channel backends: each sends one rendered message and returns the provider's reference.

A backend raises `TransientDeliveryError` for what may work later (timeouts, 5xx, rate limits)
and `PermanentDeliveryError` for what never will (a refused number, a bad template). Which class
serves a channel is set in `NOTIFICATIONS_BACKENDS`; SMS and WhatsApp count as available only
while their gateway URL is set, so a development machine sends nothing off the machine.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from notifications.catalogue import Rendered
    from notifications.models import Message


class DeliveryError(Exception):
    pass


class TransientDeliveryError(DeliveryError):
    """Worth another attempt later. `retry_after` is set by the service when it schedules one."""

    def __init__(self, message: str, *, retry_after: float = 0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    pass


class Backend(Protocol):
    def is_available(self) -> bool:
        """True when this channel may be used at all (configured)."""

    def address(self, user: object) -> str:
        """Where this user receives the channel, or "" when they cannot."""

    def send(self, *, message: Message, rendered: Rendered, address: str) -> str:
        """Send; return the provider's reference for the message."""


@cache
def _backend(path: str) -> Backend:
    return import_string(path)()


def backend_for(channel: str) -> Backend:
    return _backend(settings.NOTIFICATIONS_BACKENDS[channel])


def external_channels() -> list[str]:
    return list(settings.NOTIFICATIONS_BACKENDS)
