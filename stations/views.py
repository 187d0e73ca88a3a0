from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import set_language as django_set_language

from . import health, selectors, services
from .access import Perm, current_station, station_permission_required, station_role
from .models import StationRole, WorkerHeartbeat


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    entries = selectors.station_list_for_user(user=request.user)
    return render(request, "stations/home.html", {"entries": entries})


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
    }
    return render(request, "stations/landing.html", context)
