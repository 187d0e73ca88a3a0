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
