"""The portal's own date formats (one module per language, see FORMAT_MODULE_PATH), and the
language's numerals for dates and times written on a page."""

from __future__ import annotations

import datetime

from django.utils.formats import date_format
from django.utils.translation import get_language

_DIGITS = {"bn": str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")}


def native_digits(value: object, language: str | None = None) -> str:
    """`value` as text, its digits in the numerals of `language` (by default the current one;
    Bengali's for "bn"): a count as much as a text written before the page."""
    text = str(value)
    table = _DIGITS.get((language or get_language() or "").split("-")[0])
    return text.translate(table) if table else text


def page_date(value: datetime.date) -> str:
    """A date as a page shows it: the portal's one format, in the page language's numerals."""
    return native_digits(date_format(value))
