"""A station's pages. Each pattern is served under /station/<slug>/ by django-tenants."""

from django.urls import include, path

import escort_portal.converters  # noqa: F401 - registers <isodate:...>

urlpatterns = [
    path("", include("stations.urls_station")),
    path("lenders/", include("lenders.urls")),
    # The incident register and SOS kept the paths they had under the lender side's pages.
    path("lenders/", include("incidents.urls")),
    path("escorts/", include("escorts.urls", namespace="escorts")),
    path("notifications/", include("notifications.urls", namespace="notifications")),
    # The roster API for lenders' own systems (Api-Key per branch), its schema and docs.
    path("api/", include("lenders.urls.api")),
]
