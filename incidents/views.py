"""Incidents and SOS: recorded by the station, reported by branches, raised by field agents."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from escort_portal.formats import native_digits
from escort_portal.forms import add_service_errors, field_text, service_error_text
from lenders import selectors as lender_selectors
from lenders.access import BranchRequest, branch_permission_required
from stations.access import Perm, StationRequest, current_station, station_permission_required
from stations.permissions import BranchCap

from . import forms, selectors, services
from .models import Incident, SosAlert

# --- The station's incident register ---


@station_permission_required(Perm.OPERATE, Perm.OVERSEE)
def incident_list(request: StationRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    status = request.GET.get("status", "")
    search = field_text(request.GET, "q")
    incidents = selectors.incident_list(
        kind=kind if kind in Incident.Kind.values else "",
        status=status if status in Incident.Status.values else "",
        search=search,
    )
    page = Paginator(incidents, 25).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "kind": kind,
        "status": status,
        "q": search,
        "kinds": Incident.Kind.choices,
        "statuses": Incident.Status.choices,
        "can_edit": Perm.OPERATE in request.station_perms,
    }
    return render(request, "incidents/incident_list.html", context)


@station_permission_required(Perm.OPERATE)
@require_http_methods(["GET", "POST"])
def incident_edit(request: StationRequest, incident_pk: int | None = None) -> HttpResponse:
    incident = get_object_or_404(Incident, pk=incident_pk) if incident_pk else None
    form = forms.IncidentForm(request.POST or None, instance=incident)
    if form.is_valid():
        details = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            if incident is None:
                incident = services.incident_record(by=request.user, **details)
            else:
                services.incident_update(incident=incident, **details)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Incident saved."))
            return redirect("incidents:incident_detail", incident_pk=incident.pk)
    return render(request, "incidents/incident_form.html", {"form": form, "incident": incident})


@station_permission_required(Perm.OPERATE, Perm.OVERSEE)
def incident_detail(request: StationRequest, incident_pk: int) -> HttpResponse:
    incident = get_object_or_404(
        Incident.objects.select_related("area", "branch", "agent"), pk=incident_pk
    )
    context = {
        "incident": incident,
        "can_edit": Perm.OPERATE in request.station_perms,
        "sos": SosAlert.objects.filter(incident=incident).first(),
    }
    return render(request, "incidents/incident_detail.html", context)


@station_permission_required(Perm.OPERATE)
@require_POST
def incident_status(request: StationRequest, incident_pk: int) -> HttpResponse:
    incident = get_object_or_404(Incident, pk=incident_pk)
    try:
        services.incident_set_status(
            incident=incident, by=request.user, status=request.POST.get("status", "")
        )
    except ValidationError as exc:
        messages.error(request, service_error_text(exc))
    else:
        messages.success(request, _("Incident updated."))
    return redirect("incidents:incident_detail", incident_pk=incident.pk)


@branch_permission_required(BranchCap.INCIDENT_REPORT)
@require_http_methods(["GET", "POST"])
def branch_incident_report(request: BranchRequest, branch_pk: int) -> HttpResponse:
    branch = request.branch
    form = forms.BranchIncidentForm(request.POST or None, branch=branch)
    if form.is_valid():
        details = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            services.incident_report(branch=branch, by=request.user, **details)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, _("Sent to the station. An officer will confirm it and may call you.")
            )
            return redirect("lenders:branch", branch_pk=branch.pk)
    return render(request, "incidents/branch_incident.html", {"branch": branch, "form": form})


# --- SOS ---


@station_permission_required(Perm.ENTER)
def my_trips(request: StationRequest) -> HttpResponse:
    """The agent's own trips today (each with SOS) and tomorrow."""
    today = timezone.localdate()
    trips = lender_selectors.trips_of_agent(user=request.user)
    context = {
        "trips": trips.filter(roster__date=today),
        "tomorrow": trips.exclude(roster__date=today),
        "tomorrow_date": today + datetime.timedelta(days=1),
    }
    return render(request, "incidents/my_trips.html", context)


@station_permission_required(Perm.ENTER)
@require_http_methods(["GET", "POST"])
def sos(request: StationRequest, entry_pk: int) -> HttpResponse:
    """GET asks "send SOS?"; POST sends it. Only the agent's own trip today can be chosen."""
    entry = get_object_or_404(lender_selectors.trips_of_agent_today(user=request.user), pk=entry_pk)
    form = forms.SosForm(request.POST or None)
    if request.method == "POST":
        data = form.cleaned_data if form.is_valid() else {}
        try:
            alert = services.sos_raise(
                entry=entry,
                by=request.user,
                latitude=data.get("latitude"),
                longitude=data.get("longitude"),
                accuracy_m=data.get("accuracy_m"),
                located_at=data.get("located_ms"),
            )
        except ValidationError as exc:
            if _wants_json(request):
                return JsonResponse({"ok": False, "message": service_error_text(exc)}, status=422)
            messages.error(request, service_error_text(exc))
        else:
            if _wants_json(request):
                # Sent by the page's script, maybe from its offline queue: the answer kept
                # for its Idempotency-Key.
                sent = _(
                    "SOS sent at %(time)s. The station's duty officers and the SDPO were "
                    "alerted. Stay where people are, keep your phone on."
                ) % {"time": native_digits(f"{timezone.localtime(alert.raised_at):%H:%M}")}
                return JsonResponse({"ok": True, "message": sent, "reference": f"SOS-{alert.pk}"})
            return render(request, "incidents/sos_sent.html", {"entry": entry, "alert": alert})
    station = current_station(request)
    context = {
        "entry": entry,
        "form": form,
        "station": station,
        # Where an SOS goes when the phone has no data: an SMS, and a call.
        "sos_sms_number": station.sos_sms_number or "112",
        "sos_reference": f"{entry.agent.name}, {entry.roster.branch}, T{entry.pk}",
    }
    return render(request, "incidents/sos_confirm.html", context)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@station_permission_required(Perm.OPERATE, Perm.OVERSEE)
def sos_list(request: StationRequest) -> HttpResponse:
    context = {
        "alerts": selectors.sos_list_open(),
        "can_acknowledge": Perm.OPERATE in request.station_perms,
    }
    return render(request, "incidents/sos_list.html", context)


@station_permission_required(Perm.OPERATE)
@require_POST
def sos_acknowledge(request: StationRequest, alert_pk: int) -> HttpResponse:
    alert = get_object_or_404(SosAlert, pk=alert_pk)
    services.sos_acknowledge(alert=alert, by=request.user)
    messages.success(request, _("SOS taken. Keep the agent's phone line open."))
    return redirect("incidents:sos_list")
