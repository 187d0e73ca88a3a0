"""Uploading a roster as .xlsx or .csv: the same rules as the form, every bad line at once."""

from __future__ import annotations

import datetime
import io
import re
import zipfile

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import translation
from django.utils.html import escape
from openpyxl import Workbook, load_workbook

from lenders import services, upload
from lenders.models import CashBand, CollectionArea, LenderBranch, RosterEntry
from lenders.tests.factories import (
    AgentFactory,
    AreaFactory,
    BranchFactory,
    EntryFactory,
    MemberFactory,
)
from stations.routing import station_reverse

pytestmark = pytest.mark.django_db

IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
MORNING = datetime.datetime(2026, 12, 1, 7, 0, tzinfo=IST)
TODAY = MORNING.date()
HEADERS = [column.header for column in upload.COLUMNS]


@pytest.fixture
def clock():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def branch(in_debra):
    return BranchFactory()


@pytest.fixture
def member(branch):
    return MemberFactory(branch=branch).user


@pytest.fixture
def agent(branch):
    return AgentFactory(branch=branch, name="Rahul Das", employee_id="E-17")


@pytest.fixture
def area(in_debra):
    return AreaFactory(name="Radhamohanpur", name_bn="রাধামোহনপুর")


def xlsx(rows: list[list[object]], headers: list[str] = HEADERS) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list[object]], headers: list[str] = HEADERS, sep: str = ",") -> bytes:
    lines = [sep.join(headers)] + [sep.join(str(cell) for cell in row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


def upload_url(debra, branch, date=TODAY) -> str:
    return station_reverse(debra, "lenders:roster_upload", branch_pk=branch.pk, date=date)


def post_file(client, url: str, content: bytes, name: str = "roster.xlsx"):
    return client.post(url, {"file": SimpleUploadedFile(name, content)})


def row(agent="Rahul Das", area="Radhamohanpur", start="10:00", end="12:00", band="lt50k"):
    return [agent, area, "Centre 1", start, end, band, "", "", ""]


def service_message(branch, member, data: services.EntryInput, date=TODAY) -> tuple[str, str]:
    """What the service itself says about `data`: (field, message); nothing is kept."""
    try:
        with transaction.atomic():
            services.roster_entry_add(branch=branch, date=date, data=data, by=member)
            raise AssertionError("the service accepted it")
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        return field, messages[0]


def entry_input(agent, area, start="10:00", end="12:00", band="lt50k") -> services.EntryInput:
    return services.EntryInput(
        agent=agent,
        area=area,
        depart_at=datetime.time.fromisoformat(start) if start else None,
        return_at=datetime.time.fromisoformat(end) if end else None,
        cash_band=band,
    )


def test_a_good_xlsx_replaces_the_days_roster(
    debra, branch, member, agent, area, clock, client_for
):
    old = EntryFactory(roster__branch=branch, roster__date=TODAY, agent=agent)
    content = xlsx(
        [
            [
                "Rahul Das",
                "Radhamohanpur",
                "Centre 1, Centre 2",
                datetime.time(9, 30),
                datetime.time(11, 0),
                "Under Rs 50,000",
                "wb 33 a 1234",
                "Debra branch",
                "",
            ],
            row(start="11:00", end="13:00", band="Rs 1 to 2 lakh"),
        ]
    )
    client = client_for(member)
    response = post_file(client, upload_url(debra, branch), content)
    assert response.status_code == 302
    entries = list(RosterEntry.objects.filter(roster__branch=branch).order_by("depart_at"))
    assert old not in entries
    assert [(e.depart_at, e.return_at, e.cash_band) for e in entries] == [
        (datetime.time(9, 30), datetime.time(11, 0), CashBand.UNDER_50K),
        (datetime.time(11, 0), datetime.time(13, 0), CashBand.FROM_1L_TO_2L),
    ]
    assert entries[0].vehicle_registration == "WB 33 A 1234"
    assert entries[0].roster.status == "filed"
    assert entries[0].roster.filed_by == member
    page = client.get(response["Location"])
    assert "replaced with the 2 entries" in page.content.decode()


def test_a_good_csv_saves(debra, branch, member, agent, area, clock, client_for):
    content = csv_bytes([row(), row(start="12:30", end="14:00", band="gt2l")], sep=";")
    response = post_file(client_for(member), upload_url(debra, branch), content, "roster.csv")
    assert response.status_code == 302
    assert RosterEntry.objects.filter(roster__branch=branch).count() == 2


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_saved(
    debra, branch, member, agent, area, clock, client_for
):
    old = EntryFactory(roster__branch=branch, roster__date=TODAY, agent=agent)
    content = xlsx(
        [
            row(start="09:00", end="10:00"),  # line 2: good
            row(start="12:00", end="11:00"),  # line 3: returns before leaving
            row(agent="Nobody Here"),  # line 4: no such agent
            [None] * 9,  # line 5: blank, skipped
            row(start="half past ten"),  # line 6: not a time
            row(start="09:30", end="10:30"),  # line 7: clashes with line 2
            row(band="a lot"),  # line 8: no such band
        ]
    )
    response = post_file(client_for(member), upload_url(debra, branch), content)
    page = response.content.decode()
    assert response.status_code == 200
    assert "5 of 6 rows have problems" in page
    for line in (3, 4, 6, 7, 8):
        assert f"Line {line}<" in page
    assert "Line 2<" not in page
    assert "Line 5<" not in page
    assert "Return must be after departure, on the same day." in page
    assert escape("No field agent of this branch has the name or employee id “Nobody Here”.") in (
        page
    )
    assert escape("“half past ten” is not a time.") in page
    assert "Rahul Das is already out 09:00-10:00 in another entry." in page
    assert (
        "Choose the cash band, one of: lt50k (Under Rs 50,000), 50k-1l (Rs 50,000 to 1 lakh), "
        "1l-2l (Rs 1 to 2 lakh), gt2l (Over Rs 2 lakh)."
    ) in page
    assert list(RosterEntry.objects.filter(roster__branch=branch)) == [old]
    # A Bengali reader counts the rows in Bengali digits.
    member.language = "bn"
    member.save()
    page = post_file(client_for(member), upload_url(debra, branch), content).content.decode()
    assert "৬ সারির মধ্যে ৫ সারিতে সমস্যা আছে" in page
    assert "lt50k (৫০,০০০ টাকার কম)" in page  # noqa: RUF001 - as a Bengali reader writes it
    # ...and finds each problem by its line, in Bengali digits too, as the form's limits.
    lines = re.findall(r'<div class="fw-bold">লাইন ([^<]*)</div>', page)
    assert lines == ["৩", "৪", "৬", "৭", "৮"]  # noqa: RUF001
    assert "সর্বোচ্চ ১ MB এবং ৫০০টি এন্ট্রি।" in page
    assert "এখন জমা: ১টি এন্ট্রি" in page
    # ...and the times of a clash in Bengali digits as well.
    assert "Rahul Das অন্য একটি এন্ট্রিতে ০৯:০০-১০:০০ বাইরে আছেন।" in page  # noqa: RUF001


def test_another_branchs_proposed_area_reads_as_unknown_in_a_file(
    debra, branch, member, agent, area, clock, client_for
):
    AreaFactory(name="Golgram", status=CollectionArea.Status.PROPOSED, proposed_by=BranchFactory())
    content = csv_bytes([row(area="Golgram"), row(area="Nowhere", start="13:00", end="14:00")])
    page = post_file(client_for(member), upload_url(debra, branch), content, "roster.csv")
    text = page.content.decode()
    assert escape("The station has no area called “Golgram”. Check the list of areas.") in text
    assert escape("The station has no area called “Nowhere”. Check the list of areas.") in text


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Rahul Das is already out 09:00-10:00 in another entry."),
        ("bn", "Rahul Das অন্য একটি এন্ট্রিতে ০৯:০০-১০:০০ বাইরে আছেন।"),  # noqa: RUF001
    ],
)
def test_a_clash_in_a_file_is_shown_in_the_readers_digits(
    debra, branch, member, agent, area, clock, client_for, language, message
):
    # Every row readable: the clash comes straight from the rules, not after a reading error.
    member.language = language
    member.save()
    content = xlsx([row(start="09:00", end="10:00"), row(start="09:30", end="10:30")])
    page = post_file(client_for(member), upload_url(debra, branch), content).content.decode()
    assert message in page


