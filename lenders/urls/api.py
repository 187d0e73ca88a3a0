"""The roster API, its OpenAPI schema and docs, under /station/<slug>/api/."""

from collections.abc import Callable

from csp.decorators import csp_update
from django.urls import path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularSwaggerSplitView

import escort_portal.converters  # noqa: F401 - registers <isodate:...>
from stations.access import Perm, station_permission_required

from .. import api

app_name = "lenders_api"


def _docs(view_class: type[SpectacularSwaggerSplitView]) -> Callable:
    # The docs pages are for the station's signed-in users (a branch manager who made a key);
    # the page's script then reads the schema with the same login.
    # The documentation widgets set styles inline; their scripts are still files of our own.
    view = csp_update({"style-src": ["'unsafe-inline'"]})(
        view_class.as_view(url_name="lenders_api:schema")
    )
    return station_permission_required(Perm.ENTER)(view)


urlpatterns = [
    path("v1/areas/", api.AreaList.as_view(), name="areas"),
    path("v1/agents/", api.AgentList.as_view(), name="agents"),
    path("v1/rosters/<isodate:date>/entries/", api.RosterEntries.as_view(), name="entries"),
    path(
        "v1/rosters/<isodate:date>/entries/<int:pk>/",
        api.RosterEntryDetail.as_view(),
        name="entry",
    ),
    path("schema/", api.SchemaView.as_view(), name="schema"),
    path("docs/", _docs(SpectacularSwaggerSplitView), name="docs"),
    # ReDoc needs a blob web worker and web fonts that the CSP refuses; Swagger UI shows the
    # same schema from our own files, so the old address leads there.
    path(
        "redoc/",
        station_permission_required(Perm.ENTER)(
            RedirectView.as_view(pattern_name="lenders_api:docs", query_string=True)
        ),
        name="redoc",
    ),
    # Any other address under the API answers in JSON, as the schema promises, not with a page.
    re_path(r"^v1/", api.not_found, name="not_found"),
]
