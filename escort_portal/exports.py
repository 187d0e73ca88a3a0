"""Text that leaves the portal in files and messages: spreadsheet cells and message names.

A spreadsheet reads a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return as
a formula (OWASP's CSV injection), so a name typed as `=HYPERLINK(...)` would run in the
officer's Excel. Such a cell is written with a leading apostrophe, which makes it text.
"""

from __future__ import annotations

import re
import unicodedata

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A plain number such as a phone in international form ("+91 98300 12345") or "-5" cannot be
# a formula, and an apostrophe in front of every phone would only get in the way.
_PLAIN_NUMBER = re.compile(r"[+-]?\d[\d ]*")


def spreadsheet_cell(value: object) -> object:
    """`value` as a spreadsheet cell that is never taken for a formula."""
    if value is None or isinstance(value, int | float):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def spreadsheet_row(values: list[object]) -> list[object]:
    return [spreadsheet_cell(value) for value in values]


def message_text(value: object, *, limit: int = 60) -> str:
    """A name for an email subject or an SMS: one line of plain text, control and format
    characters dropped, spaces squeezed, cut to `limit` characters."""
    text = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
        for ch in str(value)
        if unicodedata.category(ch) not in ("Cf", "Co", "Cs") or ch in "\u200c\u200d"
    )
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
