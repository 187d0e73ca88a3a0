"""How the roster API knows which branch is calling: `Authorization: Api-Key <key>`."""

from __future__ import annotations

from typing import cast

import pghistory
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling
from rest_framework.request import Request

from stations.access import Perm, StationRequest, current_station, may, needs_second_factor

from .api_keys import api_key_check
from .models import BranchApiKey

REFUSED_KEY = _(
    "Invalid or revoked API key, or a key that may no longer act for the branch (the branch is "
    "not approved, or the person who made it no longer manages the branch): a manager makes a "
    "new one on the portal."
)


class BranchApiKeyAuthentication(authentication.BaseAuthentication):
    """The key names the branch; calls act as the manager who made the key."""

    keyword = "Api-Key"

    def authenticate(self, request: Request) -> tuple | None:
        header = authentication.get_authorization_header(request).decode(errors="replace")
        keyword, _sep, key = header.partition(" ")
        if keyword.lower() != self.keyword.lower():
            return None
        if current_station(request._request) is None or not key.strip():
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API key."))
        api_key = api_key_check(key=key)
        if api_key is None:
            raise exceptions.AuthenticationFailed(REFUSED_KEY)
        # The audit trail names the key beside the manager the call acts as.
        pghistory.context(api_key=api_key.prefix)
        return (api_key.created_by, api_key)

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class HasBranchApiKey(permissions.BasePermission):
    def has_permission(self, request: Request, view: object) -> bool:
        return isinstance(request.auth, BranchApiKey)


class StationMemberOrApiKey(permissions.BasePermission):
    """The schema: for a branch's key, or for a signed-in user who may enter the station."""

    def has_permission(self, request: Request, view: object) -> bool:
        if isinstance(request.auth, BranchApiKey):
            return True
        station = current_station(request._request)
        return bool(
            station is not None
            and request.user.is_authenticated
            and may(request.user, station, Perm.ENTER)
            # Like the station's pages: the schema describes its data, so police need the
            # second factor first.
            and not needs_second_factor(request.user, station)
        )


class BranchApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = BranchApiKeyAuthentication
    name = "BranchApiKey"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": str(
                _("Write “Api-Key ” and then the key the branch manager made on the portal.")
            ),
        }


class BranchKeyThrottle(throttling.SimpleRateThrottle):
    """Calls per key in the station, so one branch's runaway script cannot crowd out others."""

    scope = "branch_key"

    def get_cache_key(self, request: Request, view: object) -> str | None:
        if not isinstance(request.auth, BranchApiKey):
            return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
        station = current_station(cast(StationRequest, request._request))
        ident = f"{station.schema_name}:{request.auth.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
