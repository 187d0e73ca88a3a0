from __future__ import annotations

import datetime

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import set_language as django_set_language

from . import dashboard, health, selectors, services
from .access import Perm, current_station, station_permission_required, station_role
from .models import StationDay, StationRole, WorkerHeartbeat


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    entries = selectors.station_list_for_user(user=request.user)
    oversees = dashboard.may_oversee(user=request.user)
    return render(request, "stations/home.html", {"entries": entries, "oversees": oversees})


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, also saved on the account of a signed-in user."""
    response = django_set_language(request)
    language = request.POST.get("language")
    if request.user.is_authenticated and language in dict(request.user.Language.choices):
        services.user_set_language(user=request.user, language=language)
    return response


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    healthy, details = health.report()
    return JsonResponse(details, status=200 if healthy else 503)


@station_permission_required(Perm.ENTER)
@require_GET
def station_landing(request: HttpRequest) -> HttpResponse:
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


@login_required
@require_GET
def sdpo_dashboard(request: HttpRequest) -> HttpResponse:
    """Every station of the SDPO's subdivisions, from the read model; 404 for anyone else."""
    if not dashboard.may_oversee(user=request.user):
        raise Http404
    try:
        date = datetime.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
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
