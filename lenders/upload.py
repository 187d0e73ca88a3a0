"""A roster as a spreadsheet: reading an uploaded .xlsx or .csv, and the template to fill in.

Reading only turns cells into `services.EntryInput`; every roster rule stays in the service
(through `roster_replace.roster_rows_replace`), so an upload gets the same messages as the form.
Lines are numbered as the spreadsheet shows them: the header is line 1.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, cast
from xml.etree.ElementTree import ParseError

from defusedxml.ElementTree import iterparse
from django.core.exceptions import ValidationError
from django.db.models import CharField, Q
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation

from escort_portal.exports import spreadsheet_row
from escort_portal.formats import native_digits

from . import selectors, services
from .models import CashBand, CollectionArea, FieldAgent, LenderBranch, RosterEntry
from .roster_replace import RowInput

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

MAX_UPLOAD_BYTES = 1024 * 1024
MAX_ROWS = 500
# Blank lines are skipped, but not forever: a damaged or hostile file can claim a million.
MAX_LINES = 10_000
# Columns past this are ignored: a roster has nine, and a sheet can claim 16,384.
MAX_COLUMNS = 30
# An .xlsx is a zip of XML: within the 1 MB a file may weigh, it can unpack to a gigabyte (one
# cell of 100 MB took seconds to read). The archive's members may unpack to this much in all (a
# full 500-line roster is well under 1 MB), and are counted before the workbook is opened;
# zipfile refuses a member that unpacks to more than the archive says.
MAX_XLSX_EXPANDED_BYTES = 10 * 1024 * 1024
MAX_XLSX_MEMBERS = 500
# No roster field takes more than 255 characters; a longer cell is a wrong column or junk.
MAX_CELL_CHARS = 1000


class UploadError(Exception):
    """The file as a whole cannot be read; nothing in it was looked at row by row."""


@dataclass(frozen=True)
class Column:
    field: str
    label: StrOrPromise  # lazy: the name used in messages, in the reader's language
    # The template's header names each column in both languages whatever the page's language,
    # so one file works for every member of the branch.
    header: str
    aliases: tuple[str, ...]
    required: bool = False


COLUMNS = (
    Column(
        "agent",
        gettext_lazy("Agent"),
        "Agent / এজেন্ট",
        ("field agent", "agent name", "name", "employee id", "emp id", "ফিল্ড এজেন্ট"),
        required=True,
    ),
    Column(
        "area",
        gettext_lazy("Area"),
        "Area / এলাকা",
        ("collection area", "village", "area name", "গ্রাম"),
        required=True,
    ),
    Column(
        "centres",
        gettext_lazy("Centres"),
        "Centres / কেন্দ্র",
        ("centre", "centers", "center", "groups", "centre or group names"),
    ),
    Column(
        "depart_at",
        gettext_lazy("Departure"),
        "Departure / রওনার সময়",
        ("depart", "departure time", "depart at", "start", "রওনা"),
        required=True,
    ),
    Column(
        "return_at",
        gettext_lazy("Return"),
        "Return / ফেরার সময়",
        ("return time", "return at", "expected return", "expected return time", "ফেরা"),
        required=True,
    ),
    Column(
        "cash_band",
        gettext_lazy("Cash band"),
        "Cash band / টাকার পরিমাণ",
        ("cash", "band", "amount", "amount band", "টাকা"),
        required=True,
    ),
    Column(
        "vehicle_registration",
        gettext_lazy("Vehicle registration"),
        "Vehicle registration / গাড়ির নম্বর",
        ("vehicle", "vehicle no", "vehicle number", "registration", "গাড়ি"),
    ),
    Column(
        "deposit_point",
        gettext_lazy("Deposit point"),
        "Deposit point / জমার জায়গা",
        ("deposit", "deposit at", "জমা"),
    ),
    Column("notes", gettext_lazy("Notes"), "Notes / মন্তব্য", ("note", "remarks", "comments")),
)
COLUMN_LABELS = {column.field: column.label for column in COLUMNS}
TEXT_FIELDS = ("centres", "vehicle_registration", "deposit_point", "notes")

_BENGALI_DIGITS = str.maketrans("০১২৩৪৫৬৭৮৯", "0123456789")


def normalise(value: object) -> str:
    """Compare names as people mean them: case, spacing and Unicode forms do not count."""
    text = unicodedata.normalize("NFC", cell_text(value))
    return " ".join(text.split()).casefold()


def cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # an employee id typed into Excel comes back as 1023.0
    return str(value).strip()


def _header_key(value: object) -> str:
    return normalise(re.sub(r"[_.:()*-]+", " ", cell_text(value)))


_HEADER_INDEX: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.header, *_column.header.split("/"), _column.field, *_column.aliases):
        _HEADER_INDEX[_header_key(_name)] = _column.field


# --- Reading the file ---


# What openpyxl raises for a file that is not a workbook or is damaged inside.
_XLSX_ERRORS = (zipfile.BadZipFile, InvalidFileException, ParseError, KeyError, ValueError, OSError)


def _check_xlsx_bounds(file: IO[bytes]) -> None:
    """Refuse, before openpyxl loads anything, an archive that unpacks past the limits or holds
    a cell longer than MAX_CELL_CHARS. The cells' text is read with a streaming parser, element
    by element, from the shared strings and the sheets, so a refused file is never held whole."""
    try:
        with zipfile.ZipFile(file) as archive:
            members = archive.infolist()
            if len(members) > MAX_XLSX_MEMBERS or (
                sum(member.file_size for member in members) > MAX_XLSX_EXPANDED_BYTES
            ):
                raise UploadError(
                    _("The Excel file unpacks to more than %(size)s MB; a roster is far smaller.")
                    % {"size": native_digits(MAX_XLSX_EXPANDED_BYTES // (1024 * 1024))}
                )
            for member in members:
                name = member.filename
                if name != "xl/sharedStrings.xml" and not name.startswith("xl/worksheets/"):
                    continue
                with archive.open(member) as xml:
                    for _event, element in iterparse(xml):
                        if element.text and len(element.text) > MAX_CELL_CHARS:
                            raise UploadError(
                                _("A cell of the file is longer than %(count)s characters.")
                                % {"count": native_digits(MAX_CELL_CHARS)}
                            )
                        element.clear()
    except _XLSX_ERRORS as exc:
        raise UploadError(_("This is not an Excel .xlsx file. Save it as .xlsx or .csv.")) from exc
    finally:
        file.seek(0)


def _rows_from_xlsx(file: IO[bytes]) -> Iterator[tuple[int, list[object]]]:
    _check_xlsx_bounds(file)
    try:
        workbook = load_workbook(file, read_only=True, data_only=True)
    except _XLSX_ERRORS as exc:
        raise UploadError(_("This is not an Excel .xlsx file. Save it as .xlsx or .csv.")) from exc
    try:
        names = {name.casefold(): name for name in workbook.sheetnames}
        sheet = workbook[names["roster"]] if "roster" in names else workbook.worksheets[0]
        for line, cells in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), 1):
            yield line, list(cells)
    finally:
        workbook.close()


def _rows_from_csv(file: IO[bytes]) -> Iterator[tuple[int, list[object]]]:
    raw = file.read()
    not_utf8 = _("The CSV file is not in UTF-8. In Excel, save it as “CSV UTF-8”.")
    try:
        # Excel's "CSV UTF-8" starts with a byte-order mark.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadError(not_utf8) from exc
    if "\x00" in text:
        # Text with NUL characters is UTF-16 ("Unicode Text") read as UTF-8; no field may hold
        # one either (PostgreSQL refuses them).
        raise UploadError(not_utf8)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:4096], delimiters=",;\t"
        )
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        for line, cells in enumerate(reader, 1):
            if any(len(cell) > MAX_CELL_CHARS for cell in cells):
                raise UploadError(
                    _("A cell of the file is longer than %(count)s characters.")
                    % {"count": native_digits(MAX_CELL_CHARS)}
                )
            yield line, list(cells[:MAX_COLUMNS])
    except csv.Error as exc:
        raise UploadError(_("The CSV file could not be read: %(error)s") % {"error": exc}) from exc


def file_kind(name: str) -> str | None:
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return suffix if suffix in ("xlsx", "csv") else None


def _is_blank(cells: Iterable[object]) -> bool:
    return all(cell_text(cell) == "" for cell in cells)


def _columns(header: list[object]) -> dict[int, str]:
    """Which cell holds which field, from the header line."""
    found: dict[str, int] = {}
    for position, cell in enumerate(header):
        name = _HEADER_INDEX.get(_header_key(cell))
        if name is None:
            continue
        if name in found:
            raise UploadError(
                _("Two columns are headed “%(column)s”. Keep one.")
                % {"column": COLUMN_LABELS[name]}
            )
        found[name] = position
    missing = [str(c.label) for c in COLUMNS if c.required and c.field not in found]
    if missing:
        raise UploadError(
            _(
                "The first line must be the column headings, as in the template. "
                "Missing: %(columns)s."
            )
            % {"columns": ", ".join(missing)}
        )
    return {position: name for name, position in found.items()}


# --- Reading cells ---


def parse_time(value: object) -> datetime.time | None:
    """A time from an Excel time cell or text like 9:30, 09.30, 0930, 9:30 pm; None if blank."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return value.time().replace(second=0, microsecond=0, tzinfo=None)
    if isinstance(value, datetime.time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds() / 86400
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 0 <= value < 1:  # Excel keeps a time as the fraction of a day
            minutes = round(value * 24 * 60)
            if minutes < 24 * 60:
                return datetime.time(minutes // 60, minutes % 60)
        elif float(value).is_integer() and 0 <= value <= 23:
            return datetime.time(int(value))
        raise ValueError(value)
    text = normalise(value).translate(_BENGALI_DIGITS).replace(" ", "")
    match = re.fullmatch(r"(\d{1,2})(?:[:.](\d{2}))?(?:[:.]\d{2})?(am|pm|a\.m\.|p\.m\.)?", text)
    if match is None:
        match = re.fullmatch(r"(\d{2})(\d{2})()", text)
    if match is None:
        raise ValueError(value)
    hour, minute, half = int(match[1]), int(match[2] or 0), (match[3] or "")[:1]
    if half:
        if not 1 <= hour <= 12:
            raise ValueError(value)
        hour = hour % 12 + (12 if half == "p" else 0)
    return datetime.time(hour, minute)  # raises ValueError past 23:59


_CASH_ALIASES = {
    CashBand.UNDER_50K: ("<50000", "<50k", "under50k", "upto50000", "below50000", "0-50000"),
    CashBand.FROM_50K_TO_1L: ("50000-1lakh", "50000-100000", "50k-1l", "50k-1lakh"),
    CashBand.FROM_1L_TO_2L: ("1-2lakh", "1lakh-2lakh", "100000-200000", "1l-2l", "1to2l"),
    CashBand.OVER_2L: (">2lakh", ">200000", "over200000", "above2lakh", "morethan2lakh", ">2l"),
}


def _cash_key(value: object) -> str:
    text = normalise(value).translate(_BENGALI_DIGITS)
    text = re.sub(r"\brs\b|₹|/-|,|\.|\s", "", text)
    return text.replace("to", "-")


def _cash_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for band in CashBand:
        names = [band.value, *_CASH_ALIASES[band]]
        # Both languages' labels, whatever the page's: one file serves every member of the
        # branch, and the English template's band read on a Bengali page is still that band.
        for language in ("en", "bn"):
            with translation.override(language):
                names.append(str(band.label))
        for name in names:
            index[_cash_key(name)] = band.value
    return index


def parse_cash_band(value: object) -> str:
    """A band's code or label in either language; anything else goes to the rules as it is."""
    return _cash_index().get(_cash_key(value), cell_text(value))


class _Matcher:
    """Finds the branch's agents and the station's areas by what a person would type."""

    def __init__(self, branch: LenderBranch) -> None:
        self.agent_ids: dict[str, FieldAgent] = {}
        self.agent_names: dict[str, list[FieldAgent]] = defaultdict(list)
        for agent in selectors.agent_list(branch=branch):
            self.agent_ids[normalise(agent.employee_id)] = agent
            self.agent_names[normalise(agent.name)].append(agent)
        self.areas: dict[int, CollectionArea] = {}
        self.area_names: dict[str, list[CollectionArea]] = defaultdict(list)
        # Another branch's proposal waiting for the station is no area of this branch's: its
        # name reads as unknown, so a file cannot tell what other branches have proposed.
        others_proposals = Q(status=CollectionArea.Status.PROPOSED) & ~Q(proposed_by=branch)
        for area in CollectionArea.objects.exclude(others_proposals).select_related("merged_into"):
            self.areas[area.pk] = area
            for name in {normalise(area.name), normalise(area.name_bn)} - {""}:
                self.area_names[name].append(area)

    def agent(self, value: object) -> FieldAgent | None:
        key = normalise(value)
        if not key:
            return None  # the rules say "choose the agent"
        if key in self.agent_ids:
            return self.agent_ids[key]
        named = self.agent_names.get(key, [])
        active = [agent for agent in named if agent.active]
        if len(active) == 1 or len(named) == 1:
            return (active or named)[0]
        if named:
            raise ValidationError(
                _("Two agents are called “%(name)s”. Write the employee id instead.")
                % {"name": cell_text(value)}
            )
        raise ValidationError(
            _("No field agent of this branch has the name or employee id “%(value)s”.")
            % {"value": cell_text(value)}
        )

    def area(self, value: object) -> CollectionArea | None:
        key = normalise(value)
        if not key:
            return None
        named = self.area_names.get(key, [])
        if not named and key.isdecimal():
            named = [self.areas[int(key)]] if int(key) in self.areas else []
        # A proposed area that the station merged into another stands for that one.
        named = [area.merged_into if area.merged_into else area for area in named]
        active = [area for area in named if area.status == CollectionArea.Status.ACTIVE]
        if len({area.pk for area in active}) > 1:
            raise ValidationError(
                _("Two areas are called “%(name)s”. Write the area's number from the list.")
                % {"name": cell_text(value)}
            )
        if active or named:
            return (active or named)[0]  # one that is not active: the rules say why
        raise ValidationError(
            _("The station has no area called “%(value)s”. Check the list of areas.")
            % {"value": cell_text(value)}
        )


@dataclass
class ParsedFile:
    rows: list[RowInput] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # the spreadsheet line of each row


def _row(cells: dict[str, object], matcher: _Matcher) -> RowInput:
    errors: dict[str, list[str] | list[ValidationError]] = {}
    values: dict[str, Any] = {}
    for name, reader in (("agent", matcher.agent), ("area", matcher.area)):
        try:
            values[name] = reader(cells.get(name))
        except ValidationError as exc:
            values[name] = None
            errors[name] = exc.messages
    for name in ("depart_at", "return_at"):
        try:
            values[name] = parse_time(cells.get(name))
        except ValueError:
            values[name] = None
            errors[name] = [
                _("“%(value)s” is not a time. Write it as HH:MM, for example 09:30.")
                % {"value": cell_text(cells.get(name))}
            ]
    values["cash_band"] = parse_cash_band(cells.get("cash_band"))
    for name in TEXT_FIELDS:
        text = cell_text(cells.get(name))
        limit = cast(CharField, RosterEntry._meta.get_field(name)).max_length or 0
        if len(text) > limit:
            # Our own words, with the numbers as params so a page writes them in its reader's
            # numerals; Django's own message has no Bengali.
            errors[name] = [
                ValidationError(
                    _("At most %(limit)s characters fit here; this cell has %(count)s."),
                    code="max_length",
                    params={"limit": limit, "count": len(text)},
                )
            ]
            text = ""
        values[name] = text
    return RowInput(data=services.EntryInput(**values), errors=errors)


def parse(file: IO[bytes], *, name: str, branch: LenderBranch) -> ParsedFile:
    """Read every row of the file. Raises `UploadError` when the file as a whole is wrong."""
    kind = file_kind(name)
    if kind is None:
        raise UploadError(_("Upload an Excel .xlsx or a .csv file."))
    lines = iter(_rows_from_xlsx(file) if kind == "xlsx" else _rows_from_csv(file))
    columns: dict[int, str] | None = None
    matcher = _Matcher(branch)
    parsed = ParsedFile()
    while True:
        try:
            line, cells = next(lines)
        except StopIteration:
            break
        except _XLSX_ERRORS as exc:
            raise UploadError(_("The Excel file is damaged and could not be read.")) from exc
        if line > MAX_LINES:
            raise UploadError(
                _("The file has more than %(count)s lines.") % {"count": native_digits(MAX_LINES)}
            )
        if _is_blank(cells):
            continue
        if columns is None:
            columns = _columns(cells)
            continue
        if len(parsed.rows) == MAX_ROWS:
            raise UploadError(
                _("The file has more than %(count)s entries. Check for stray lines below.")
                % {"count": native_digits(MAX_ROWS)}
            )
        by_field = {columns[i]: cell for i, cell in enumerate(cells) if i in columns}
        parsed.rows.append(_row(by_field, matcher))
        parsed.lines.append(line)
    if columns is None or not parsed.rows:
        # Clearing a whole roster by uploading an empty sheet is more likely a slip than a wish.
        raise UploadError(_("The file has no entries below the column headings."))
    return parsed


# --- The template ---


def _list_rows(branch: LenderBranch) -> tuple[list, list, list]:
    agents = [
        (a.name, a.employee_id) for a in selectors.agent_list(branch=branch, active_only=True)
    ]
    areas = [(a.pk, a.name, a.name_bn, a.locality) for a in selectors.area_list_active()]
    bands = [(band.value, str(band.label)) for band in CashBand]
    return agents, areas, bands


def template_xlsx(*, branch: LenderBranch) -> bytes:
    """An empty roster with bilingual headings, and a second sheet listing what to write."""
    agents, areas, bands = _list_rows(branch)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Roster"
    sheet.append([column.header for column in COLUMNS])
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font = bold
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    for letter, width in zip("ABCDEFGHI", (24, 22, 22, 14, 14, 22, 18, 18, 30), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    for letter in "DE":
        for row in range(2, MAX_ROWS + 2):
            sheet[f"{letter}{row}"].number_format = "hh:mm"

    lists = workbook.create_sheet("Lists")
    lists.append(
        [
            "Agent / এজেন্ট",
            "Employee id / কর্মী আইডি",
            "",
            "Area no. / এলাকা নং",
            "Area / এলাকা",
            "Bengali name / বাংলা নাম",
            "Locality / অঞ্চল",
            "",
            "Cash band / টাকার পরিমাণ",
        ]
    )
    for row in range(max(len(agents), len(areas), len(bands))):
        agent = agents[row] if row < len(agents) else ("", "")
        area = areas[row] if row < len(areas) else ("", "", "", "")
        band = bands[row][1] if row < len(bands) else ""
        lists.append(spreadsheet_row([*agent, "", *area, "", band]))
    for cell in lists[1]:
        cell.font = bold
    for letter, width in zip("ABCDEFGHI", (24, 16, 2, 10, 22, 22, 18, 2, 24), strict=True):
        lists.column_dimensions[letter].width = width
    band_list = DataValidation(
        type="list", formula1=f"=Lists!$I$2:$I${1 + len(bands)}", allow_blank=True
    )
    sheet.add_data_validation(band_list)
    band_list.add(f"F2:F{MAX_ROWS + 1}")

    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def template_csv() -> bytes:
    out = io.StringIO()
    csv.writer(out).writerow([column.header for column in COLUMNS])
    # With the byte-order mark Excel opens the Bengali headings correctly.
    return out.getvalue().encode("utf-8-sig")
