"""A station's pages. Each pattern is served under /station/<slug>/ by django-tenants."""

from django.urls import include, path

import escort_portal.converters  # noqa: F401 - registers <isodate:...>

urlpatterns = [
    path("", include("stations.urls_station")),
    path("lenders/", include("lenders.urls")),
    path("escorts/", include("escorts.urls", namespace="escorts")),
    path("notifications/", include("notifications.urls", namespace="notifications")),
    # The roster API for lenders' own systems (Api-Key per branch), its schema and docs.
    path("api/", include("lenders.urls.api")),
]
