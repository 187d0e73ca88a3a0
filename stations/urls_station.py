from django.urls import path

from . import views

app_name = "station"

urlpatterns = [
    path("", views.station_landing, name="landing"),
    path("audit/", views.audit_trail, name="audit_trail"),
    path("people/lockouts/", views.lockouts, name="lockouts"),
    path("people/second-factor/", views.second_factors, name="second_factors"),
]
