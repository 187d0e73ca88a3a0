"""A branch's roster upload and API-key pages. Included by `lenders.urls`, so the names
are in the `lenders` namespace (`lenders:roster_upload`, `lenders:api_keys`, ...)."""

from django.urls import path

import escort_portal.converters  # noqa: F401 - registers <isodate:...>

from ..views import api_keys, upload

urlpatterns = [
    path(
        "branch/<int:branch_pk>/roster/<isodate:date>/upload/",
        upload.roster_upload,
        name="roster_upload",
    ),
    *[
        path(
            f"branch/<int:branch_pk>/roster/template.{fmt}",
            upload.roster_template,
            {"fmt": fmt},
            name="roster_template",
        )
        for fmt in ("xlsx", "csv")
    ],
    path("branch/<int:branch_pk>/api-keys/", api_keys.api_key_list, name="api_keys"),
    path(
        "branch/<int:branch_pk>/api-keys/<int:key_pk>/revoke/",
        api_keys.api_key_revoke,
        name="api_key_revoke",
    ),
]
