"""The `date` and `time` filters, writing a Bengali page's dates and times in Bengali digits, and
`native_digits` for the counts and the text made before the page (a read model's "08:30-12:30").

Loaded as a builtin after Django's own filters, so every `{{ value|date }}` and
`{{ value|time:"H:i" }}` of every template speaks the page's language. What a machine reads stays
ASCII: the `Y-m-d` of addresses and of input values, and ISO and Unix times. Form inputs (their
widgets format values themselves), phone numbers, the API's JSON and the messages sent by SMS
(their templates get times already written) never pass through these filters; nor do numbers a
machine reads in a page (an SVG's coordinates, an address, a `data-` value).
"""

from __future__ import annotations

import datetime

from django import template
from django.template import defaultfilters

from escort_portal import formats

register = template.Library()

# Read by browsers, links and scripts, not by people.
MACHINE_FORMATS = frozenset({"Y-m-d", "c", "U", "r"})


@register.filter(expects_localtime=True, is_safe=False)
def date(value: datetime.date | datetime.datetime | None, arg: str | None = None) -> str:
    text = defaultfilters.date(value, arg)
    return text if arg in MACHINE_FORMATS else formats.native_digits(text)


@register.filter(expects_localtime=True, is_safe=False)
def time(value: datetime.time | datetime.datetime | None, arg: str | None = None) -> str:
    text = defaultfilters.time(value, arg)
    return text if arg in MACHINE_FORMATS else formats.native_digits(text)


@register.filter(is_safe=True)
def native_digits(value: object) -> str:
    """A count, or a text written before the page, in the page's numerals."""
    return formats.native_digits(value)
