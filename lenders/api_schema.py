"""Answers every roster API call can give besides its own, written into the OpenAPI schema."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

_DETAIL = {
    "application/json": {
        "schema": {
            "type": "object",
            "properties": {"detail": {"type": "string"}},
            "required": ["detail"],
        }
    }
}
COMMON = {
    "401": _("No key, or a key that is wrong or revoked."),
    "403": _("The key may not do this."),
    "404": _("Nothing of that id on this date for the key's branch."),
    "429": _("Too many calls with this key; wait a minute."),
}


def add_common_errors(result: dict, generator: object, request: object, public: bool) -> dict:
    """drf-spectacular postprocessing hook: document 401, 403, 404 and 429 on every call."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            for code, description in COMMON.items():
                responses.setdefault(code, {"description": str(description), "content": _DETAIL})
    return result


WRITES = ("post", "put", "patch", "delete")


def state_the_date_rule(result: dict, generator: object, request: object, public: bool) -> dict:
    """drf-spectacular postprocessing hook: a roster is changed for today or tomorrow only (the
    station's dates), so the schema names those two dates for every change; reads take any
    date. The schema is made per request, so the dates are always the current ones."""
    from .services import fileable_dates

    dates = [date.isoformat() for date in fileable_dates()]
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") != "path" or parameter.get("name") != "date":
                    continue
                if method in WRITES:
                    parameter["schema"] = {"type": "string", "format": "date", "enum": dates}
                    parameter["description"] = str(
                        _(
                            "The roster's date, YYYY-MM-DD: today or tomorrow at the station "
                            "(Asia/Kolkata); rosters are changed for those two dates only."
                        )
                    )
                else:
                    parameter["description"] = str(
                        _("The roster's date, YYYY-MM-DD: any date, past rosters included.")
                    )
    return result
