from django.urls import include, path

from . import views, views_incidents

app_name = "lenders"

urlpatterns = [
    path("", include("lenders.urls_upload_api")),
    path("branches/", views.my_branches, name="my_branches"),
    path("branch/<int:branch_pk>/", views.branch_home, name="branch"),
    path("branch/<int:branch_pk>/roster/<isodate:date>/", views.roster_day, name="roster_day"),
    path("branch/<int:branch_pk>/roster/<isodate:date>/add/", views.entry_add, name="entry_add"),
    path("branch/<int:branch_pk>/roster/<isodate:date>/copy/", views.roster_copy, name="copy"),
    path("branch/<int:branch_pk>/entry/<int:entry_pk>/", views.entry_edit, name="entry_edit"),
    path(
        "branch/<int:branch_pk>/entry/<int:entry_pk>/delete/",
        views.entry_delete,
        name="entry_delete",
    ),
    path("branch/<int:branch_pk>/agents/", views.agent_list, name="agent_list"),
    path("branch/<int:branch_pk>/agents/new/", views.agent_edit, name="agent_add"),
    path("branch/<int:branch_pk>/agents/<int:agent_pk>/", views.agent_edit, name="agent_edit"),
    path(
        "branch/<int:branch_pk>/agents/<int:agent_pk>/toggle/",
        views.agent_toggle,
        name="agent_toggle",
    ),
    path("branch/<int:branch_pk>/staff/", views.staff, name="staff"),
    path("branch/<int:branch_pk>/areas/propose/", views.area_propose, name="area_propose"),
    path("registrations/", views.branch_admin_list, name="branch_admin_list"),
    path("registrations/<int:branch_pk>/", views.branch_admin_detail, name="branch_admin_detail"),
    path("areas/", views.area_list, name="area_list"),
    path("areas/new/", views.area_edit, name="area_add"),
    path("areas/<int:area_pk>/", views.area_edit, name="area_edit"),
    path("areas/<int:area_pk>/decide/", views.area_decide, name="area_decide"),
    path("incidents/", views_incidents.incident_list, name="incident_list"),
    path("incidents/new/", views_incidents.incident_edit, name="incident_add"),
    path("incidents/<int:incident_pk>/", views_incidents.incident_detail, name="incident_detail"),
    path("incidents/<int:incident_pk>/edit/", views_incidents.incident_edit, name="incident_edit"),
    path(
        "incidents/<int:incident_pk>/status/",
        views_incidents.incident_status,
        name="incident_status",
    ),
    path(
        "branch/<int:branch_pk>/incidents/report/",
        views_incidents.branch_incident_report,
        name="branch_incident_report",
    ),
    path("my-trips/", views_incidents.my_trips, name="my_trips"),
    path("my-trips/<int:entry_pk>/sos/", views_incidents.sos, name="sos"),
    path("sos/", views_incidents.sos_list, name="sos_list"),
    path(
        "sos/<int:alert_pk>/acknowledge/", views_incidents.sos_acknowledge, name="sos_acknowledge"
    ),
]