def test_a_bengali_reader_is_shown_the_example_time_in_bengali_digits(
    debra, branch, member, agent, area, clock, client_for
):
    member.language = "bn"
    member.save()
    content = xlsx([row(start="half past ten")])
    page = post_file(client_for(member), upload_url(debra, branch), content).content.decode()
    assert "যেমন ০৯:৩০" in page


@pytest.mark.parametrize(
    "rule",
    ["return_before_departure", "overlap", "inactive_agent", "proposed_area", "no_band"],
)
def test_each_rule_gives_the_services_message(
    debra, branch, member, agent, area, clock, client_for, rule
):
    rows = [row()]
    data = entry_input(agent, area)
    if rule == "return_before_departure":
        rows, data = [row(start="12:00", end="11:00")], entry_input(agent, area, "12:00", "11:00")
    elif rule == "overlap":
        EntryFactory(roster__branch=branch, roster__date=TODAY - datetime.timedelta(days=3))
        other = BranchFactory()
        EntryFactory(roster__branch=other, roster__date=TODAY)
        # An overlap inside the file itself: the service sees the first row, then the second.
        rows = [row(), row(start="11:00", end="13:00")]
        services.roster_entry_add(
            branch=branch, date=TODAY, data=entry_input(agent, area), by=member
        )
        data = entry_input(agent, area, "11:00", "13:00")
    elif rule == "inactive_agent":
        agent.active = False
        agent.save()
    elif rule == "proposed_area":
        # The branch's own proposal, not yet accepted by the station.
        area.status, area.proposed_by = CollectionArea.Status.PROPOSED, branch
        area.save()
    elif rule == "no_band":
        rows, data = [row(band="")], entry_input(agent, area, band="")
    _field, expected = service_message(branch, member, data)
    response = post_file(client_for(member), upload_url(debra, branch), xlsx(rows))
    assert escape(expected) in response.content.decode()


