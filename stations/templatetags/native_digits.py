"""The `date` and `time` filters, writing a Bengali page's dates and times in Bengali digits.

Loaded as a builtin after Django's own filters, so every `{{ value|date }}` and
`{{ value|time:"H:i" }}` of every template speaks the page's language. What a machine reads stays
ASCII: the `Y-m-d` of addresses and of input values, and ISO and Unix times. Form inputs (their
widgets format values themselves), phone numbers, the API's JSON and the messages sent by SMS
(their templates get times already written) never pass through these filters.
"""

from __future__ import annotations

import datetime

from django import template
from django.template import defaultfilters

from escort_portal.formats import native_digits

register = template.Library()

# Read by browsers, links and scripts, not by people.
MACHINE_FORMATS = frozenset({"Y-m-d", "c", "U", "r"})


@register.filter(expects_localtime=True, is_safe=False)
def date(value: datetime.date | datetime.datetime | None, arg: str | None = None) -> str:
    text = defaultfilters.date(value, arg)
    return text if arg in MACHINE_FORMATS else native_digits(text)


@register.filter(expects_localtime=True, is_safe=False)
def time(value: datetime.time | datetime.datetime | None, arg: str | None = None) -> str:
    text = defaultfilters.time(value, arg)
    return text if arg in MACHINE_FORMATS else native_digits(text)
