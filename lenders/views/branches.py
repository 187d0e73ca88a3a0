"""Lender pages: a branch's own people and roster, and the duty officer's side of branches and
areas. A branch is always looked up among the user's own branches, so another branch's pages
answer 404."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from escort_portal.formats import native_digits, page_date
from escort_portal.forms import add_service_errors, field_text, service_error_text
from escort_portal.ratelimits import rate_limit
from stations.access import (
    Perm,
    SignedInRequest,
    StationRequest,
    second_factor_required,
    signed_in_required,
    station_permission_required,
)
from stations.permissions import BranchCap
from stations.routing import public_reverse
from stations.selectors import station_list_live

from .. import forms, selectors, services
from ..access import BranchRequest, branch_permission_required
from ..models import CollectionArea, FieldAgent, LenderBranch, RosterEntry

# --- Public site: sign-up and registration ---


@rate_limit("signup")
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("lenders_public:register")
    form = forms.SignupForm(request.POST or None)
    if form.is_valid():
        # The account keeps the language the manager signed up in; the default would turn the
        # very next page (registering the branch) to English for someone reading Bengali.
        form.instance.language = request.LANGUAGE_CODE
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Account created. Now register your branch."))
        return redirect("lenders_public:register")
    return render(request, "lenders/signup.html", {"form": form})


@signed_in_required
@second_factor_required
@require_http_methods(["GET", "POST"])
def register(request: SignedInRequest) -> HttpResponse:
    form = forms.BranchRegistrationForm(
        request.POST or None, stations=station_list_live(), user=request.user
    )
    if form.is_valid():
        details = {k: v for k, v in form.cleaned_data.items() if k != "station"}
        station = form.cleaned_data["station"]
        try:
            services.branch_register_at(station=station, user=request.user, **details)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("Registration sent to %(station)s police station. It is pending approval.")
                % {"station": station.display_name},
            )
            return redirect(public_reverse("home"))
    return render(request, "lenders/register.html", {"form": form})


# --- A branch's own pages ---


def _roster_context(branch: LenderBranch, date: datetime.date) -> dict:
    cutoff = services.cutoff_at(date)
    return {
        "date": date,
        "entries": selectors.roster_entry_list(branch=branch, date=date),
        "roster": branch.rosters.filter(date=date).first(),
        "cutoff": cutoff,
        "open": branch.can_file and services.is_open_for_branches(date),
        # A roster names agents: with none yet, the branch is pointed to adding them first.
        "has_agents": selectors.agent_list(branch=branch, active_only=True).exists(),
        # Hours and minutes of our own: Django's "timeuntil" has no Bengali.
        "left": divmod(max(0, int((cutoff - timezone.now()).total_seconds() // 60)), 60),
    }


@station_permission_required(Perm.ENTER)
def my_branches(request: StationRequest) -> HttpResponse:
    branches = list(selectors.branch_list_with(user=request.user, cap=BranchCap.VIEW))
    if not branches and selectors.user_is_field_agent_only(user=request.user):
        return redirect("incidents:my_trips")
    if len(branches) == 1:
        return redirect("lenders:branch", branch_pk=branches[0].pk)
    return render(request, "lenders/my_branches.html", {"branches": branches})


@branch_permission_required(BranchCap.VIEW)
def branch_home(request: BranchRequest, branch_pk: int) -> HttpResponse:
    branch = request.branch
    days = [_roster_context(branch, date) for date in services.fileable_dates()]
    has_agents = selectors.agent_list(branch=branch, active_only=True).exists()
    has_filed = RosterEntry.objects.filter(roster__branch=branch).exists()
    return render(
        request,
        "lenders/branch_home.html",
        {
            "branch": branch,
            "days": days,
            "caps": request.branch_caps,
            "has_agents": has_agents,
            "has_filed": has_filed,
        },
    )


@branch_permission_required(BranchCap.ROSTER_READ)
def roster_day(request: BranchRequest, branch_pk: int, date: datetime.date) -> HttpResponse:
    branch = request.branch
    context = {"branch": branch, "caps": request.branch_caps, **_roster_context(branch, date)}
    return render(request, "lenders/roster_day.html", context)


@branch_permission_required(BranchCap.ROSTER_READ)
def roster_history(request: BranchRequest, branch_pk: int) -> HttpResponse:
    branch = request.branch
    page = Paginator(selectors.roster_list_for_branch(branch=branch), 30).get_page(
        request.GET.get("page")
    )
    return render(request, "lenders/roster_history.html", {"branch": branch, "page": page})


def _entry_form(request: HttpRequest, branch: LenderBranch, entry: RosterEntry | None = None):
    initial = None
    if entry is not None:
        initial = {
            name: getattr(entry, name)
            for name in forms.RosterEntryForm.base_fields
            if name not in ("agent", "area")
        } | {"agent": entry.agent_id, "area": entry.area_id}
    return forms.RosterEntryForm(
        request.POST or None,
        initial=initial,
        agents=selectors.agent_list_for_entry(branch=branch, keep=entry.agent if entry else None),
        areas=selectors.area_list_active(),
    )


def _entry_form_context(branch: LenderBranch, date: datetime.date, form: forms.RosterEntryForm):
    # Past the cut-off a fresh form would only be refused after it is filled in; one sent just
    # before it is still shown, with what was typed and the service's refusal.
    return {
        "branch": branch,
        "date": date,
        "form": form,
        "open": form.is_bound or services.is_open_for_branches(date),
        "cutoff": services.cutoff_at(date),
    }


@branch_permission_required(BranchCap.ROSTER_WRITE)
@require_http_methods(["GET", "POST"])
def entry_add(request: BranchRequest, branch_pk: int, date: datetime.date) -> HttpResponse:
    branch = request.branch
    form = _entry_form(request, branch)
    if form.is_valid():
        try:
            services.roster_entry_add(
                branch=branch,
                date=date,
                data=services.EntryInput(**form.cleaned_data),
                by=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Entry added to the roster."))
            if "add_another" in request.POST:
                return redirect("lenders:entry_add", branch_pk=branch.pk, date=date)
            return redirect("lenders:roster_day", branch_pk=branch.pk, date=date)
    return render(request, "lenders/entry_form.html", _entry_form_context(branch, date, form))


@branch_permission_required(BranchCap.ROSTER_WRITE)
@require_http_methods(["GET", "POST"])
def entry_edit(request: BranchRequest, branch_pk: int, entry_pk: int) -> HttpResponse:
    branch = request.branch
    entry = get_object_or_404(
        RosterEntry.objects.select_related("agent"), pk=entry_pk, roster__branch=branch
    )
    form = _entry_form(request, branch, entry)
    if form.is_valid():
        try:
            services.roster_entry_update(entry=entry, data=services.EntryInput(**form.cleaned_data))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Entry changed."))
            return redirect("lenders:roster_day", branch_pk=branch.pk, date=entry.roster.date)
    context = _entry_form_context(branch, entry.roster.date, form)
    return render(request, "lenders/entry_form.html", {**context, "entry": entry})


@branch_permission_required(BranchCap.ROSTER_WRITE)
@require_http_methods(["GET", "POST"])
def entry_delete(request: BranchRequest, branch_pk: int, entry_pk: int) -> HttpResponse:
    branch = request.branch
    entry = get_object_or_404(
        RosterEntry.objects.select_related("agent", "area", "roster"),
        pk=entry_pk,
        roster__branch=branch,
    )
    if request.method == "POST":
        try:
            services.roster_entry_delete(entry=entry)
        except ValidationError as exc:
            messages.error(request, service_error_text(exc))
        else:
            messages.success(request, _("Entry removed."))
        return redirect("lenders:roster_day", branch_pk=branch.pk, date=entry.roster.date)
    # Past the cut-off the page says so, as the entry's form does, rather than asking for a
    # removal that would only be refused.
    context = {
        "branch": branch,
        "entry": entry,
        "open": branch.can_file and services.is_open_for_branches(entry.roster.date),
        "cutoff": services.cutoff_at(entry.roster.date),
    }
    return render(request, "lenders/entry_delete.html", context)


@branch_permission_required(BranchCap.ROSTER_WRITE)
@require_POST
def roster_copy(request: BranchRequest, branch_pk: int, date: datetime.date) -> HttpResponse:
    branch = request.branch
    try:
        result = services.roster_copy_from_last(branch=branch, date=date, by=request.user)
    except ValidationError as exc:
        messages.error(request, service_error_text(exc))
    else:
        if result.source is None:
            messages.info(request, _("There is no earlier roster to copy."))
        else:
            messages.success(
                request,
                _("%(copied)s of the %(total)s trips of %(date)s copied.")
                % {
                    "copied": native_digits(len(result.added)),
                    "total": native_digits(len(result.added) + len(result.skipped)),
                    "date": page_date(result.source.date),
                },
            )
        if result.added:
            messages.info(
                request,
                _("Copied: %(entries)s") % {"entries": "; ".join(e.label for e in result.added)},
            )
        for old, reason in result.skipped:
            messages.warning(
                request,
                _("Not copied: %(entry)s: %(reason)s")
                % {"entry": old.label, "reason": service_error_text(reason)},
            )
    return redirect("lenders:roster_day", branch_pk=branch.pk, date=date)


@branch_permission_required(BranchCap.ROSTER_WRITE)
@require_POST
def roster_no_collection(
    request: BranchRequest, branch_pk: int, date: datetime.date
) -> HttpResponse:
    branch = request.branch
    try:
        services.roster_declare_no_collection(branch=branch, date=date, by=request.user)
    except ValidationError as exc:
        messages.error(request, service_error_text(exc))
    else:
        messages.success(
            request,
            _("No collection on %(date)s: the station will not wait for this roster.")
            % {"date": page_date(date)},
        )
    return redirect("lenders:roster_day", branch_pk=branch.pk, date=date)


@branch_permission_required(BranchCap.PEOPLE)
def agent_list(request: BranchRequest, branch_pk: int) -> HttpResponse:
    branch = request.branch
    return render(
        request,
        "lenders/agent_list.html",
        {"branch": branch, "agents": selectors.agent_list(branch=branch)},
    )


@branch_permission_required(BranchCap.PEOPLE)
@rate_limit("upload", key="user")
@require_http_methods(["GET", "POST"])
def agent_edit(request: BranchRequest, branch_pk: int, agent_pk: int | None = None) -> HttpResponse:
    branch = request.branch
    agent = get_object_or_404(FieldAgent, pk=agent_pk, branch=branch) if agent_pk else None
    form = forms.FieldAgentForm(request.POST or None, request.FILES or None, instance=agent)
    if form.is_valid():
        details = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            if agent is None:
                services.agent_create(branch=branch, **details)
            else:
                services.agent_update(agent=agent, **details)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Agent saved."))
            return redirect("lenders:agent_list", branch_pk=branch.pk)
    return render(
        request, "lenders/agent_form.html", {"branch": branch, "form": form, "agent": agent}
    )


@branch_permission_required(BranchCap.PEOPLE)
@require_http_methods(["GET", "POST"])
def agent_toggle(request: BranchRequest, branch_pk: int, agent_pk: int) -> HttpResponse:
    branch = request.branch
    agent = get_object_or_404(FieldAgent, pk=agent_pk, branch=branch)
    back_url = reverse("lenders:agent_list", kwargs={"branch_pk": branch.pk})
    if request.method == "GET":
        return render(
            request,
            "lenders/agent_deactivate.html",
            {
                "branch": branch,
                "agent": agent,
                "back_url": back_url,
                "trips": selectors.roster_entry_list_ahead_for_agent(agent=agent),
            },
        )
    # The form says which state it asks for, so a double tap cannot flip the agent back.
    services.agent_set_active(agent=agent, active=request.POST.get("active") == "1")
    if agent.active:
        messages.success(request, _("%(name)s is active again.") % {"name": agent.name})
    else:
        messages.success(
            request,
            _("%(name)s is deactivated; past rosters keep their entries.") % {"name": agent.name},
        )
    return redirect(back_url)


@branch_permission_required(BranchCap.PEOPLE)
# Making a login is a sign-up for someone else, and its "username taken" would otherwise let a
# manager's login try every name there is: the sign-up's limit, per user.
@rate_limit("signup", key="user")
@require_http_methods(["GET", "POST"])
def staff(request: BranchRequest, branch_pk: int) -> HttpResponse:
    branch = request.branch
    # Agents who have a login already are not offered a second one.
    # A new login reads its pages in the manager's language unless told otherwise.
    form = forms.StaffLoginForm(
        request.POST or None,
        initial={"language": request.user.language},
        agents=selectors.agent_list(branch=branch, active_only=True).filter(login__isnull=True),
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.branch_member_add(
                branch=branch,
                username=data["username"],
                first_name=data["first_name"],
                password=data["password"],
                phone=str(data["phone"] or ""),
                email=data["email"],
                role="agent" if data["agent"] else "staff",
                agent=data["agent"],
                language=data["language"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Login created. Give the password to its owner."))
            return redirect("lenders:staff", branch_pk=branch.pk)
    members = branch.members.select_related("user", "agent").order_by("role", "user__username")
    return render(
        request, "lenders/staff.html", {"branch": branch, "form": form, "members": members}
    )


@branch_permission_required(BranchCap.PEOPLE)
@require_http_methods(["GET", "POST"])
def staff_remove(request: BranchRequest, branch_pk: int, member_pk: int) -> HttpResponse:
    branch = request.branch
    member = get_object_or_404(branch.members.select_related("user", "agent"), pk=member_pk)
    if request.method == "POST":
        try:
            services.branch_member_remove(member=member, by=request.user)
        except ValidationError as exc:
            messages.error(request, service_error_text(exc))
        else:
            messages.success(
                request,
                _("%(username)s can no longer sign in to this branch.")
                % {"username": member.user.username},
            )
        return redirect("lenders:staff", branch_pk=branch.pk)
    return render(request, "lenders/staff_remove.html", {"branch": branch, "member": member})


@branch_permission_required(BranchCap.AREA_PROPOSE)
@require_http_methods(["GET", "POST"])
def area_propose(request: BranchRequest, branch_pk: int) -> HttpResponse:
    branch = request.branch
    form = forms.AreaProposalForm(request.POST or None)
    if form.is_valid():
        try:
            services.area_propose(branch=branch, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, _("Thank you. The station will add the area or tell you its name.")
            )
            return redirect("lenders:branch", branch_pk=branch.pk)
    return render(request, "lenders/area_propose.html", {"branch": branch, "form": form})


# --- The duty officer's side ---


# What the branch list is searched and filtered by, carried to a branch's page and back.
_LIST_KEYS = ("q", "status", "page")


def _list_query(raw: str) -> str:
    """The list's own query out of `raw`, rebuilt from its known keys only: what is appended
    to the list's address after a decision can name no other page or site."""
    given = QueryDict(raw)
    return urlencode([(key, given[key]) for key in _LIST_KEYS if given.get(key)])