@pytest.mark.parametrize("status", [LenderBranch.Status.SUSPENDED, LenderBranch.Status.PENDING])
def test_a_branch_that_may_not_file_cannot_upload(
    debra, member, agent, area, branch, clock, client_for, status
):
    branch.status = status
    branch.save()
    response = post_file(client_for(member), upload_url(debra, branch), xlsx([row()]))
    assert response.status_code == 403
    assert "state, does not allow this" in response.content.decode()
    assert not RosterEntry.objects.filter(roster__branch=branch).exists()


def test_after_cut_off_the_upload_gets_the_lock_message(
    debra, branch, member, agent, area, clock, client_for
):
    clock.move_to(MORNING.replace(hour=8, minute=45))
    client = client_for(member)
    page = client.get(upload_url(debra, branch)).content.decode()
    assert "can no longer be changed here" in page
    response = post_file(client, upload_url(debra, branch), xlsx([row()]))
    assert "locked at the 08:30 cut-off" in response.content.decode()
    assert not RosterEntry.objects.filter(roster__branch=branch).exists()


def test_a_bengali_reader_is_told_of_the_cut_off_in_bengali_digits(
    debra, branch, member, agent, area, clock, client_for
):
    clock.move_to(MORNING.replace(hour=8, minute=45))
    member.language = "bn"
    member.save()
    response = post_file(client_for(member), upload_url(debra, branch), xlsx([row()]))
    assert "মঙ্গল ০১ ডিসে. ২০২৬-এর রোস্টার ০৮:৩০-এর" in response.content.decode()


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "At most 255 characters fit here; this cell has 300."),
        ("bn", "এখানে বড়জোর ২৫৫টি অক্ষর ধরে; এই ঘরে আছে ৩০০টি।"),
    ],
)
def test_a_cell_too_long_for_its_field_is_refused_in_the_readers_words(
    debra, branch, member, agent, area, clock, client_for, language, message
):
    member.language = language
    member.save()
    content = xlsx([[*row()[:2], "x" * 300, *row()[3:]]])
    page = post_file(client_for(member), upload_url(debra, branch), content).content.decode()
    assert message in page


