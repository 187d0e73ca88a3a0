"""A station's pages. Each pattern is served under /station/<slug>/ by django-tenants."""

from django.urls import include, path

urlpatterns = [
    path("", include("stations.urls_station")),
]
