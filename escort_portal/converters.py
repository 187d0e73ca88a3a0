from __future__ import annotations

import datetime

from django.urls import register_converter


class IsoDateConverter:
    """`2026-12-01` in a URL, a `datetime.date` in the view."""

    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value: str) -> datetime.date:
        return datetime.date.fromisoformat(value)

    def to_url(self, value: datetime.date | str) -> str:
        return value if isinstance(value, str) else value.isoformat()


# Registered when the first URLconf that uses `<isodate:...>` imports this module: the public
# URLconf can load the lender URLs before the stations' URLconf.
register_converter(IsoDateConverter, "isodate")