def test_agents_and_areas_are_matched_forgivingly(
    debra, branch, member, agent, area, clock, client_for
):
    numbered = AgentFactory(branch=branch, name="Sima Mondal", employee_id="1023")
    content = xlsx(
        [
            ["  rahul   DAS ", " radhamohanpur ", "", "9.30", "10:45", "<50000", "", "", ""],
            ["e-17", "রাধামোহনপুর", "", "11", "1:15 pm", "RS. 50,000 TO 1 LAKH", "", "", ""],
            [1023, area.pk, "", 0.5, 0.5625, "over 2 lakh", "", "", ""],
        ],
        headers=["agent", "AREA", "centres", "Departure time", "return", "Cash", "", "", ""],
    )
    response = post_file(client_for(member), upload_url(debra, branch), content)
    assert response.status_code == 302, response.content.decode()
    entries = RosterEntry.objects.filter(roster__branch=branch).order_by("depart_at")
    assert [(e.agent, e.area, e.depart_at, e.return_at, e.cash_band) for e in entries] == [
        (agent, area, datetime.time(9, 30), datetime.time(10, 45), CashBand.UNDER_50K),
        (agent, area, datetime.time(11), datetime.time(13, 15), CashBand.FROM_50K_TO_1L),
        (numbered, area, datetime.time(12), datetime.time(13, 30), CashBand.OVER_2L),
    ]


def test_the_template_downloads_and_uploads_again(
    debra, branch, member, agent, area, clock, client_for
):
    client = client_for(member)
    url = station_reverse(debra, "lenders:roster_template", branch_pk=branch.pk, fmt="xlsx")
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="roster-template.xlsx"'
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook["Roster"]
    assert [cell.value for cell in sheet[1]] == HEADERS
    assert "Agent / এজেন্ট" in HEADERS
    listed = [cell.value for cell in workbook["Lists"]["A"]]
    assert "Rahul Das" in listed
    # The template's rows are formatted ahead, so fill line 2 as a person would.
    for letter, value in zip(
        "ABDEF",
        ["Rahul Das", "Radhamohanpur", datetime.time(10), datetime.time(12), "Under Rs 50,000"],
        strict=True,
    ):
        sheet[f"{letter}2"] = value
    out = io.BytesIO()
    workbook.save(out)
    assert post_file(client, upload_url(debra, branch), out.getvalue()).status_code == 302
    assert RosterEntry.objects.filter(roster__branch=branch).count() == 1

    csv_url = station_reverse(debra, "lenders:roster_template", branch_pk=branch.pk, fmt="csv")
    template = client.get(csv_url).content
    filled = template + b"Rahul Das,Radhamohanpur,,13:00,14:00,lt50k,,,\n"
    response = post_file(client, upload_url(debra, branch), filled, "template.csv")
    assert response.status_code == 302
    assert RosterEntry.objects.get(roster__branch=branch).depart_at == datetime.time(13)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("roster.pdf", b"%PDF-1.4", "Upload an Excel .xlsx or a .csv file."),
        ("roster.xlsx", b"not a zip", "This is not an Excel .xlsx file."),
        ("roster.xlsx", b"x" * (upload.MAX_UPLOAD_BYTES + 1), "larger than 1 MB"),
        ("roster.csv", b"Agent,Area\nRahul,X\n", "Missing: Departure, Return, Cash"),
        ("roster.csv", "এজেন্ট".encode("utf-16"), "not in UTF-8"),
        ("roster.csv", csv_bytes([]), "no entries below the column headings"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(
    debra, branch, member, agent, area, clock, client_for, name, content, message
):
    EntryFactory(roster__branch=branch, roster__date=TODAY, agent=agent)
    response = post_file(client_for(member), upload_url(debra, branch), content, name)
    assert response.status_code == 200
    assert escape(message) in response.content.decode()
    assert RosterEntry.objects.filter(roster__branch=branch).count() == 1


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "The file is larger than 1 MB."),
        ("bn", "ফাইলটি ১ MB-এর চেয়ে বড়।"),
    ],
)
def test_a_file_too_large_is_refused_with_the_limit_in_the_readers_digits(
    debra, branch, member, clock, client_for, language, message
):
    member.language = language
    member.save()
    content = b"x" * (upload.MAX_UPLOAD_BYTES + 1)
    page = post_file(client_for(member), upload_url(debra, branch), content).content.decode()
    assert message in page


