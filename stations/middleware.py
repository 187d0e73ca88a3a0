from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from importlib import import_module
from types import ModuleType
from typing import Any, cast

from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLResolver, clear_url_caches, set_urlconf
from django.urls.resolvers import RoutePattern
from django.utils import translation
from django.utils.translation import gettext as _
from django_tenants.middleware import TenantSubfolderMiddleware
from django_tenants.urlresolvers import get_subfolder_urlconf
from django_tenants.utils import (
    get_public_schema_name,
    get_subfolder_prefix,
    get_tenant_domain_model,
    get_tenant_model,
)

from .db import connection
from .models import Station

# One URLconf module per station prefix, kept between requests: Django caches a resolver per
# URLconf module, so the same module each time means each station's resolver is built once.
# Only a prefix whose station exists gets one, so made-up paths cannot grow it: every station
# that does not exist shares one module (`_nowhere_urlconf`). At most
# STATION_URLCONF_CACHE_SIZE stations, the least recently served going first (`_keep`).
_station_urlconfs: OrderedDict[tuple[str, str | None], ModuleType] = OrderedDict()
_station_urlconfs_lock = threading.Lock()


def _keep(key: tuple[str, str | None], build: Callable[[], ModuleType]) -> ModuleType:
    """The station's URLconf module, built once and kept among the most recently served.

    A station's module and its resolver (every URL pattern under its prefix, reversed for each
    language) weigh about a quarter of a megabyte, and a state has 500 stations: unbounded, a
    web worker that served every station would keep 500 of them. Django's own caches (a
    resolver per module, and the locale middleware's answer per module) are unbounded and
    cannot drop one module, so letting one go clears them: the stations still kept rebuild
    their resolvers on their next request.
    """
    with _station_urlconfs_lock:
        urlconf = _station_urlconfs.get(key)
        if urlconf is None:
            urlconf = _station_urlconfs[key] = build()
        else:
            _station_urlconfs.move_to_end(key)
        if len(_station_urlconfs) > settings.STATION_URLCONF_CACHE_SIZE:
            while len(_station_urlconfs) > settings.STATION_URLCONF_CACHE_SIZE:
                _station_urlconfs.popitem(last=False)
            clear_url_caches()
            is_language_prefix_patterns_used.cache_clear()  # type: ignore[attr-defined]
        return urlconf


class _AnyStationPrefix(RoutePattern):
    """`station/<any slug>/`, handing the slug to no view: the prefix of stations that do not
    exist."""

    def __init__(self) -> None:
        super().__init__(f"{get_subfolder_prefix()}/<str:nowhere>/", is_endpoint=False)

    def match(self, path: str) -> tuple[str, tuple, dict[str, Any]] | None:
        found = super().match(path)
        return (found[0], (), {}) if found else None


_nowhere_urlconfs: dict[str, ModuleType] = {}


def _nowhere_urlconf() -> ModuleType:
    """Every station pattern under any slug, for the stations that do not exist: one module for
    all of them, so a made-up slug is resolved as fast as a real one and grows no cache."""
    urlconf = _nowhere_urlconfs.get(settings.ROOT_URLCONF)
    if urlconf is None:
        root = import_module(settings.ROOT_URLCONF)

        class NowhereUrlConf(ModuleType):
            urlpatterns = [URLResolver(_AnyStationPrefix(), root.urlpatterns)]

            def __getattr__(self, attr: str) -> Any:
                # handler400, handler403, handler404 and handler500 come from the root URLConf.
                return getattr(root, attr)

        module = NowhereUrlConf(f"{settings.ROOT_URLCONF}_nowhere")
        urlconf = _nowhere_urlconfs.setdefault(settings.ROOT_URLCONF, module)
    return urlconf


def nowhere_station() -> Station:
    """What a request for a station that does not exist is routed to: a station with no people,
    no subdivision and no rows, whose tables are the template schema's (empty, and never
    written: every station view asks the access layer first, and nobody holds a role here).

    So an outsider cannot tell "no such station" from "not your station": the request goes
    through the same middleware, URL patterns, access check (one query for the user's standing
    here) and 404 page, or the same sign-in redirect, or the same API answer to a key that is
    not the station's, and it takes the same time."""
    return Station(
        # No station has these ids: the role queries run as for a real station, and find nothing.
        pk=0,
        subdivision_id=0,
        schema_name=settings.TENANT_BASE_SCHEMA,
        slug="",
        name="",
    )


