"""Escort pages: the duty officer's teams and sheet, the SDPO's read-only view of published
sheets, the escort's day and a branch's own escorts. Objects are always looked up within what
the user may see, so anything else answers 404."""

from __future__ import annotations

import csv
import datetime
from collections.abc import Callable
from functools import wraps
from typing import cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from escort_portal.exports import spreadsheet_row
from escort_portal.formats import native_digits
from escort_portal.forms import add_service_errors, date_from_query, service_error_text
from lenders import services as lender_services
from lenders.access import BranchRequest, branch_permission_required
from lenders.models import RosterEntry
from stations.access import Perm, StationRequest, current_station, station_permission_required
from stations.permissions import BranchCap

from . import board as board_text
from . import forms, maps, notify, selectors, services, watch
from .models import DutySheet, EscortRun, EscortTeam, Officer, RunEntry, UncoveredEntry

# --- Access ---


class SheetRequest(StationRequest):
    """A request past `_sheet_reader`: whether the reader operates the station (every version)
    or oversees it (published versions only)."""

    operates: bool


def _sheet_reader(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Duty officers see every version; the SDPO's office only versions that were published."""

    @station_permission_required(Perm.OPERATE, Perm.OVERSEE)
    @wraps(view)
    def wrapped(request: StationRequest, *args: object, **kwargs: object) -> HttpResponse:
        sheet_request = cast(SheetRequest, request)
        sheet_request.operates = Perm.OPERATE in request.station_perms
        return view(sheet_request, *args, **kwargs)

    return wrapped


def _readable_sheet(request: SheetRequest, date: datetime.date, version: int | None) -> DutySheet:
    sheets = selectors.sheet_list_for_date(date=date)
    if not request.operates:
        sheets = sheets.filter(published_at__isnull=False)
    sheet = (
        sheets.filter(version=version).first()
        if version is not None
        else sheets.order_by("-version").first()
    )
    if sheet is None:
        raise Http404
    return sheet


def _today() -> datetime.date:
    return timezone.localdate()


# --- Landing ---


@station_permission_required(Perm.ENTER)
@require_GET
def index(request: StationRequest) -> HttpResponse:
    perms = request.station_perms
    if Perm.OPERATE in perms or Perm.OVERSEE in perms:
        return redirect("escorts:sheet", date=date_from_query(request, _today()))
    if selectors.officer_for_user(user=request.user) is not None:
        return redirect("escorts:my_day")
    raise Http404


# --- Officers and teams ---


@station_permission_required(Perm.OPERATE)
@require_GET
def officer_list(request: StationRequest) -> HttpResponse:
    return render(request, "escorts/officer_list.html", {"officers": selectors.officer_list()})


@station_permission_required(Perm.OPERATE)
@require_http_methods(["GET", "POST"])
def officer_edit(request: StationRequest, officer_pk: int | None = None) -> HttpResponse:
    officer = get_object_or_404(Officer, pk=officer_pk) if officer_pk else Officer()
    form = forms.OfficerForm(
        request.POST or None, instance=officer, station=current_station(request)
    )
    if form.is_valid():
        try:
            services.officer_save(officer=form.save(), by=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Officer saved."))
            return redirect("escorts:officer_list")
    return render(request, "escorts/form.html", {"form": form, "title": _("Officer")})


@station_permission_required(Perm.OPERATE)
@require_http_methods(["GET", "POST"])
def officer_delete(request: StationRequest, officer_pk: int) -> HttpResponse:
    officer = get_object_or_404(Officer, pk=officer_pk)
    if request.method == "POST":
        try:
            services.officer_delete(officer=officer)
        except ValidationError as exc:
            messages.error(request, service_error_text(exc))
        else:
            messages.success(request, _("Officer deleted."))
        return redirect("escorts:officer_list")
    return render(
        request,
        "escorts/confirm.html",
        {
            "title": _("Delete officer %(name)s?") % {"name": officer},
            "button": _("Yes, delete"),
            "back_url": reverse("escorts:officer_list"),
        },
    )


@station_permission_required(Perm.OPERATE)
@require_GET
def team_list(request: StationRequest) -> HttpResponse:
    return render(request, "escorts/team_list.html", {"teams": selectors.team_list()})


@station_permission_required(Perm.OPERATE)
@require_http_methods(["GET", "POST"])
def team_edit(request: StationRequest, team_pk: int | None = None) -> HttpResponse:
    team = get_object_or_404(EscortTeam, pk=team_pk) if team_pk else EscortTeam()
    form = forms.TeamForm(request.POST or None, instance=team)
    if form.is_valid():
        try:
            services.team_save(
                team=form.save(commit=False),
                members=form.cleaned_data["members"],
                by=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Team saved."))
            return redirect("escorts:team_list")
    return render(request, "escorts/form.html", {"form": form, "title": _("Escort team")})


@station_permission_required(Perm.OPERATE)
@require_http_methods(["GET", "POST"])
def team_delete(request: StationRequest, team_pk: int) -> HttpResponse:
    team = get_object_or_404(EscortTeam, pk=team_pk)
    if request.method == "POST":
        try:
            services.team_delete(team=team)
        except ValidationError as exc:
            messages.error(request, service_error_text(exc))
        else:
            messages.success(request, _("Team deleted."))
        return redirect("escorts:team_list")
    return render(
        request,
        "escorts/confirm.html",
        {
            "title": _("Delete team %(name)s?") % {"name": team},
            "button": _("Yes, delete"),
            "back_url": reverse("escorts:team_list"),
        },
    )


@station_permission_required(Perm.OPERATE)
@require_http_methods(["GET", "POST"])
def availability(request: StationRequest, date: datetime.date) -> HttpResponse:
    if request.method == "POST":
        form = forms.OffDutyForm(request.POST)
        if form.is_valid():
            services.team_set_off_duty(
                team=form.cleaned_data["team"],
                date=date,
                off=form.cleaned_data["off"],
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
            messages.success(request, _("Availability saved. It applies to the next build."))
        else:
            messages.error(request, service_error_text(ValidationError(form.errors.as_data())))
        return redirect("escorts:availability", date=date)
    off = {item.team_id: item for item in selectors.team_list_off_duty(date=date)}
    teams = [(team, off.get(team.pk)) for team in selectors.team_list().filter(active=True)]
    return render(request, "escorts/availability.html", {"date": date, "teams": teams})


@station_permission_required(Perm.OPERATE)
@require_http_methods(["GET", "POST"])
def station_settings(request: StationRequest) -> HttpResponse:
    """The OC changes the station's settings; a duty officer reads them."""
    station = current_station(request)
    may_change = Perm.ADMINISTER in request.station_perms
    if request.method == "POST" and not may_change:
        raise Http404
    form = forms.StationSettingsForm(
        request.POST or None,
        read_only=not may_change,
        initial={name: getattr(station, name) for name in forms.StationSettingsForm.base_fields},
    )
    if form.is_valid():
        try:
            services.station_escort_settings_update(
                station=station, by=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("escorts:settings")
    context = {"form": form, "title": _("Station settings"), "read_only": not may_change}
    return render(request, "escorts/station_settings.html", context)


# --- The sheet ---


def _sheet_context(request: SheetRequest, sheet: DutySheet) -> dict:
    groups = selectors.sheet_grouped(sheet=sheet)
    uncovered = list(selectors.uncovered_list(sheet=sheet))
    runs = sum(len(g.runs) for g in groups)
    covered = sum(g.agents for g in groups)
    latest = selectors.sheet_latest(date=sheet.date)
    return {
        "sheet": sheet,
        "date": sheet.date,
        "groups": groups,
        "uncovered": uncovered,
        "totals": {
            "runs": runs,
            "covered": covered,
            "uncovered": len(uncovered),
            "entries": covered + len(uncovered),
            "teams": len(groups),
            "overdue": sum(1 for g in groups for r in g.runs if r.overdue),
        },
        "is_latest": latest is not None and latest.pk == sheet.pk,
        "operates": request.operates,
        "can_edit": request.operates
        and latest is not None
        and latest.pk == sheet.pk
        and not sheet.is_building,
        "live": sheet.status == DutySheet.Status.PUBLISHED and sheet.date == _today(),
    }


@_sheet_reader
@require_GET
def sheet(request: SheetRequest, date: datetime.date, version: int | None = None) -> HttpResponse:
    try:
        found = _readable_sheet(request, date, version)
    except Http404:
        if version is not None:
            raise
        # The SDPO's office reaches a date with nothing published from the station's menu and
        # the date box: it is told so (a draft is not mentioned), rather than "page not found".
        context: dict[str, object] = {"sheet": None, "date": date, "operates": request.operates}
        if request.operates:
            context["cutoff"] = lender_services.cutoff_at(date)
            context["late"] = selectors.sheet_build_late(date=date)
            context["past"] = date < _today()
        return render(request, "escorts/sheet.html", context)
    page = _sheet_context(request, found)
    uncovered: list[UncoveredEntry] = page["uncovered"]
    # What would cover each uncovered entry, for the officer who can act on it.
    advice: dict[int, str] = {}
    if page["can_edit"]:
        advice = services.entries_cover_advice(date=date, entries=[u.entry for u in uncovered])
    page["uncovered_rows"] = [(item, advice.get(item.entry_id, "")) for item in uncovered]
    return render(request, "escorts/sheet.html", page)


@never_cache
@_sheet_reader
@require_GET
def sheet_progress(request: SheetRequest, date: datetime.date, version: int) -> JsonResponse:
    found = _readable_sheet(request, date, version)
    stage_share = {"queued": 2, "reading": 5, "planning": 10, "saving": 95, "done": 100}
    percent = stage_share.get(found.build_stage, 0)
    if found.is_building and found.build_stage == "planning" and found.build_started_at:
        elapsed = (timezone.now() - found.build_started_at).total_seconds()
        percent = min(94, 10 + int(84 * elapsed / max(1, found.build_seconds)))
    if found.build_status != DutySheet.Build.RUNNING:
        percent = 100
    return JsonResponse(
        {"status": found.build_status, "stage": found.build_stage, "percent": percent}
    )


@_sheet_reader
@require_GET
def sheet_versions(request: SheetRequest, date: datetime.date) -> HttpResponse:
    sheets = selectors.sheet_list_for_date(date=date).order_by("-version")
    if not request.operates:
        sheets = sheets.filter(published_at__isnull=False)
    return render(request, "escorts/versions.html", {"date": date, "sheets": sheets})


@station_permission_required(Perm.OPERATE)
@require_http_methods(["GET", "POST"])
def sheet_rebuild(request: StationRequest, date: datetime.date) -> HttpResponse:
    if request.method == "POST":
        try:
            built = services.duty_sheet_rebuild(date=date, by=request.user)
        except ValidationError as exc:
            messages.error(request, service_error_text(exc))
            return redirect("escorts:sheet", date=date)
        messages.info(request, _("Building version %(v)s.") % {"v": native_digits(built.version)})
        return redirect("escorts:sheet", date=date)
    preview = selectors.rebuild_preview(date=date)
    return render(
        request,
        "escorts/rebuild_confirm.html",
        {
            "date": date,
            "preview": preview,
            "kept": [(notify.run_reference(run), run) for run in preview.kept],
            "back_url": reverse("escorts:sheet", args=[date]),
        },
    )


@station_permission_required(Perm.OPERATE)
@require_http_methods(["GET", "POST"])
def sheet_publish(request: StationRequest, date: datetime.date) -> HttpResponse:
    draft = selectors.sheet_list_for_date(date=date).filter(status=DutySheet.Status.DRAFT).first()
    if draft is None:
        # Back to this page after publishing, or a second tab's confirm: nothing is sent twice,
        # and the officer lands on the sheet rather than on "page not found".
        messages.info(request, _("There is no draft to publish: the latest version is in force."))
        return redirect("escorts:sheet", date=date)
    changed_since = None
    if request.method == "POST":
        try:
            published = services.duty_sheet_publish(
                date=date, by=request.user, revision=request.POST.get("revision", "")
            )
        except services.DraftChanged as exc:
            # Show the draft as it is now, with its own diff and token, to be confirmed again.
            changed_since = service_error_text(exc)
            draft = selectors.sheet_list_for_date(date=date).get(status=DutySheet.Status.DRAFT)
        except ValidationError as exc:
            messages.error(request, service_error_text(exc))
            return redirect("escorts:sheet", date=date)
        else:
            # The plural is chosen by the number, which the reader reads in the page's numerals.
            version = native_digits(published.version)
            if changed := len(published.changes):
                messages.success(
                    request,
                    ngettext(
                        "Version %(v)s published; %(shown)s entry changed.",
                        "Version %(v)s published; %(shown)s entries changed.",
                        changed,
                    )
                    % {"v": version, "shown": native_digits(changed)},
                )
            else:
                messages.success(request, _("Version %(v)s published.") % {"v": version})
            return redirect("escorts:sheet_version", date=date, version=published.version)
    old = selectors.sheet_published(date=date)
    changes = services.sheet_diff(old=old, new=draft) if old else None
    context = {"sheet": draft, "date": date, "old": old, "changes": changes}
    context.update(revision=services.sheet_revision(draft), changed_since=changed_since)
    return render(request, "escorts/publish.html", context)


def _entry_for(date: datetime.date, entry_pk: int) -> RosterEntry | None:
    entries = RosterEntry.objects.select_related("agent", "area", "roster__branch")
    return entries.filter(pk=entry_pk, roster__date=date).first()


def _run_for(date: datetime.date, run_pk: int) -> EscortRun | None:
    return (
        EscortRun.objects.select_related("team", "area").filter(pk=run_pk, sheet__date=date).first()
    )


def _after_edit(request: HttpRequest, date: datetime.date, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect("escorts:sheet", date=date)


def _gone(request: HttpRequest, date: datetime.date, message: str) -> HttpResponse:
    # The officer came back (the browser's back button, a second tab) to a run emptied away or
    # an entry taken off the rosters: the sheet as it is now, told why, not "page not found".
    messages.warning(request, message)
    return redirect("escorts:sheet", date=date)


@station_permission_required(Perm.OPERATE)
@require_http_methods(["GET", "POST"])
def entry_move(request: StationRequest, date: datetime.date, entry_pk: int) -> HttpResponse:
    entry = _entry_for(date, entry_pk)
    if entry is None:
        return _gone(request, date, _("That entry is no longer on the sheet."))
    latest = selectors.sheet_latest(date=date)
    if latest is None:
        raise Http404
    form = forms.MoveEntryForm(request.POST or None, sheet=latest, entry=entry)
    on_run = (
        RunEntry.objects.filter(sheet=latest, entry=entry).values_list("run", flat=True).first()
    )
    # The run the entry is on is no option: "cannot take it" would read as if it had no escort.
    options = [
        option
        for option in services.entry_cover_options(date=date, entries=[entry])[entry.pk]
        if option.run is None or option.run.pk != on_run
    ]
    if form.is_valid():
        try:
            services.run_move_entry(
                date=date,
                entry=entry,
                to_run=form.cleaned_data["run"],
                to_team=form.cleaned_data["team"],
                by=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _after_edit(request, date, _("Entry moved."))
    return render(
        request,
        "escorts/entry_move.html",
        {
            "form": form,
            "title": _("Move %(entry)s") % {"entry": entry.label},
            "date": date,
            "on_run": on_run is not None,
            "refusing_runs": [o for o in options if o.run is not None and o.problem],
            "no_run_fits": not any(o.run is not None and o.problem is None for o in options),
            "free_teams": [o.team for o in options if o.run is None and o.problem is None],
        },
    )


@station_permission_required(Perm.OPERATE)
@require_http_methods(["GET", "POST"])
def entry_remove(request: StationRequest, date: datetime.date, entry_pk: int) -> HttpResponse:
    entry = _entry_for(date, entry_pk)
    if entry is None:
        return _gone(request, date, _("That entry is no longer on the sheet."))
    if request.method == "POST":
        try:
            services.run_remove_entry(date=date, entry=entry, by=request.user)
        except ValidationError as exc:
            messages.error(request, service_error_text(exc))
            return redirect("escorts:sheet", date=date)
        return _after_edit(request, date, _("Entry taken off its run."))
    return render(
        request,
        "escorts/confirm.html",
        {
            "title": _("Take %(entry)s off its run?") % {"entry": entry.label},
            "text": _("The entry will be listed as uncovered, for route surveillance."),
            "button": _("Yes, take it off"),
            "back_url": reverse("escorts:sheet", kwargs={"date": date}),
        },
    )


@station_permission_required(Perm.OPERATE)
@require_http_methods(["GET", "POST"])
def run_new(request: StationRequest, date: datetime.date) -> HttpResponse:
    latest = selectors.sheet_latest(date=date)
    if latest is None:
        raise Http404
    on_sheet = (
        UncoveredEntry.objects.filter(sheet=latest)
        .values("entry_id")
        .union(RunEntry.objects.filter(sheet=latest).values("entry_id"))
    )
    entries = RosterEntry.objects.filter(pk__in=on_sheet).select_related(
        "agent", "area", "roster__branch"
    )
    form = forms.RunCreateForm(request.POST or None, entries=entries)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.run_create(
                date=date,
                team=data["team"],
                entries=list(data["entries"]),
                start=data["start"],
                end=data["end"],
                meeting_point=data["meeting_point"],
                by=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _after_edit(request, date, _("Run created."))
    return render(request, "escorts/form.html", {"form": form, "title": _("New run"), "date": date})


@station_permission_required(Perm.OPERATE)
@require_http_methods(["GET", "POST"])
def run_edit(request: StationRequest, date: datetime.date, run_pk: int) -> HttpResponse:
    run = _run_for(date, run_pk)
    if run is None:
        return _gone(request, date, _("That run is no longer on the sheet."))
    form = forms.RunEditForm(
        request.POST or None, initial={"meeting_point": run.meeting_point, "team": run.team}
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.run_edit(
                date=date,
                run=run,
                team=data["team"],
                meeting_point=data["meeting_point"],
                by=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _after_edit(request, date, _("Run saved."))
    return render(
        request,
        "escorts/form.html",
        {"form": form, "title": _("Run %(run)s") % {"run": run.label}, "date": date},
    )


@station_permission_required(Perm.OPERATE)
@require_POST
def run_pin(request: StationRequest, date: datetime.date, run_pk: int) -> HttpResponse:
    run = _run_for(date, run_pk)
    if run is None:
        return _gone(request, date, _("That run is no longer on the sheet."))
    pinned = request.POST.get("pinned") == "1"
    try:
        services.run_set_pinned(date=date, run=run, pinned=pinned, by=request.user)
    except ValidationError as exc:
        messages.error(request, service_error_text(exc))
        return redirect("escorts:sheet", date=date)
    if pinned:
        return _after_edit(request, date, _("Run pinned: a rebuild keeps it as it is."))
    return _after_edit(request, date, _("Run unpinned: a rebuild may re-plan it."))


@station_permission_required(Perm.OPERATE)
@require_http_methods(["GET", "POST"])
def late_entry(request: StationRequest, date: datetime.date) -> HttpResponse:
    choice = forms.LateEntryBranchForm(request.GET or None)
    if not choice.is_valid():
        return render(
            request, "escorts/form.html", {"form": choice, "title": _("Late entry"), "date": date}
        )
    branch = choice.cleaned_data["branch"]
    form = forms.LateEntryForm(request.POST or None, branch=branch)
    if form.is_valid():
        data = form.cleaned_data
        entry_input = lender_services.EntryInput(
            agent=data["agent"],
            area=data["area"],
            depart_at=data["depart_at"],
            return_at=data["return_at"],
            cash_band=data["cash_band"],
            centres=data["centres"],
        )
        try:
            services.late_entry_add(date=date, branch=branch, data=entry_input, by=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _after_edit(request, date, _("Late entry added to the uncovered list."))
    title = _("Late entry for %(branch)s") % {"branch": branch}
    return render(request, "escorts/form.html", {"form": form, "title": title, "date": date})


# --- Print and export ---


@_sheet_reader
@require_GET
def sheet_pdf(request: SheetRequest, date: datetime.date, version: int) -> HttpResponse:
    from weasyprint import HTML

    found = _readable_sheet(request, date, version)
    if not found.was_published:
        raise Http404
    context = _sheet_context(request, found)
    context["station"] = current_station(request)
    html = render_to_string("escorts/sheet_print.html", context, request=request)
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="duty-sheet-{date}-v{version}.pdf"'
    return response


@_sheet_reader
@require_GET
def sheet_csv(request: SheetRequest, date: datetime.date, version: int) -> HttpResponse:
    found = _readable_sheet(request, date, version)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="duty-sheet-{date}-v{version}.csv"'
    # With the byte-order mark Excel on Windows reads the file as UTF-8 and shows Bengali.
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(
        [
            _("Date"), _("Version"), _("Team"), _("Leader"), _("Leader's phone"), _("Start"),
            _("End"), _("Area"), _("Meeting point"), _("Run status"), _("Agent"),
            _("Agent's phone"), _("Branch"), _("Cash band"), _("Uncovered reason"),
        ]
    )  # fmt: skip
    for run in selectors.run_list(sheet=found):
        for link in run.run_entries.all():
            entry = link.entry
            writer.writerow(
                spreadsheet_row([
                    date, found.version, run.team.name, run.team.leader.name,
                    run.team.leader.phone, f"{run.start:%H:%M}", f"{run.end:%H:%M}",
                    run.area.display_name, run.meeting_point, run.get_status_display(),
                    entry.agent.name, entry.agent.phone, entry.roster.branch,
                    entry.get_cash_band_display(), "",
                ])
            )  # fmt: skip
    for item in selectors.uncovered_list(sheet=found):
        entry = item.entry
        writer.writerow(
            spreadsheet_row([
                date, found.version, "", "", "", f"{entry.depart_at:%H:%M}",
                f"{entry.return_at:%H:%M}", entry.area.display_name, "", "", entry.agent.name,
                entry.agent.phone, entry.roster.branch, entry.get_cash_band_display(),
                item.get_reason_display(),
            ])
        )  # fmt: skip
    return response


# --- The escort's day ---


def _wants_json(request: HttpRequest) -> bool:
    """An action sent by the page's own script (its offline queue): answered in JSON, so the
    answer kept for its Idempotency-Key is the same however often it is sent."""
    return "application/json" in request.headers.get("Accept", "")


def _answer(
    request: HttpRequest, *, ok: bool, message: str, status: int = 200, **extra: object
) -> HttpResponse:
    """The one answer of an escort's action: JSON for the page's script, else a message and
    the way back to the day's page."""
    if _wants_json(request):
        return JsonResponse({"ok": ok, "message": message, **extra}, status=status)
    if ok:
        messages.success(request, message)
    else:
        messages.error(request, message)
    return redirect("escorts:my_day")


def _made_at(request: HttpRequest) -> datetime.datetime | None:
    """When the phone made the action (milliseconds since the epoch), for one queued offline."""
    try:
        made_ms = int(request.POST.get("made_ms", ""))
    except ValueError:
        return None
    try:
        return datetime.datetime.fromtimestamp(made_ms / 1000, tz=datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _action_key(request: HttpRequest) -> str:
    """The action's idempotency key: the script's header, else the form's one-time token."""
    return request.headers.get("Idempotency-Key") or request.POST.get("submission_token", "")


@station_permission_required(Perm.OWN_RUNS)
@require_GET
def my_day(request: StationRequest) -> HttpResponse:
    officer = selectors.officer_for_user(user=request.user)
    if officer is None:
        raise Http404
    today = _today()
    station = current_station(request)
    runs = selectors.runs_watched_for_officer(officer=officer, date=today)
    grace = watch.settings_of(station).start_grace
    for row in runs:
        row.run.overdue = row.run.is_overdue(timezone.now(), date=today, grace=grace)
    context = {
        "officer": officer,
        "runs": runs,
        "date": today,
        "station": station,
        "check_in_minutes": station.check_in_minutes,
    }
    return render(request, "escorts/my_day.html", context)


_ACTIONS = {
    "acknowledge": (EscortRun.Status.ACKNOWLEDGED, gettext_lazy("Run acknowledged.")),
    "start": (EscortRun.Status.STARTED, gettext_lazy("Run started.")),
    "complete": (EscortRun.Status.COMPLETED, gettext_lazy("Run completed.")),
}


def _own_run(request: StationRequest, run_pk: int) -> EscortRun:
    officer = selectors.officer_for_user(user=request.user)
    if officer is None:
        raise Http404
    run = selectors.run_for_officer(officer=officer, run_pk=run_pk, date=_today())
    if run is None:
        raise Http404
    return run


@station_permission_required(Perm.OWN_RUNS)
@require_POST
def my_run_action(request: StationRequest, run_pk: int, action: str) -> HttpResponse:
    if action not in _ACTIONS:
        raise Http404
    run = _own_run(request, run_pk)
    status, done = _ACTIONS[action]
    reached = [int(pk) for pk in request.POST.getlist("reached") if pk.isdecimal()]
    if action == "complete" and request.POST.get("confirmed") != "yes":
        # Completing ends the escort for every agent on the run: ask first, agent by agent.
        links = selectors.run_list(sheet=run.sheet).get(pk=run.pk).run_entries.all()
        return render(request, "escorts/run_complete_confirm.html", {"run": run, "links": links})
    try:
        services.run_set_status(run=run, status=status, by=request.user, reached=reached)
    except ValidationError as exc:
        return _answer(request, ok=False, message=service_error_text(exc), status=422)
    return _answer(request, ok=True, message=str(done), status_now=status)


@station_permission_required(Perm.OWN_RUNS)
@require_POST
def my_run_check_in(request: StationRequest, run_pk: int) -> HttpResponse:
    run = _own_run(request, run_pk)
    try:
        result = services.run_check_in(
            run=run,
            by=request.user,
            key=_action_key(request),
            at=_made_at(request),
            latitude=request.POST.get("latitude"),
            longitude=request.POST.get("longitude"),
            accuracy_m=request.POST.get("accuracy_m"),
        )
    except ValidationError as exc:
        return _answer(request, ok=False, message=service_error_text(exc), status=422)
    made = f"{timezone.localtime(result.sign.at):%H:%M}"
    return _answer(
        request,
        ok=True,
        message=_("Checked in at %(time)s. The next check-in is due in %(minutes)s min.")
        % {
            "time": native_digits(made),
            "minutes": native_digits(current_station(request).check_in_minutes),
        },
    )


@never_cache
@station_permission_required(Perm.OWN_RUNS)
@require_POST
def my_run_position(request: StationRequest, run_pk: int) -> JsonResponse:
    """The leader's page sends the phone's position here once a minute."""
    run = selectors.run_led_by(user=request.user, run_pk=run_pk, date=_today())
    if run is None:
        raise Http404
    try:
        result = services.run_position_record(
            run=run,
            by=request.user,
            key=request.POST.get("key", ""),
            latitude=request.POST.get("latitude"),
            longitude=request.POST.get("longitude"),
            accuracy_m=request.POST.get("accuracy_m"),
            at=_made_at(request),
        )
    except ValidationError as exc:
        return JsonResponse({"ok": False, "message": service_error_text(exc)}, status=422)
    answer: dict[str, object] = {"ok": True, "created": result.created}
    sign = result.sign
    if sign.accuracy_m is not None:
        # Written here, not by the phone: the station's time and the page's numerals.
        answer["message"] = _("Position sent at %(time)s, within %(metres)s m.") % {
            "time": native_digits(f"{timezone.localtime(sign.at):%H:%M}"),
            "metres": native_digits(sign.accuracy_m),
        }
    return JsonResponse(answer)


# --- The duty officer's live board ---

# The board's page asks for a fresh copy of itself this often.
LIVE_REFRESH_SECONDS = 30


@never_cache
@station_permission_required(Perm.OPERATE, Perm.OVERSEE)
@require_GET
def live_board(request: StationRequest) -> HttpResponse:
    """Every active run of today, red first, with its timer and last position, and the map;
    `?fragment=1` is the board alone, which the page's script swaps in every half minute."""
    station = current_station(request)
    board = selectors.live_board()
    places = [
        maps.Place(area.latitude, area.longitude, area.display_name, "area")
        for area in selectors.area_list_located()
        if area.latitude is not None and area.longitude is not None
    ]
    for row in board.runs:
        if (
            row.watch is not None
            and row.watch.latitude is not None
            and row.watch.longitude is not None
        ):
            places.append(
                maps.Place(
                    row.watch.latitude,
                    row.watch.longitude,
                    notify.run_reference(row.run),
                    f"run-{row.state.stage}",
                    str(row.run.team),
                    row.watch.accuracy_m,
                )
            )
    try:
        # A wall screen may ask for a quicker refresh (?refresh=10), within reason.
        every = min(300, max(5, int(request.GET.get("refresh", LIVE_REFRESH_SECONDS))))
    except ValueError:
        every = LIVE_REFRESH_SECONDS
    context = {
        "board": board,
        "rows": board_text.rows(board.runs),
        "map": maps.draw(places, tile_url=station.map_tile_url),
        "refresh_seconds": every,
        "now": timezone.now(),
        "operates": Perm.OPERATE in request.station_perms,
    }
    template = "escorts/_live_board.html" if request.GET.get("fragment") else "escorts/live.html"
    response = render(request, template, context)
    if station.map_tile_url:
        # The tiles come from the deployment's own tile server, named in the station's settings.
        response._csp_update = {"img-src": [maps.tile_origin(station.map_tile_url)]}  # type: ignore[attr-defined]
    return response


# --- A branch's own escorts ---


@branch_permission_required(BranchCap.ESCORTS_READ)
@require_GET
def branch_escorts(request: BranchRequest, branch_pk: int, date: datetime.date) -> HttpResponse:
    branch = request.branch
    published, rows = selectors.branch_escorts(branch=branch, date=date)
    return render(
        request,
        "escorts/branch_escorts.html",
        {"branch": branch, "date": date, "sheet": published, "rows": rows},
    )
