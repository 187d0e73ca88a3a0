from __future__ import annotations

import functools
import hashlib
from base64 import b32encode
from urllib.parse import urlencode, urlsplit

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import LoginView
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.i18n import set_language as django_set_language
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from escort_portal.forms import date_from_query, field_text, service_error_text
from escort_portal.ratelimits import rate_limit

from . import dashboard, health, selectors, services
from .access import (
    Perm,
    SignedInRequest,
    StationRequest,
    current_station,
    enrolment_needs_code,
    needs_second_factor,
    second_factor_redirect,
    signed_in_required,
    station_permission_required,
    station_role,
)
from .forms import AuditFilterForm, EnrolmentForm, TokenForm
from .models import StationDay, StationRole, WorkerHeartbeat
from .routing import station_reverse

# Where a lender's or an escort's day starts; a lender branch's page sends a field agent on
# to the agent's own trips.
PHONE_HOMES: dict[str, str] = {
    StationRole.Role.LENDER: "lenders:my_branches",
    StationRole.Role.ESCORT_OFFICER: "escorts:my_day",
}


@signed_in_required
@require_GET
def home(request: SignedInRequest) -> HttpResponse:
    """The user's stations; people on a phone in one station go straight to their own day."""
    entries = selectors.station_list_for_user(user=request.user)
    oversees = dashboard.may_oversee(user=request.user)
    if len(entries) == 1 and not oversees and entries[0].role in PHONE_HOMES:
        return redirect(station_reverse(entries[0].station, PHONE_HOMES[entries[0].role]))
    context = {
        "entries": entries,
        "oversees": oversees,
        # Registering a branch is for newcomers and branch staff, not police officers.
        "offers_registration": not oversees
        and all(entry.role == StationRole.Role.LENDER for entry in entries),
    }
    return render(request, "stations/home.html", context)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form refused for its token (CSRF_FAILURE_VIEW): a page left open while its person
    signed in again, or past a sign-out. Said on the portal's own page, in the reader's
    language and at the phone's width, rather than Django's English page for developers."""
    return render(request, "403.html", {"stale_form": True}, status=403)


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, also saved on the account of a signed-in user."""
    response = django_set_language(request)
    language = request.POST.get("language")
    if request.user.is_authenticated and language in dict(request.user.Language.choices):
        services.user_set_language(user=request.user, language=language)
    return response


# The static files the phone pages need with no connection; the service worker keeps them.
FIELD_APP_FILES = [
    "vendor/bootstrap/bootstrap.min.css",
    "css/portal.css",
    "vendor/bootstrap/bootstrap.bundle.min.js",
    "field/queue.js",
    "escorts/position.js",
    "lenders/sos.js",
    "favicon.svg",
    "icons/icon-192.png",
    "icons/icon-512.png",
]