def test_the_page_says_an_upload_replaces_the_roster(debra, branch, member, clock, client_for):
    page = client_for(member).get(upload_url(debra, branch)).content.decode()
    assert "An upload replaces this date" in page
    assert 'name="viewport"' in page


def test_another_branchs_member_gets_404(debra, branch, agent, area, clock, client_for):
    outsider = MemberFactory(branch=BranchFactory()).user
    client = client_for(outsider)
    assert client.get(upload_url(debra, branch)).status_code == 404
    assert post_file(client, upload_url(debra, branch), xlsx([row()])).status_code == 404
    url = station_reverse(debra, "lenders:roster_template", branch_pk=branch.pk, fmt="csv")
    assert client.get(url).status_code == 404
    assert not RosterEntry.objects.filter(roster__branch=branch).exists()


def test_a_member_of_another_station_gets_404(debra, pingla, client_for, clock):
    with time_machine.travel(MORNING, tick=False):
        from django_tenants.utils import tenant_context

        with tenant_context(debra):
            debra_member = MemberFactory(branch=BranchFactory()).user
        with tenant_context(pingla):
            pingla_branch = BranchFactory()
    response = client_for(debra_member).get(upload_url(pingla, pingla_branch))
    assert response.status_code == 404
    assert b"Pingla" not in response.content


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9:30", datetime.time(9, 30)),
        ("09.30", datetime.time(9, 30)),
        ("0930", datetime.time(9, 30)),
        ("9:30 PM", datetime.time(21, 30)),
        ("12 am", datetime.time(0)),
        ("১০:১৫", datetime.time(10, 15)),
        (datetime.datetime(2026, 12, 1, 8, 5), datetime.time(8, 5)),
        (0.25, datetime.time(6)),
        ("", None),
    ],
)
def test_times_are_read_as_people_write_them(text, expected):
    assert upload.parse_time(text) == expected


@pytest.mark.parametrize("text", ["25:00", "9:75", "soon", "13 pm", 1.5])
def test_what_is_not_a_time_is_refused(text):
    with pytest.raises(ValueError):
        upload.parse_time(text)


@pytest.mark.parametrize(
    ("text", "band"),
    [
        ("lt50k", "lt50k"),
        ("under rs 50,000", "lt50k"),
        ("Rs 50,000 to 1 lakh", "50k-1l"),
        ("50000-100000", "50k-1l"),
        ("1-2 lakh", "1l-2l"),
        ("OVER RS 2 LAKH", "gt2l"),
        (">2 lakh", "gt2l"),
    ],
)
def test_cash_bands_are_read_by_code_or_label(text, band):
    assert upload.parse_cash_band(text) == band


