"""The address of the person on the other end, for sign-in lockouts and rate limits.

Behind a reverse proxy every request comes from the proxy's address, and X-Forwarded-For says
who the proxy spoke for. Anyone can write that header, so it is believed only as far as the
proxies listed in settings.TRUSTED_PROXIES: read from the right, the first address that is not a
trusted proxy is the client. With no proxies listed, REMOTE_ADDR is the client.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(
        ip in ipaddress.ip_network(proxy, strict=False) for proxy in settings.TRUSTED_PROXIES
    )


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    if not _trusted(remote):
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                # Garbage in the header: the last proxy that we trust is all we know.
                return remote
    return remote
