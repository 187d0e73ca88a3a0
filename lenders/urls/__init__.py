from django.urls import include, path

import escort_portal.converters  # noqa: F401 - registers <isodate:...>

from ..views import branches

app_name = "lenders"

urlpatterns = [
    path("", include("lenders.urls.upload_api")),
    path("branches/", branches.my_branches, name="my_branches"),
    path("branch/<int:branch_pk>/", branches.branch_home, name="branch"),
    path("branch/<int:branch_pk>/rosters/", branches.roster_history, name="roster_history"),
    path("branch/<int:branch_pk>/roster/<isodate:date>/", branches.roster_day, name="roster_day"),
    path("branch/<int:branch_pk>/roster/<isodate:date>/add/", branches.entry_add, name="entry_add"),
    path("branch/<int:branch_pk>/roster/<isodate:date>/copy/", branches.roster_copy, name="copy"),
    path(
        "branch/<int:branch_pk>/roster/<isodate:date>/no-collection/",
        branches.roster_no_collection,
        name="no_collection",
    ),
    path("branch/<int:branch_pk>/entry/<int:entry_pk>/", branches.entry_edit, name="entry_edit"),
    path(
        "branch/<int:branch_pk>/entry/<int:entry_pk>/delete/",
        branches.entry_delete,
        name="entry_delete",
    ),
    path("branch/<int:branch_pk>/agents/", branches.agent_list, name="agent_list"),
    path("branch/<int:branch_pk>/agents/new/", branches.agent_edit, name="agent_add"),
    path("branch/<int:branch_pk>/agents/<int:agent_pk>/", branches.agent_edit, name="agent_edit"),
    path(
        "branch/<int:branch_pk>/agents/<int:agent_pk>/toggle/",
        branches.agent_toggle,
        name="agent_toggle",
    ),
    path("branch/<int:branch_pk>/staff/", branches.staff, name="staff"),
    path(
        "branch/<int:branch_pk>/staff/<int:member_pk>/remove/",
        branches.staff_remove,
        name="staff_remove",
    ),
    path("branch/<int:branch_pk>/areas/propose/", branches.area_propose, name="area_propose"),
    path("registrations/", branches.branch_admin_list, name="branch_admin_list"),
    path(
        "registrations/<int:branch_pk>/", branches.branch_admin_detail, name="branch_admin_detail"
    ),
    path("areas/", branches.area_list, name="area_list"),
    path("areas/new/", branches.area_edit, name="area_add"),
    path("areas/<int:area_pk>/", branches.area_edit, name="area_edit"),
    path("areas/<int:area_pk>/decide/", branches.area_decide, name="area_decide"),
]