@pytest.mark.parametrize(
    ("text", "band"),
    [
        ("Under Rs 50,000", "lt50k"),
        ("Over Rs 2 lakh", "gt2l"),
        ("৫০,০০০ টাকার কম", "lt50k"),  # noqa: RUF001 - as a Bengali reader writes it
    ],
)
@pytest.mark.parametrize("language", ["en", "bn"])
def test_cash_band_labels_of_either_language_are_read_on_a_page_in_either(text, band, language):
    with translation.override(language):
        assert upload.parse_cash_band(text) == band


SHEET = "xl/worksheets/sheet1.xml"


def _huge_sheet(chars: int) -> bytes:
    """A roster whose first sheet holds one cell of `chars` letters, packed small."""
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
        + b"a" * chars
        + b"</t></is></c></row></sheetData></worksheet>"
    )
    source, out = zipfile.ZipFile(io.BytesIO(xlsx([row()]))), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for member in source.infolist():
            target.writestr(
                member.filename, sheet if member.filename == SHEET else source.read(member)
            )
    return out.getvalue()


def test_a_small_xlsx_that_unpacks_to_a_huge_cell_is_refused_before_it_is_loaded(
    debra, branch, member, agent, area, clock, client_for
):
    bomb = _huge_sheet(upload.MAX_XLSX_EXPANDED_BYTES * 3)
    assert len(bomb) < 100_000  # well inside the 1 MB an upload may weigh
    EntryFactory(roster__branch=branch, roster__date=TODAY, agent=agent)
    response = post_file(client_for(member), upload_url(debra, branch), bomb)
    assert response.status_code == 200
    assert "unpacks to more than 10 MB" in response.content.decode()
    assert RosterEntry.objects.filter(roster__branch=branch).count() == 1


def test_an_archive_that_understates_what_it_unpacks_to_is_refused_as_damaged(branch):
    bomb = bytearray(_huge_sheet(upload.MAX_XLSX_EXPANDED_BYTES * 3))
    # Write a small size into the sheet's local and central headers: the limit is then met on
    # paper, and zipfile stops reading at the size the archive claims.
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        start = 0
        while (start := bomb.find(signature, start)) != -1:
            if bomb[start + name_at : start + name_at + len(SHEET)] == SHEET.encode():
                bomb[start + size_at : start + size_at + 4] = (2000).to_bytes(4, "little")
            start += 4
    sizes = [member.file_size for member in zipfile.ZipFile(io.BytesIO(bomb)).infolist()]
    assert sum(sizes) < upload.MAX_XLSX_EXPANDED_BYTES
    with pytest.raises(upload.UploadError, match="not an Excel"):
        upload.parse(io.BytesIO(bytes(bomb)), name="roster.xlsx", branch=branch)


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_a_cell_longer_than_any_field_is_refused(
    debra, branch, member, agent, area, clock, client_for, kind
):
    long_notes = "n" * (upload.MAX_CELL_CHARS + 1)
    rows = [[*row()[:-1], long_notes]]
    content = xlsx(rows) if kind == "xlsx" else csv_bytes(rows)
    response = post_file(client_for(member), upload_url(debra, branch), content, f"r.{kind}")
    assert "longer than 1000 characters" in response.content.decode()
    assert not RosterEntry.objects.filter(roster__branch=branch).exists()


def test_a_csv_with_nul_characters_is_refused_as_not_utf8(
    debra, branch, member, agent, area, clock, client_for
):
    content = csv_bytes([[*row()[:-1], "a\x00b"]])
    response = post_file(client_for(member), upload_url(debra, branch), content, "r.csv")
    assert response.status_code == 200
    assert "not in UTF-8" in response.content.decode()
    assert not RosterEntry.objects.filter(roster__branch=branch).exists()


def test_an_area_written_as_a_superscript_digit_is_no_area_number(
    debra, branch, member, agent, area, clock, client_for
):
    content = csv_bytes([row(area="²")])
    response = post_file(client_for(member), upload_url(debra, branch), content, "r.csv")
    assert response.status_code == 200
    assert not RosterEntry.objects.filter(roster__branch=branch).exists()