class _RoutedRequest(HttpRequest):
    tenant: Station
    urlconf: ModuleType


class StationSubfolderMiddleware(TenantSubfolderMiddleware):
    """django-tenants' routing by /station/<slug>/, keeping each station's URLconf.

    The library's middleware builds a new URLconf module for the station on every request and
    calls `clear_url_caches()` so those modules do not pile up in Django's resolver cache; the
    first `reverse()` of every request then rebuilds the resolver from every station pattern,
    about a fifth of a roster POST. Here the module is made once per station prefix and reused
    (for the STATION_URLCONF_CACHE_SIZE stations served last), and the caches are cleared only
    when a station's module is let go. No prefix leaks between stations: the prefix is written into
    each station's module rather than read from the connection, each module has a resolver of
    its own, and every request sets its own URLconf (Django resets it when the request ends).

    `process_request` is the library's (django-tenants 4.0) without `clear_url_caches()`, and
    without its switch to the public schema before a station is looked up. A station that does
    not exist is not a 404 here: the request is served as by a station where the visitor has no
    business (`nowhere_station`).
    """

    def process_request(self, request: HttpRequest) -> None:
        # Another tenant middleware before this one has already chosen.
        if hasattr(request, "tenant"):
            return None
        prefix = f"/{get_subfolder_prefix()}/"
        urlconf = None
        if not request.path.startswith(prefix):
            connection.set_schema_to_public()
            tenant_model = get_tenant_model()
            try:
                tenant = tenant_model.objects.get(schema_name=get_public_schema_name())
            except tenant_model.DoesNotExist:
                raise self.TENANT_NOT_FOUND_EXCEPTION("Unable to find public tenant") from None
            self.setup_url_routing(request, force_public=True)
        else:
            subfolder = request.path[len(prefix) :].split("/")[0]
            domain_model = get_tenant_domain_model()
            # Stations and their domains are public tables only (stations is no tenant app),
            # which every search path ends with: the lookup needs no SET to public first, only
            # the station found sets one (a query less per station request).
            try:
                if "\x00" in subfolder:
                    # No station's name holds one, and PostgreSQL refuses it in the lookup.
                    raise domain_model.DoesNotExist
                tenant = self.get_tenant(domain_model=domain_model, hostname=subfolder)
            except domain_model.DoesNotExist:
                # Not a 404 here: the answer would differ from a real station's (no sign-in
                # redirect, no API answer, another page, less time).
                tenant = nowhere_station()
                urlconf = _nowhere_urlconf()
            else:
                tenant.domain_subfolder = subfolder
                urlconf = self.get_urlconf(tenant=tenant)
        tenant.domain_url = self.hostname_from_request(request)
        cast(_RoutedRequest, request).tenant = tenant
        connection.set_tenant(tenant)
        if urlconf is not None:
            cast(_RoutedRequest, request).urlconf = urlconf
            # Django takes a URLconf module as well as its dotted name; the stubs say only names.
            set_urlconf(urlconf)  # type: ignore[arg-type]
        return None

    @staticmethod
    def get_urlconf(tenant: Station) -> ModuleType:
        return _keep(
            (settings.ROOT_URLCONF, tenant.domain_subfolder), lambda: get_subfolder_urlconf(tenant)
        )


class UserLanguageMiddleware:
    """A signed-in user sees the language saved on their account, on every device."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        return self.get_response(request)


class ApiBodyLimitMiddleware:
    """On a station's API paths, a body larger than `DATA_UPLOAD_MAX_MEMORY_SIZE` answers a JSON
    413 before anything reads it; Django's own answer is its HTML 400 page, which the API's
    callers cannot read."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.api_path = re.compile(rf"^/{re.escape(get_subfolder_prefix())}/[^/]+/api/")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and self.api_path.match(request.path_info):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                message = _("The request body is larger than %(size)s MB.") % {
                    "size": f"{limit / (1024 * 1024):g}"
                }
                return JsonResponse({"detail": message}, status=413)
        return self.get_response(request)
