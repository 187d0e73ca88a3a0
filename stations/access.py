"""The access layer: one place that answers "may this user do X in this station".

Station views never check roles themselves; they use `station_permission_required`. A user
without business in a station gets 404 for every URL of it, the same as for a station that
does not exist, so nothing tells an outsider that it is there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, NamedTuple, TypeVar, cast, overload
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db.models import Exists, OuterRef, Subquery, Value
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django_tenants.utils import get_public_schema_name

from .db import connection
from .models import Station, StationRole, SubdivisionRole, User
from .permissions import STATION_ROLES, SUBDIVISION_STAFF, Perm

_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])


class SignedInRequest(HttpRequest):
    """A request past `signed_in_required`: its user is a real account."""

    user: User


class StationRequest(SignedInRequest):
    """A request past `station_permission_required`: what the routing middleware and the
    decorator attach to it."""

    tenant: Station
    station_perms: frozenset[Perm]


def station_role(user: User, station: Station) -> str | None:
    """The user's role in the station, or None."""
    if not user.is_authenticated or not user.is_active:
        return None
    return (
        StationRole.objects.filter(user=user, station=station).values_list("role", flat=True)
    ).first()


def oversees(user: User, station: Station) -> bool:
    """True for the SDPO and staff of the station's subdivision."""
    if not user.is_authenticated or not user.is_active or station.subdivision_id is None:
        return False
    return SubdivisionRole.objects.filter(user=user, subdivision_id=station.subdivision_id).exists()


def stations_overseen(user: User) -> list[Station]:
    """The live stations where `user` holds the subdivision staff's powers (SUBDIVISION_STAFF,
    with Perm.OVERSEE): every station of the subdivisions they serve, by name."""
    if not user.is_authenticated or not user.is_active:
        return []
    return list(
        Station.objects.live().filter(subdivision__roles__user=user).distinct().order_by("name")
    )


class StationSchema(NamedTuple):
    """A station as a query across schemas needs it: its id and its schema."""

    pk: int
    schema_name: str


def schemas_overseen(user: User) -> list[StationSchema]:
    """`stations_overseen` as ids and schemas only: a state's 500 of them, read on every page
    (the SDPO's bell), are not made into models."""
    if not user.is_authenticated or not user.is_active:
        return []
    rows = (
        Station.objects.live()
        .filter(subdivision__roles__user=user)
        .distinct()
        .order_by("name", "pk")
        .values_list("pk", "schema_name")
    )
    return [StationSchema(*row) for row in rows]


@dataclass(frozen=True)
class _Standing:
    """What the user is at a station and in the subdivisions, read in one query."""

    role: str | None
    oversees: bool
    in_any_subdivision: bool
    police_anywhere: bool

    @property
    def perms(self) -> frozenset[Perm]:
        perms = STATION_ROLES.get(self.role, frozenset()) if self.role else frozenset()
        return perms | SUBDIVISION_STAFF if self.oversees else perms

    @property
    def police(self) -> bool:
        """Holds a police role in any station or a post in any subdivision: a second factor is
        due, also where their role is a lender's (a police password alone could otherwise
        register a branch at any station and enter it)."""
        return self.police_anywhere or self.in_any_subdivision


def _standing(user: User, station: Station) -> _Standing:
    if not user.is_authenticated or not user.is_active:
        return _Standing(role=None, oversees=False, in_any_subdivision=False, police_anywhere=False)
    posts = SubdivisionRole.objects.filter(user=OuterRef("pk"))
    police_roles = StationRole.objects.filter(user=OuterRef("pk")).exclude(
        role=StationRole.Role.LENDER
    )
    # A station outside any subdivision is overseen by no one.
    subdivision = station.subdivision_id
    here = Exists(posts.filter(subdivision_id=subdivision)) if subdivision else Value(False)
    role, oversees, anywhere, police_anywhere = (
        User.objects.filter(pk=user.pk)
        .values_list(
            Subquery(
                StationRole.objects.filter(user=OuterRef("pk"), station=station)
                .order_by("pk")
                .values("role")[:1]
            ),
            here,
            Exists(posts),
            Exists(police_roles),
        )
        .get()
    )
    return _Standing(
        role=role,
        oversees=oversees,
        in_any_subdivision=anywhere,
        police_anywhere=police_anywhere,
    )


