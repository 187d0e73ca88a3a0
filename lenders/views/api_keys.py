"""A branch manager's API keys: make one (its key shown once), see them, revoke one."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from escort_portal.forms import add_service_errors
from stations.permissions import BranchCap

from .. import api_keys
from ..access import BranchRequest, branch_permission_required

_NEW_KEY = "lenders.new_api_key"


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name of the system that will use the key"),
        max_length=60,
        help_text=gettext_lazy("For example: Core banking, Loan tracker."),
    )


@never_cache  # the page that shows a new key must not stay in any cache
@branch_permission_required(BranchCap.KEYS)
@require_http_methods(["GET", "POST"])
def api_key_list(request: BranchRequest, branch_pk: int) -> HttpResponse:
    branch = request.branch
    form = ApiKeyForm(request.POST or None)
    if form.is_valid():
        try:
            created = api_keys.api_key_create(
                branch=branch, name=form.cleaned_data["name"], by=request.user
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            # Redirected, so a reload or the back button lands on the list instead of sending
            # the form again for a second key. The key waits in the session for that one page.
            request.session[_NEW_KEY] = {"pk": created.record.pk, "key": created.key}
            return redirect("lenders:api_keys", branch_pk=branch.pk)
    new_key = None
    waiting = request.session.get(_NEW_KEY)
    if request.method == "GET" and waiting:
        record = branch.api_keys.filter(pk=waiting["pk"]).first()
        if record is not None:
            del request.session[_NEW_KEY]
            new_key = api_keys.NewApiKey(record=record, key=waiting["key"])
    context = {
        "branch": branch,
        "form": form,
        "new_key": new_key,
        "keys": branch.api_keys.select_related("created_by", "revoked_by"),
    }
    return render(request, "lenders/api_keys.html", context)


@branch_permission_required(BranchCap.KEYS)
@require_http_methods(["GET", "POST"])
def api_key_revoke(request: BranchRequest, branch_pk: int, key_pk: int) -> HttpResponse:
    """Asks first: a revoked key stops the branch's own software at once, for good."""
    branch = request.branch
    api_key = get_object_or_404(branch.api_keys, pk=key_pk)
    if request.method == "GET" and api_key.revoked_at is None:
        return render(
            request, "lenders/api_key_revoke.html", {"branch": branch, "api_key": api_key}
        )
    if request.method == "GET":
        return redirect("lenders:api_keys", branch_pk=branch.pk)
    api_keys.api_key_revoke(api_key=api_key, by=request.user)
    messages.success(
        request, _("Key “%(name)s” revoked. It no longer works.") % {"name": api_key.name}
    )
    return redirect("lenders:api_keys", branch_pk=branch.pk)
