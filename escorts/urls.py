from django.urls import path

import escort_portal.converters  # noqa: F401 - registers <isodate:...>

from . import views

app_name = "escorts"

urlpatterns = [
    path("", views.index, name="index"),
    path("officers/", views.officer_list, name="officer_list"),
    path("officers/new/", views.officer_edit, name="officer_add"),
    path("officers/<int:officer_pk>/", views.officer_edit, name="officer_edit"),
    path("officers/<int:officer_pk>/delete/", views.officer_delete, name="officer_delete"),
    path("teams/", views.team_list, name="team_list"),
    path("teams/new/", views.team_edit, name="team_add"),
    path("teams/<int:team_pk>/", views.team_edit, name="team_edit"),
    path("teams/<int:team_pk>/delete/", views.team_delete, name="team_delete"),
    path("availability/<isodate:date>/", views.availability, name="availability"),
    path("settings/", views.station_settings, name="settings"),
    path("sheet/<isodate:date>/", views.sheet, name="sheet"),
    path("sheet/<isodate:date>/v<int:version>/", views.sheet, name="sheet_version"),
    path(
        "sheet/<isodate:date>/v<int:version>/progress/",
        views.sheet_progress,
        name="sheet_progress",
    ),
    path("sheet/<isodate:date>/v<int:version>/print.pdf", views.sheet_pdf, name="sheet_pdf"),
    path("sheet/<isodate:date>/v<int:version>/sheet.csv", views.sheet_csv, name="sheet_csv"),
    path("sheet/<isodate:date>/versions/", views.sheet_versions, name="sheet_versions"),
    path("sheet/<isodate:date>/rebuild/", views.sheet_rebuild, name="sheet_rebuild"),
    path("sheet/<isodate:date>/publish/", views.sheet_publish, name="sheet_publish"),
    path("sheet/<isodate:date>/run/new/", views.run_new, name="run_new"),
    path("sheet/<isodate:date>/run/<int:run_pk>/", views.run_edit, name="run_edit"),
    path("sheet/<isodate:date>/run/<int:run_pk>/pin/", views.run_pin, name="run_pin"),
    path("sheet/<isodate:date>/entry/<int:entry_pk>/move/", views.entry_move, name="entry_move"),
    path(
        "sheet/<isodate:date>/entry/<int:entry_pk>/remove/",
        views.entry_remove,
        name="entry_remove",
    ),
    path("sheet/<isodate:date>/late-entry/", views.late_entry, name="late_entry"),
    path("my-day/", views.my_day, name="my_day"),
    path("my-day/run/<int:run_pk>/check-in/", views.my_run_check_in, name="my_run_check_in"),
    path("my-day/run/<int:run_pk>/position/", views.my_run_position, name="my_run_position"),
    path("my-day/run/<int:run_pk>/<slug:action>/", views.my_run_action, name="my_run_action"),
    path("live/", views.live_board, name="live"),
    path(
        "branch/<int:branch_pk>/escorts/<isodate:date>/",
        views.branch_escorts,
        name="branch_escorts",
    ),
]