@functools.cache
def _field_app_version() -> str:
    """Changes whenever one of the files does (their hashed names in production, their
    contents in development), so phones fetch the new ones."""
    digest = hashlib.sha256()
    for name in FIELD_APP_FILES:
        digest.update(static(name).encode())
        found = finders.find(name)
        if isinstance(found, str):
            with open(found, "rb") as file:
                digest.update(file.read())
    return digest.hexdigest()[:12]


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The phone pages' service worker, at the root so that it may serve every station's
    pages (a worker serves only pages under its own address)."""
    context = {
        "version": _field_app_version(),
        "shell": [static(name) for name in FIELD_APP_FILES],
        "static_prefix": settings.STATIC_URL,
    }
    response = render(request, "sw.js", context, content_type="text/javascript")
    # Phones look for a new worker at every visit; the worker keeps the files itself.
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    """What a phone needs to install the portal as an app (opening at the person's own day)."""
    icons = [
        {"src": static(f"icons/icon-{size}.png"), "sizes": f"{size}x{size}", "type": "image/png"}
        for size in (192, 512)
    ]
    data = {
        "name": _("Escort Portal"),
        "short_name": _("Escorts"),
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0d6efd",
        "lang": translation.get_language(),
        "icons": icons,
    }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json"
    return response


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    healthy, details = health.report()
    return JsonResponse(details, status=200 if healthy else 503)


@station_permission_required(Perm.ENTER)
@require_GET
def station_landing(request: StationRequest) -> HttpResponse:
    station = current_station(request)
    role = station_role(request.user, station)
    context = {
        "station": station,
        "role": role,
        "role_label": StationRole.Role(role).label if role else None,
        "heartbeat": WorkerHeartbeat.objects.filter(schema_name=station.schema_name).first(),
        "today": StationDay.objects.filter(station=station, date=timezone.localdate()).first(),
    }
    return render(request, "stations/landing.html", context)


@signed_in_required
@require_GET
def sdpo_dashboard(request: SignedInRequest) -> HttpResponse:
    """Every station of the SDPO's subdivisions, from the read model; 404 for anyone else."""
    if not dashboard.may_oversee(user=request.user):
        raise Http404
    if needs_second_factor(request.user):
        return second_factor_redirect(request)
    date = date_from_query(request, timezone.localdate())
    if date < dashboard.FIRST_DAY:
        date = timezone.localdate()
    board = dashboard.build(user=request.user, date=date)
    # A state has hundreds of stations: the worst come first, a page at a time.
    page = Paginator(board.rows, dashboard.ROWS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "board": board,
        "page": page,
        "lowest_coverage": board.station_trends[: dashboard.ROWS_PER_PAGE],
    }
    return render(request, "stations/dashboard.html", context)


def rate_limited(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Too many tries in a short time: say so plainly, with a 429."""
    return render(request, "429.html", status=429)


@station_permission_required(Perm.ADMINISTER)
@never_cache
@require_http_methods(["GET", "POST"])
def second_factors(request: StationRequest) -> HttpResponse:
    """The officer-in-charge hands out enrolment codes: to a new officer, or for a lost phone."""
    station = current_station(request)
    code = None
    officers = selectors.officers_second_factor(station=station)
    if request.method == "POST":
        username = field_text(request.POST, "username")
        set_up = any(role.user.username == username and on for role, on in officers)
        if set_up and request.POST.get("confirmed") != "yes":
            # A reset signs the officer out everywhere and stops their app: asked first.
            return render(request, "stations/second_factor_reset.html", {"username": username})
        try:
            code = services.officer_second_factor_reset(
                station=station, username=username, by=request.user
            )
        except ValidationError as exc:
            messages.error(request, service_error_text(exc))
            return redirect("station:second_factors")
        messages.success(
            request,
            _("Enrolment code for %(username)s. Give it to them in person; it is shown only now.")
            % {"username": username},
        )
        officers = selectors.officers_second_factor(station=station)
    return render(request, "stations/second_factors.html", {"officers": officers, "code": code})


class SignInView(LoginView):
    """Django's sign-in page. A signed-in person who comes back to it (the phone's back button
    after signing in) goes on to the page asked for, rather than a form that looks as if they
    were signed out."""

    redirect_authenticated_user = True

    def get_redirect_url(self) -> str:
        url = super().get_redirect_url()
        # Back to the sign-in page itself would be a loop (Django raises): go home instead.
        return "" if urlsplit(url).path == self.request.path else url


login = rate_limit("login")(SignInView.as_view())


@station_permission_required(Perm.ADMINISTER)
@require_GET
def audit_trail(request: StationRequest) -> HttpResponse:
    """The station's record of who changed what; read only, for the officer-in-charge."""
    station = request.tenant
    form = AuditFilterForm(request.GET or None, models=selectors.audit_models(station=station))
    page = selectors.audit_page(station=station, number=form.page_number(), **form.filters())
    return render(request, "stations/audit_trail.html", {"form": form, "page": page})


@station_permission_required(Perm.ADMINISTER)
@require_http_methods(["GET", "POST"])
def lockouts(request: StationRequest) -> HttpResponse:
    station = current_station(request)
    if request.method == "POST":
        try:
            services.user_unlock(station=station, username=field_text(request.POST, "username"))
        except ValidationError as exc:
            messages.error(request, service_error_text(exc))
        else:
            messages.success(request, _("Unlocked. They can sign in again now."))
        return redirect("station:lockouts")
    attempts = selectors.locked_out_attempts(station=station)
    return render(request, "stations/lockouts.html", {"attempts": attempts})


# The session remembers that its user gave a good enrolment code, until the new
# authenticator is confirmed.
ENROLMENT_SESSION_KEY = "stations_enrolment_for"
# New recovery codes wait in the session until their user says they have written them down, so
# that a double tap or a reload does not lose them.
RECOVERY_SESSION_KEY = "stations_recovery_codes"


@signed_in_required
@never_cache
@rate_limit("login", key="user")
@require_http_methods(["GET", "POST"])
def two_factor(request: SignedInRequest) -> HttpResponse:
    """Enter the current code of the authenticator app or a recovery code; the first time, set
    up the app, after an enrolment code for police accounts."""
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    user = request.user
    if RECOVERY_SESSION_KEY in request.session:
        if request.method == "POST" and "written" in request.POST:
            del request.session[RECOVERY_SESSION_KEY]
            return redirect(target)
        context = {"codes": request.session[RECOVERY_SESSION_KEY], "next": target}
        return render(request, "registration/recovery_codes.html", context)
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    if (
        not confirmed
        and enrolment_needs_code(user)
        and request.session.get(ENROLMENT_SESSION_KEY) != user.pk
    ):
        return _enrolment(request, target)
    device = None if confirmed else services.totp_device_for_setup(user=user)
    form = TokenForm(request.POST or None)
    if form.is_valid():
        token = form.cleaned_data["token"].strip()
        verified = services.totp_verify(user=user, token=token)
        if verified is None and confirmed:
            verified = services.recovery_code_verify(user=user, token=token)
        if verified is not None:
            otp_login(request, verified)
            if not confirmed:
                # A new authenticator: recovery codes now, shown until written down.
                request.session.pop(ENROLMENT_SESSION_KEY, None)
                request.session[RECOVERY_SESSION_KEY] = services.recovery_codes_issue(user=user)
                return redirect(f"{request.path}?{urlencode({'next': target})}")
            return redirect(target)
        form.add_error(
            "token",
            _("That code is not right. Codes change every 30 seconds: use the current one."),
        )
    context = {
        "form": form,
        "next": target,
        "device": device,
        "qr": segno.make(device.config_url).svg_data_uri(scale=4) if device else None,
        "secret": b32encode(device.bin_key).decode() if device else None,
    }
    return render(request, "registration/two_factor.html", context)


def _enrolment(request: SignedInRequest, target: str) -> HttpResponse:
    form = EnrolmentForm(request.POST or None)
    if form.is_valid():
        # The password first, so that a wrong one does not use up the code.
        if request.user.check_password(form.cleaned_data["password"]) and (
            services.enrolment_code_redeem(user=request.user, code=form.cleaned_data["code"])
        ):
            request.session[ENROLMENT_SESSION_KEY] = request.user.pk
            return redirect(f"{request.path}?{urlencode({'next': target})}")
        form.add_error(
            None,
            _(
                "That code or password is not right, or the code has expired. Ask your "
                "officer-in-charge for a new code."
            ),
        )
    return render(request, "registration/enrolment.html", {"form": form, "next": target})