def _list_url(list_query: str) -> str:
    url = reverse("lenders:branch_admin_list")
    return f"{url}?{list_query}" if list_query else url


@station_permission_required(Perm.OPERATE)
def branch_admin_list(request: StationRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in LenderBranch.Status.values:
        status = ""
    search = field_text(request.GET, "q")
    branches = selectors.branch_list_for_station(status=status or None, search=search)
    page = Paginator(branches, 25).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "status": status,
        "q": search,
        "statuses": LenderBranch.Status.choices,
        "list_query": _list_query(request.GET.urlencode()),
    }
    return render(request, "lenders/branch_admin_list.html", context)


_DECISIONS: dict[str, tuple[Callable[..., LenderBranch], bool]] = {
    "approve": (services.branch_approve, False),
    "reject": (services.branch_reject, True),
    "suspend": (services.branch_suspend, True),
    "reinstate": (services.branch_reinstate, False),
}


def _decided_text(action: str, branch: LenderBranch) -> str:
    texts = {
        "approve": _("%(branch)s is approved and can file rosters; its manager is told."),
        "reject": _("%(branch)s is rejected; its manager is told why."),
        "suspend": _("%(branch)s is suspended: it can read its own history and nothing else."),
        "reinstate": _("%(branch)s is reinstated and can file rosters again."),
    }
    return texts[action] % {"branch": branch}


