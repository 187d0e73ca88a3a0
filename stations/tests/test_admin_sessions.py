"""Taking powers away in the Django admin ends the person's sessions at once, as the portal's own
pages do: the platform admin fills in the real change form, and the person's open browser is
signed out on its next request."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.test import Client

from stations.models import StationRole
from stations.tests.factories import StationRoleFactory, SubdivisionRoleFactory, UserFactory

pytestmark = pytest.mark.django_db


class _Form(HTMLParser):
    """The fields of the page's change form as a browser would send them unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        name = a.get("name", "")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            checkable = a.get("type") in ("checkbox", "radio")
            self.fields.append((name, a.get("value", "on" if checkable else "")))
        elif tag == "select" and name:
            self._select, self._options = name, []
            self._multiple = "multiple" in a
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields.append((name, ""))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            name, text = self.fields.pop()
            self.fields.append((name, text + data))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None:
            chosen = [value for value, selected in self._options if selected]
            if not chosen and not self._multiple and self._options:
                chosen = [self._options[0][0]]
            self.fields.extend((self._select, value) for value in chosen)
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _change(admin: Client, user_pk: int, edit) -> None:
    """Open the user's change page in the admin, let `edit` change the fields, save."""
    url = f"/admin/stations/user/{user_pk}/change/"
    page = admin.get(url)
    assert page.status_code == 200
    form = _Form()
    form.feed(page.content.decode())
    fields: dict[str, list[str]] = {}
    for name, value in form.fields:
        fields.setdefault(name, []).append(value)
    edit(fields)
    response = admin.post(url, {**fields, "_save": "Save"})
    assert response.status_code == 302, response.content.decode()[-3000:]


def _role_row(fields: dict[str, list[str]]) -> str:
    """The prefix of the first station role's row in the inline."""
    return next(name for name in fields if name.endswith("-role")).removesuffix("role")


def _disable(fields: dict[str, list[str]]) -> None:
    fields.pop("is_active")


def _change_role(fields: dict[str, list[str]]) -> None:
    fields[_role_row(fields) + "role"] = [StationRole.Role.ESCORT_OFFICER]


def _remove_role(fields: dict[str, list[str]]) -> None:
    fields[_role_row(fields) + "DELETE"] = ["on"]


def _move_role(station_pk: int):
    def edit(fields: dict[str, list[str]]) -> None:
        fields[_role_row(fields) + "station"] = [str(station_pk)]

    return edit


@pytest.fixture
def admin(client_for) -> Client:
    return client_for(UserFactory(username="platform-admin", is_staff=True, is_superuser=True))


@pytest.mark.parametrize("change", ["disabled", "role changed", "role removed", "role moved"])
def test_taking_powers_away_in_the_admin_signs_the_person_out_everywhere(
    debra, pingla, admin, client_for, change
):
    officer = StationRoleFactory(station=debra, role=StationRole.Role.DUTY_OFFICER).user
    desk, phone = client_for(officer), client_for(officer)
    for browser in (desk, phone):
        assert browser.get("/station/debra/escorts/teams/").status_code == 200
    edit = {
        "disabled": _disable,
        "role changed": _change_role,
        "role removed": _remove_role,
        "role moved": _move_role(pingla.pk),
    }[change]
    _change(admin, officer.pk, edit)
    for browser in (desk, phone):
        response = browser.get("/station/debra/escorts/teams/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_saving_without_taking_powers_away_keeps_the_person_signed_in(debra, admin, client_for):
    officer = StationRoleFactory(station=debra, role=StationRole.Role.DUTY_OFFICER).user
    desk = client_for(officer)

    def rename(fields: dict[str, list[str]]) -> None:
        fields["first_name"] = ["Renamed"]

    _change(admin, officer.pk, rename)
    assert desk.get("/station/debra/escorts/teams/").status_code == 200


def test_removing_an_sdpo_post_in_the_admin_signs_them_out(debra, admin, client_for):
    sdpo = SubdivisionRoleFactory(subdivision=debra.subdivision).user
    office = client_for(sdpo)
    assert office.get("/sdpo/").status_code == 200

    def remove_post(fields: dict[str, list[str]]) -> None:
        prefix = next(name for name in fields if name.endswith("-subdivision"))
        fields[prefix.removesuffix("subdivision") + "DELETE"] = ["on"]

    _change(admin, sdpo.pk, remove_post)
    response = office.get("/sdpo/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_taking_staff_status_away_in_the_admin_signs_the_admin_out(admin, client_for):
    colleague = UserFactory(username="second-admin", is_staff=True, is_superuser=True)
    browser = client_for(colleague)
    assert browser.get("/admin/").status_code == 200

    def demote(fields: dict[str, list[str]]) -> None:
        fields.pop("is_staff")
        fields.pop("is_superuser")

    _change(admin, colleague.pk, demote)
    response = browser.get("/admin/")
    assert response.status_code == 302 and "login" in response["Location"]
    assert "_auth_user_id" not in browser.session


def test_a_user_is_disabled_in_the_admin_never_deleted(debra, admin):
    # The stations' records keep the ids of who did what, with no constraint across schemas to
    # stop a deletion (stations.schemas).
    officer = StationRoleFactory(station=debra, role=StationRole.Role.DUTY_OFFICER).user
    page = admin.get(f"/admin/stations/user/{officer.pk}/change/").content.decode()
    assert f"/admin/stations/user/{officer.pk}/delete/" not in page
    assert admin.get(f"/admin/stations/user/{officer.pk}/delete/").status_code == 403
    changelist = admin.get("/admin/stations/user/").content.decode()
    assert "delete_selected" not in changelist
    officer.refresh_from_db()
