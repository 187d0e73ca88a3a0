from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from escort_portal.formats import native_digits
from stations.access import (
    Perm,
    SignedInRequest,
    StationRequest,
    needs_second_factor,
    second_factor_redirect,
    signed_in_required,
    station_permission_required,
    stations_overseen,
)

from . import selectors, services
from .forms import PreferenceForm
from .models import Channel, Message

# --- Every user: inbox and preferences ---


@station_permission_required(Perm.ENTER)
@require_GET
def inbox(request: StationRequest) -> HttpResponse:
    page = selectors.inbox_page(
        user=request.user, page_number=request.GET.get("page"), language=get_language()
    )
    return render(request, "notifications/inbox.html", {"page": page})


@station_permission_required(Perm.ENTER)
@require_POST
def message_open(request: StationRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(Message, pk=pk, recipient=request.user, channel=Channel.IN_APP)
    services.message_mark_read(user=request.user, message=message)
    if message.path and url_has_allowed_host_and_scheme(message.path, allowed_hosts=None):
        return redirect(message.path)
    return redirect("notifications:inbox")


@station_permission_required(Perm.ENTER)
@require_POST
def mark_all_read(request: StationRequest) -> HttpResponse:
    services.message_mark_all_read(user=request.user)
    return redirect("notifications:inbox")


@station_permission_required(Perm.ENTER)
@require_http_methods(["GET", "POST"])
def preferences(request: StationRequest) -> HttpResponse:
    current = selectors.preference_for(user=request.user)
    form = PreferenceForm(
        request.POST or None,
        usable=selectors.channel_usability(user=request.user),
        initial={"email": current.email, "sms": current.sms, "whatsapp": current.whatsapp},
    )
    if form.is_valid():
        services.preference_set(user=request.user, **form.cleaned_data)
        messages.success(request, _("Your notification choices are saved."))
        return redirect("notifications:preferences")
    return render(request, "notifications/preferences.html", {"form": form})


# --- Station officers: what did not go out ---


@station_permission_required(Perm.OPERATE)
@require_GET
def outbox(request: StationRequest) -> HttpResponse:
    show = request.GET.get("show", selectors.OutboxFilter.PROBLEMS)
    if show not in selectors.OutboxFilter.CHOICES:
        show = selectors.OutboxFilter.PROBLEMS
    page = selectors.outbox_page(show=show, page_number=request.GET.get("page"))
    return render(
        request,
        "notifications/outbox.html",
        {"page": page, "show": show, "failed_count": selectors.message_count_failed()},
    )


@station_permission_required(Perm.OPERATE)
@require_POST
def message_retry(request: StationRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(Message.objects.exclude(channel=Channel.IN_APP), pk=pk)
    services.message_retry(message=message, by=request.user)
    messages.success(request, _("The message is queued to be sent again."))
    return redirect("notifications:outbox")


@station_permission_required(Perm.OPERATE)
@require_POST
def retry_failed(request: StationRequest) -> HttpResponse:
    count = services.message_retry_failed(by=request.user)
    messages.success(
        request,
        _("Messages queued to be sent again: %(count)s.") % {"count": native_digits(count)},
    )
    return redirect("notifications:outbox")


@signed_in_required
@require_GET
def subdivision_inbox(request: SignedInRequest) -> HttpResponse:
    """The SDPO's one inbox: their messages from every station they oversee; 404 for others."""
    stations = stations_overseen(request.user)
    if not stations:
        raise Http404
    if needs_second_factor(request.user):
        return second_factor_redirect(request)
    items = selectors.subdivision_inbox(
        user=request.user, stations=stations, language=get_language()
    )
    return render(request, "notifications/subdivision_inbox.html", {"items": items})