@station_permission_required(Perm.OPERATE)
@require_http_methods(["GET", "POST"])
def branch_admin_detail(request: StationRequest, branch_pk: int) -> HttpResponse:
    branch = get_object_or_404(LenderBranch, pk=branch_pk)
    form = forms.DecisionForm(request.POST or None)
    # The officer came from a searched or filtered list and goes back to the same one.
    # The form posts to this address, so the list's query comes along in `?list=`.
    list_query = _list_query(request.GET.get("list", ""))
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in _DECISIONS:
            raise Http404
        decide, needs_reason = _DECISIONS[action]
        if form.is_valid():
            kwargs = {"reason": form.cleaned_data["reason"]} if needs_reason else {}
            try:
                decide(branch=branch, by=request.user, **kwargs)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _decided_text(action, branch))
                # A registration decided, the next one waiting is on the list (they come first);
                # a suspension or reinstatement is looked at on the branch's own page.
                if action in ("approve", "reject"):
                    return redirect(_list_url(list_query))
                detail = reverse("lenders:branch_admin_detail", kwargs={"branch_pk": branch.pk})
                return redirect(
                    f"{detail}?{urlencode({'list': list_query})}" if list_query else detail
                )
    context = {
        "branch": branch,
        "form": form,
        "list_url": _list_url(list_query),
        "agents": selectors.agent_list(branch=branch),
        "members": branch.members.select_related("user"),
    }
    return render(request, "lenders/branch_admin_detail.html", context)


