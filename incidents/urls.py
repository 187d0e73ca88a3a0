"""The incident register, a branch's report and SOS. Mounted under the station's `lenders/`
beside the lender side's pages, where these pages have always been."""

from django.urls import path

from . import views

app_name = "incidents"

urlpatterns = [
    path("incidents/", views.incident_list, name="incident_list"),
    path("incidents/new/", views.incident_edit, name="incident_add"),
    path("incidents/<int:incident_pk>/", views.incident_detail, name="incident_detail"),
    path("incidents/<int:incident_pk>/edit/", views.incident_edit, name="incident_edit"),
    path(
        "incidents/<int:incident_pk>/status/",
        views.incident_status,
        name="incident_status",
    ),
    path(
        "branch/<int:branch_pk>/incidents/report/",
        views.branch_incident_report,
        name="branch_incident_report",
    ),
    path("my-trips/", views.my_trips, name="my_trips"),
    path("my-trips/<int:entry_pk>/sos/", views.sos, name="sos"),
    path("sos/", views.sos_list, name="sos_list"),
    path("sos/<int:alert_pk>/acknowledge/", views.sos_acknowledge, name="sos_acknowledge"),
]
