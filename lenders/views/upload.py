"""Uploading a roster from a spreadsheet, and the template to fill in."""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from escort_portal.formats import native_digits, page_date
from escort_portal.forms import add_service_errors, service_error_text
from escort_portal.ratelimits import rate_limit
from stations.permissions import BranchCap

from .. import selectors, services, upload
from ..access import BranchRequest, branch_permission_required
from ..roster_replace import roster_rows_replace


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Roster file (.xlsx or .csv)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )

    def clean_file(self) -> object:
        file = self.cleaned_data["file"]
        if upload.file_kind(file.name) is None:
            raise ValidationError(_("Upload an Excel .xlsx or a .csv file."))
        if file.size > upload.MAX_UPLOAD_BYTES:
            raise ValidationError(
                _("The file is larger than %(size)s. A roster fits in far less.")
                % {"size": native_digits(f"{upload.MAX_UPLOAD_BYTES // (1024 * 1024)} MB")}
            )
        return file


def _row_problems(exc: services.RosterRowsInvalid, lines: list[int]) -> list[dict]:
    """Each bad row as the page lists it: its line in the spreadsheet and what is wrong."""
    problems = []
    for index, error in sorted(exc.rows.items()):
        messages_ = [
            (upload.COLUMN_LABELS.get(name), service_error_text(field_error))
            for name, field_errors in error.update_error_dict({}).items()
            for field_error in field_errors
        ]
        problems.append({"line": lines[index], "messages": messages_})
    return problems


@branch_permission_required(BranchCap.ROSTER_WRITE)
@rate_limit("upload", key="user")
@require_http_methods(["GET", "POST"])
def roster_upload(request: BranchRequest, branch_pk: int, date: datetime.date) -> HttpResponse:
    branch = request.branch
    form = UploadForm(request.POST or None, request.FILES or None)
    problems: list[dict] = []
    file_name = ""
    if request.method == "POST" and form.is_valid():
        file = form.cleaned_data["file"]
        file_name = file.name
        try:
            parsed = upload.parse(file, name=file.name, branch=branch)
            entries = roster_rows_replace(
                branch=branch, date=date, rows=parsed.rows, by=request.user
            )
        except upload.UploadError as exc:
            form.add_error("file", str(exc))
        except services.RosterRowsInvalid as exc:
            problems = _row_problems(exc, parsed.lines)
            form.add_error(
                None,
                _(
                    "%(bad)s of %(total)s rows have problems, listed below with their line "
                    "numbers. Nothing was saved: correct the file and upload it again."
                )
                % {
                    "bad": native_digits(len(problems)),
                    "total": native_digits(len(parsed.rows)),
                },
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("Roster for %(date)s replaced with the %(count)s entries of %(file)s.")
                % {
                    "date": page_date(date),
                    "count": native_digits(len(entries)),
                    "file": file.name,
                },
            )
            return redirect("lenders:roster_upload", branch_pk=branch.pk, date=date)
    context = {
        "branch": branch,
        "date": date,
        "form": form,
        "problems": problems,
        "file_name": file_name,
        "entries": selectors.roster_entry_list(branch=branch, date=date),
        "is_open": branch.can_file and services.is_open_for_branches(date),
        "cutoff": services.cutoff_at(date),
        "max_rows": upload.MAX_ROWS,
    }
    return render(request, "lenders/upload.html", context)


@branch_permission_required(BranchCap.ROSTER_WRITE)
def roster_template(request: BranchRequest, branch_pk: int, fmt: str) -> HttpResponse:
    branch = request.branch  # looked up first: another branch's gets 404 whatever the method
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    if fmt == "xlsx":
        content = upload.template_xlsx(branch=branch)
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        content = upload.template_csv()
        content_type = "text/csv; charset=utf-8"
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="roster-template.{fmt}"'
    return response