@station_permission_required(Perm.OPERATE)
def area_list(request: StationRequest) -> HttpResponse:
    search = field_text(request.GET, "q")
    areas = CollectionArea.objects.exclude(status=CollectionArea.Status.MERGED)
    if search:
        areas = areas.filter(name__icontains=search) | areas.filter(name_bn__icontains=search)
    proposed = areas.filter(status=CollectionArea.Status.PROPOSED).select_related("proposed_by")
    page = Paginator(areas.filter(status=CollectionArea.Status.ACTIVE), 30).get_page(
        request.GET.get("page")
    )
    merge_form = forms.AreaMergeForm(areas=selectors.area_list_active())
    return render(
        request,
        "lenders/area_list.html",
        {"page": page, "proposed": proposed, "q": search, "merge_form": merge_form},
    )


@station_permission_required(Perm.OPERATE)
@require_http_methods(["GET", "POST"])
def area_edit(request: StationRequest, area_pk: int | None = None) -> HttpResponse:
    area = get_object_or_404(CollectionArea, pk=area_pk) if area_pk else None
    form = forms.CollectionAreaForm(request.POST or None, instance=area)
    if form.is_valid():
        try:
            services.area_save(area=form.instance)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Area saved."))
            return redirect("lenders:area_list")
    return render(request, "lenders/area_form.html", {"form": form, "area": area})


@station_permission_required(Perm.OPERATE)
@require_POST
def area_decide(request: StationRequest, area_pk: int) -> HttpResponse:
    area = get_object_or_404(CollectionArea, pk=area_pk)
    try:
        if request.POST.get("action") == "merge":
            form = forms.AreaMergeForm(request.POST, areas=selectors.area_list_active())
            if not form.is_valid():
                raise ValidationError(_("Choose an active area to merge into."))
            services.area_merge(area=area, into=form.cleaned_data["into"])
        else:
            services.area_accept(area=area)
    except ValidationError as exc:
        messages.error(request, service_error_text(exc))
    else:
        messages.success(request, _("Area updated."))
    return redirect("lenders:area_list")