def permissions(user: User, station: Station) -> frozenset[Perm]:
    return _standing(user, station).perms


def may(user: User, station: Station, perm: Perm) -> bool:
    return perm in permissions(user, station)


@overload
def current_station(request: StationRequest) -> Station: ...
@overload
def current_station(request: HttpRequest) -> Station | None: ...
def current_station(request: HttpRequest) -> Station | None:
    """The station the request was routed to, or None on the public site."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.schema_name == get_public_schema_name():
        return None
    return tenant


def station_permission_required(*required: Perm) -> Callable[[_View], _View]:
    """Decorator for station views: login first, then 404 unless the user holds one of the
    `required` permissions here.

    The station's permissions are left on `request.station_perms` for templates and views.
    """

    def decorator(view: _View) -> _View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            station = current_station(request)
            if station is None or connection.schema_name != station.schema_name:
                raise Http404
            if not request.user.is_authenticated:
                return sign_in_redirect(request)
            standing = _standing(request.user, station)
            perms = standing.perms
            if perms.isdisjoint(required):
                raise Http404
            if _second_factor_due(request.user) and standing.police:
                return second_factor_redirect(request)
            station_request = cast(StationRequest, request)
            station_request.station_perms = perms
            return view(station_request, *args, **kwargs)

        # The role sweep reads what each view asks for from here.
        wrapped.station_perms_required = frozenset(required)  # type: ignore[attr-defined]
        return cast(_View, wrapped)

    return decorator


def needs_second_factor(user: User, station: Station | None = None) -> bool:
    """Police roles, the SDPO's office and platform admins sign in with a second factor; lenders
    may choose to."""
    if not _second_factor_due(user):
        return False
    # Platform admins hand out roles in every station: their pages outside a station need it.
    if station is None and user.is_staff:
        return True
    police = StationRole.objects.filter(user=user).exclude(role=StationRole.Role.LENDER)
    if station is not None:
        police = police.filter(station=station)
    return police.exists() or SubdivisionRole.objects.filter(user=user).exists()


def enrolment_needs_code(user: User) -> bool:
    """Police, SDPO's office and platform admins set up a second factor only with an enrolment
    code; a lender who chooses one may set it up with the password."""
    return (
        user.is_staff
        or StationRole.objects.filter(user=user).exclude(role=StationRole.Role.LENDER).exists()
        or SubdivisionRole.objects.filter(user=user).exists()
    )


def way_back(request: HttpRequest) -> str:
    """Where to come back to once signed in: the page asked for; for a form sent after the
    session ended, the page the form was on (the form's own address answers POST alone, so
    coming back to it would be an empty "method not allowed"), when that page is ours."""
    if request.method in ("GET", "HEAD"):
        return request.get_full_path()
    referer = request.headers.get("Referer", "")
    if url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        page = urlsplit(referer)
        return f"{page.path}?{page.query}" if page.query else page.path
    return "/"


def sign_in_redirect(request: HttpRequest) -> HttpResponse:
    return redirect_to_login(way_back(request))


def signed_in_required(view: _View) -> _View:
    """Django's `login_required`, coming back after the sign-in as `way_back` says."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return sign_in_redirect(request)
        return view(request, *args, **kwargs)

    return cast(_View, wrapped)


def second_factor_required(view: _View) -> _View:
    """For pages outside a station that police accounts reach only with the second factor."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if needs_second_factor(cast(User, request.user)):
            return second_factor_redirect(request)
        return view(request, *args, **kwargs)

    return cast(_View, wrapped)


def _second_factor_due(user: User) -> bool:
    """Whether the user would be asked for a second factor if they are police."""
    if not settings.OTP_REQUIRED or not user.is_authenticated:
        return False
    # django-otp's middleware gives the request's user `is_verified`; it is no field of User.
    return not user.is_verified()  # type: ignore[attr-defined]


def second_factor_redirect(request: HttpRequest) -> HttpResponse:
    return redirect(f"{settings.OTP_VERIFY_URL}?{urlencode({'next': way_back(request)})}")
