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
from django.views.decorators.http import require_http_methods, require_POST

from escort_portal.forms import add_service_errors
from stations.permissions import BranchCap

from .. import api_keys
from ..access import BranchRequest, branch_permission_required


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
    new_key = None
    if form.is_valid():
        try:
            new_key = api_keys.api_key_create(
                branch=branch, name=form.cleaned_data["name"], by=request.user
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            # Rendered, not redirected: the key exists only in this response.
            form = ApiKeyForm()
    context = {
        "branch": branch,
        "form": form,
        "new_key": new_key,
        "keys": branch.api_keys.select_related("created_by", "revoked_by"),
    }
    return render(request, "lenders/api_keys.html", context)


@branch_permission_required(BranchCap.KEYS)
@require_POST
def api_key_revoke(request: BranchRequest, branch_pk: int, key_pk: int) -> HttpResponse:
    branch = request.branch
    api_key = get_object_or_404(branch.api_keys, pk=key_pk)
    api_keys.api_key_revoke(api_key=api_key, by=request.user)
    messages.success(
        request, _("Key “%(name)s” revoked. It no longer works.") % {"name": api_key.name}
    )
    return redirect("lenders:api_keys", branch_pk=branch.pk)
