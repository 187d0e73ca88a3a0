"""The lender pages, from the outside: what each kind of user may reach."""

from __future__ import annotations

import datetime
import io
import re

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context
from PIL import Image

from lenders.forms import MAX_PHOTO_BYTES
from lenders.models import BranchMember, CollectionArea, FieldAgent, LenderBranch, RosterEntry
from lenders.tests.factories import (
    AgentFactory,
    AreaFactory,
    BranchFactory,
    EntryFactory,
    MemberFactory,
)
from stations.models import StationDayRecount, StationRole, User
from stations.tests.factories import StationRoleFactory, UserFactory

pytestmark = pytest.mark.django_db

IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
MORNING = datetime.datetime(2026, 12, 1, 7, 0, tzinfo=IST)


@pytest.fixture
def clock():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


SIGNUP = {
    "first_name": "Rekha Das",
    "username": "rekha",
    "phone": "98300 12345",
    "email": "rekha@example.org",
    "password1": "a-Strong-pass-77",
    "password2": "a-Strong-pass-77",
}


def test_a_manager_signs_up_registers_a_branch_and_sees_it_pending(client, debra):
    response = client.post("/lenders/signup/", SIGNUP)
    assert response.status_code == 302
    station_id = debra.pk
    response = client.post(
        "/lenders/register/",
        {
            "station": station_id,
            "lender_name": "Arohan",
            "kind": "mfi",
            "branch_name": "Debra",
            "address": "NH 6, Debra",
            "registration_number": "N-05.00123",
            "manager_name": "Rekha Das",
            "manager_phone": "98300 12345",
        },
    )
    assert response.status_code == 302
    assert StationRole.objects.get(user__username="rekha", station=debra).role == "lender"
    with tenant_context(debra):
        branch = LenderBranch.objects.get(lender_name="Arohan")
        assert branch.status == "pending"
    page = client.get(f"/station/debra/lenders/branch/{branch.pk}/").content.decode()
    assert "waiting for the police station" in page


def test_a_manager_who_signs_up_in_bengali_keeps_bengali(client, debra):
    client.cookies["django_language"] = "bn"
    response = client.post("/lenders/signup/", SIGNUP, follow=True)
    assert response.status_code == 200
    assert User.objects.get(username="rekha").language == "bn"
    assert "শাখা নথিভুক্ত করুন" in response.content.decode()


def test_the_signup_form_speaks_bengali_in_its_help_and_errors(client, debra):
    client.cookies["django_language"] = "bn"
    response = client.post(
        "/lenders/signup/", SIGNUP | {"username": "rekha das", "password2": "something-else-9"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    for english in (
        "150 characters or fewer",
        "at least 10 characters",
        "commonly used password",
        "entirely numeric",
        "too similar",
        "password fields didn",
        "Enter the same password",
        "Enter a valid username",
    ):
        assert english not in page


def test_a_registration_sent_again_with_the_back_button_makes_no_second_branch(client_for, debra):
    client = client_for(UserFactory(first_name="Rekha Das", phone="+919830012345"))
    form = {
        "station": debra.pk,
        "lender_name": "Arohan",
        "kind": "mfi",
        "branch_name": "Debra",
        "address": "NH 6, Debra",
    }
    assert client.post("/lenders/register/", form).status_code == 302
    again = client.post("/lenders/register/", form | {"lender_name": "AROHAN "})
    assert again.status_code == 200
    assert "already registered this branch" in again.content.decode()
    with tenant_context(debra):
        assert LenderBranch.objects.filter(lender_name__iexact="arohan").count() == 1


def test_registration_keeps_what_was_typed_when_a_field_is_wrong(client_for, debra):
    response = client_for(UserFactory()).post(
        "/lenders/register/",
        {"station": debra.pk, "lender_name": "Arohan", "kind": "mfi", "manager_phone": "12"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert 'value="Arohan"' in page
    assert "This field is required" in page


def test_a_duty_officer_approves_a_pending_branch(in_debra, client_for):
    branch = BranchFactory(status=LenderBranch.Status.PENDING)
    officer = StationRoleFactory(station=in_debra, role="duty").user
    client = client_for(officer)
    listing = client.get("/station/debra/lenders/registrations/?status=pending")
    assert branch.lender_name in listing.content.decode()
    response = client.post(
        f"/station/debra/lenders/registrations/{branch.pk}/", {"action": "approve"}, follow=True
    )
    # Back on the list, where the next registration waiting comes first, told what happened.
    assert response.redirect_chain == [("/station/debra/lenders/registrations/", 302)]
    assert [str(m) for m in response.context["messages"]] == [
        f"{branch} is approved and can file rosters; its manager is told."
    ]
    branch.refresh_from_db()
    assert branch.status == "approved"
    assert branch.decided_by == officer
    decided = timezone.localtime(branch.decided_at)
    page = client.get(f"/station/debra/lenders/registrations/{branch.pk}/").content.decode()
    assert f"{decided:%a %d %b %Y %H:%M}" in page  # the portal's one date format


def test_deciding_a_registration_from_a_searched_list_comes_back_to_that_list(in_debra, client_for):
    pending = [
        BranchFactory(lender_name=f"Arohan {n}", status=LenderBranch.Status.PENDING)
        for n in range(2)
    ]
    officer = StationRoleFactory(station=in_debra, role="duty").user
    client = client_for(officer)
    listing = client.get("/station/debra/lenders/registrations/?q=Arohan&status=pending&page=1")
    # The branch's link carries the list's query, and the branch page's form posts to it.
    link = re.search(
        rf'href="(/station/debra/lenders/registrations/{pending[0].pk}/\?[^"]+)"',
        listing.content.decode(),
    )
    assert link is not None
    detail = link.group(1).replace("&amp;", "&")
    back = "/station/debra/lenders/registrations/?q=Arohan&status=pending&page=1"
    assert f'href="{back.replace("&", "&amp;")}"' in client.get(detail).content.decode()
    response = client.post(detail, {"action": "approve"}, follow=True)
    assert response.redirect_chain == [(back, 302)]
    page = response.content.decode()
    assert 'value="Arohan"' in page and pending[1].lender_name in page
    response = client.post(
        detail.replace(f"/{pending[0].pk}/", f"/{pending[1].pk}/"),
        {"action": "reject", "reason": "No such branch"},
    )
    assert response.url == back


def test_a_branch_page_goes_back_to_nothing_but_the_registrations_list(in_debra, client_for):
    branch = BranchFactory(status=LenderBranch.Status.PENDING)
    client = client_for(StationRoleFactory(station=in_debra, role="duty").user)
    response = client.post(
        f"/station/debra/lenders/registrations/{branch.pk}/"
        "?list=//evil.example/%3Fq%3Dx%26next%3Dhttps://evil.example/%26status%3Dpending",
        {"action": "approve"},
    )
    assert response.url == "/station/debra/lenders/registrations/?status=pending"


def test_a_bengali_officer_reads_each_branchs_agent_count_in_bengali_digits(in_debra, client_for):
    branch = BranchFactory(status=LenderBranch.Status.PENDING)
    for _ in range(3):
        AgentFactory(branch=branch)
    officer = StationRoleFactory(station=in_debra, role="duty").user
    officer.language = "bn"
    officer.save()
    page = client_for(officer).get("/station/debra/lenders/registrations/").content.decode()
    assert "<td>৩</td>" in page and "<td>3</td>" not in page


def test_branches_waiting_for_approval_come_first_on_the_registrations_list(in_debra, client_for):
    for n in range(26):
        BranchFactory(lender_name=f"Approved Lender {n:02}", status=LenderBranch.Status.APPROVED)
    waiting = BranchFactory(lender_name="Zeta Finance", status=LenderBranch.Status.PENDING)
    officer = StationRoleFactory(station=in_debra, role="duty").user
    page = client_for(officer).get("/station/debra/lenders/registrations/").content.decode()
    assert waiting.lender_name in page
    assert page.index(waiting.lender_name) < page.index("Approved Lender 00")


def test_a_suspension_is_told_in_words_on_the_branchs_page_in_the_officers_language(
    in_debra, client_for
):
    branch = BranchFactory(status=LenderBranch.Status.APPROVED)
    officer = StationRoleFactory(station=in_debra, role="duty").user
    officer.language = "bn"
    officer.save()
    response = client_for(officer).post(
        f"/station/debra/lenders/registrations/{branch.pk}/",
        {"action": "suspend", "reason": "Roster left blank for a week"},
        follow=True,
    )
    assert response.redirect_chain == [(f"/station/debra/lenders/registrations/{branch.pk}/", 302)]
    assert [str(m) for m in response.context["messages"]] == [
        f"{branch} স্থগিত হল: শাখাটি শুধু নিজের পুরনো তথ্য দেখতে পারবে, আর কিছু নয়।"
    ]


def test_rejecting_without_a_reason_is_refused_with_a_message(in_debra, client_for):
    branch = BranchFactory(status=LenderBranch.Status.PENDING)
    client = client_for(StationRoleFactory(station=in_debra, role="duty").user)
    response = client.post(
        f"/station/debra/lenders/registrations/{branch.pk}/", {"action": "reject", "reason": ""}
    )
    assert "Say why" in response.content.decode()
    branch.refresh_from_db()
    assert branch.status == "pending"


def test_lenders_cannot_open_the_officers_pages(in_debra, client_for):
    client = client_for(MemberFactory(branch=BranchFactory()).user)
    assert client.get("/station/debra/lenders/registrations/").status_code == 404
    assert client.get("/station/debra/lenders/areas/").status_code == 404


def test_a_branch_member_cannot_reach_another_branchs_pages(in_debra, client_for):
    mine, theirs = BranchFactory(), BranchFactory()
    entry = EntryFactory(roster__branch=theirs)
    agent = AgentFactory(branch=theirs)
    client = client_for(MemberFactory(branch=mine).user)
    assert client.get(f"/station/debra/lenders/branch/{mine.pk}/").status_code == 200
    for url in [
        f"/station/debra/lenders/branch/{theirs.pk}/",
        f"/station/debra/lenders/branch/{theirs.pk}/agents/",
        f"/station/debra/lenders/branch/{theirs.pk}/agents/{agent.pk}/",
        f"/station/debra/lenders/branch/{mine.pk}/entry/{entry.pk}/",
        f"/station/debra/lenders/branch/{theirs.pk}/entry/{entry.pk}/",
        f"/station/debra/lenders/branch/{theirs.pk}/roster/{entry.roster.date}/",
    ]:
        assert client.get(url).status_code == 404, url
    assert (
        client.post(f"/station/debra/lenders/branch/{mine.pk}/entry/{entry.pk}/delete/").status_code
        == 404
    )
    assert RosterEntry.objects.filter(pk=entry.pk).exists()


def test_a_debra_branch_member_gets_404_at_pingla(in_debra, pingla, client_for):
    member = MemberFactory(branch=BranchFactory())
    branch_pk = member.branch.pk
    client = client_for(member.user)
    assert client.get(f"/station/pingla/lenders/branch/{branch_pk}/").status_code == 404
    assert client.get("/station/pingla/lenders/branches/").status_code == 404


def test_a_manager_adds_an_agent_and_a_bad_phone_is_explained(in_debra, client_for):
    member = MemberFactory(branch=BranchFactory())
    client = client_for(member.user)
    url = f"/station/debra/lenders/branch/{member.branch.pk}/agents/new/"
    bad = client.post(url, {"name": "Tapas Jana", "employee_id": "A1", "phone": "033 2222 1111"})
    assert "mobile number" in bad.content.decode()
    assert 'value="Tapas Jana"' in bad.content.decode()
    good = client.post(url, {"name": "Tapas Jana", "employee_id": "A1", "phone": "9830012345"})
    assert good.status_code == 302
    assert FieldAgent.objects.get(employee_id="A1").phone.as_e164 == "+919830012345"


def test_a_branch_login_gets_the_password_checks_of_the_sign_up_page(in_debra, client_for):
    member = MemberFactory(branch=BranchFactory())
    url = f"/station/debra/lenders/branch/{member.branch.pk}/staff/"
    fields = {"username": "rina", "first_name": "Rina", "language": "en", "agent": ""}
    weak = client_for(member.user).post(url, {**fields, "password": "12345678"})
    assert weak.status_code == 200
    assert "entirely numeric" in weak.content.decode()
    assert not BranchMember.objects.filter(user__username="rina").exists()
    good = client_for(member.user).post(url, {**fields, "password": "kharagpur-rain-42"})
    assert good.status_code == 302


def test_an_agents_photo_larger_than_a_phones_is_refused(in_debra, client_for, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    member = MemberFactory(branch=BranchFactory())
    url = f"/station/debra/lenders/branch/{member.branch.pk}/agents/new/"
    image = io.BytesIO()
    Image.new("RGB", (10, 10)).save(image, "PNG")
    # A real image's header, then anything: Pillow's check passes it.
    padded = image.getvalue() + b"\0" * MAX_PHOTO_BYTES
    fields = {"name": "Tapas Jana", "employee_id": "A1", "phone": "9830012345"}
    big = client_for(member.user).post(
        url, {**fields, "photo": SimpleUploadedFile("a.png", padded, "image/png")}
    )
    assert big.status_code == 200
    assert "The photo is larger than 5 MB." in big.content.decode()
    assert not FieldAgent.objects.filter(employee_id="A1").exists()
    assert not list(tmp_path.rglob("*.png"))
    small = client_for(member.user).post(
        url, {**fields, "photo": SimpleUploadedFile("a.png", image.getvalue(), "image/png")}
    )
    assert small.status_code == 302


def test_a_replaced_or_cleared_agents_photo_leaves_the_disk(
    in_debra, client_for, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    member = MemberFactory(branch=BranchFactory())
    client = client_for(member.user)
    agents = f"/station/debra/lenders/branch/{member.branch.pk}/agents/"
    image = io.BytesIO()
    Image.new("RGB", (10, 10)).save(image, "PNG")
    fields = {"name": "Tapas Jana", "employee_id": "A1", "phone": "9830012345"}

    def photo(name: str) -> SimpleUploadedFile:
        return SimpleUploadedFile(name, image.getvalue(), "image/png")

    with django_capture_on_commit_callbacks(execute=True):
        client.post(agents + "new/", {**fields, "photo": photo("first.png")})
    agent = FieldAgent.objects.get(employee_id="A1")
    edit = f"{agents}{agent.pk}/"
    assert [path.name for path in tmp_path.rglob("*.png")] == ["first.png"]
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(edit, {**fields, "photo": photo("second.png")}).status_code == 302
    assert [path.name for path in tmp_path.rglob("*.png")] == ["second.png"]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(edit, {**fields, "name": "Tapas K. Jana"})  # no new photo: it stays
    assert [path.name for path in tmp_path.rglob("*.png")] == ["second.png"]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(edit, {**fields, "photo-clear": "on"})
    assert not list(tmp_path.rglob("*.png"))
    agent.refresh_from_db()
    assert not agent.photo


def test_deactivating_an_agent_keeps_their_history(in_debra, client_for):
    member = MemberFactory(branch=BranchFactory())
    entry = EntryFactory(roster__branch=member.branch)
    client = client_for(member.user)
    url = f"/station/debra/lenders/branch/{member.branch.pk}/agents/{entry.agent.pk}/toggle/"
    client.post(url, {"active": "0"})
    entry.agent.refresh_from_db()
    assert not entry.agent.active
    assert RosterEntry.objects.filter(pk=entry.pk).exists()


def test_deactivating_an_agent_asks_first_and_a_double_tap_does_not_undo_it(in_debra, client_for):
    member = MemberFactory(branch=BranchFactory())
    agent = AgentFactory(branch=member.branch, name="Tapas Jana")
    client = client_for(member.user)
    branch_url = f"/station/debra/lenders/branch/{member.branch.pk}"
    listing = client.get(f"{branch_url}/agents/").content.decode()
    assert f'href="{branch_url}/agents/{agent.pk}/toggle/"' in listing
    question = client.get(f"{branch_url}/agents/{agent.pk}/toggle/")
    agent.refresh_from_db()
    assert agent.active
    assert "Deactivate Tapas Jana?" in question.content.decode()
    client.post(f"{branch_url}/agents/{agent.pk}/toggle/", {"active": "0"})
    client.post(f"{branch_url}/agents/{agent.pk}/toggle/", {"active": "0"})
    agent.refresh_from_db()
    assert not agent.active


def test_office_staff_of_a_branch_neither_see_nor_manage_its_people_or_keys(in_debra, client_for):
    member = MemberFactory(branch=BranchFactory(), role=BranchMember.Role.STAFF)
    client = client_for(member.user)
    branch = f"/station/debra/lenders/branch/{member.branch.pk}"
    for page in ("agents/", "agents/new/", "staff/", "api-keys/"):
        assert client.get(f"{branch}/{page}").status_code == 403, page
    assert client.get(f"{branch}/").status_code == 200


def test_a_manager_files_tomorrows_roster_from_the_form(in_debra, client_for, clock):
    member = MemberFactory(branch=BranchFactory())
    agent, area = AgentFactory(branch=member.branch), AreaFactory()
    client = client_for(member.user)
    tomorrow = "2026-12-02"
    url = f"/station/debra/lenders/branch/{member.branch.pk}/roster/{tomorrow}/add/"
    form = {
        "agent": agent.pk,
        "area": area.pk,
        "depart_at": "10:00",
        "return_at": "09:00",
        "cash_band": "lt50k",
        "vehicle_registration": "wb 34  a 1234",
    }
    bad = client.post(url, form)
    assert "Return must be after departure" in bad.content.decode()
    assert 'value="wb 34  a 1234"' in bad.content.decode()
    response = client.post(url, {**form, "return_at": "12:00"})
    assert response.status_code == 302
    entry = RosterEntry.objects.get(agent=agent)
    assert entry.roster.status == "filed"
    assert entry.vehicle_registration == "WB 34 A 1234"


def test_the_cash_band_is_a_choice_the_branch_must_make(in_debra, client_for, clock):
    member = MemberFactory(branch=BranchFactory())
    agent, area = AgentFactory(branch=member.branch), AreaFactory()
    client = client_for(member.user)
    url = f"/station/debra/lenders/branch/{member.branch.pk}/roster/2026-12-02/add/"
    page = client.get(url).content.decode()
    assert '<option value="" selected>Choose the cash band</option>' in page
    form = {"agent": agent.pk, "area": area.pk, "depart_at": "10:00", "return_at": "12:00"}
    response = client.post(url, form)
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert not RosterEntry.objects.filter(agent=agent).exists()


def test_an_entry_without_a_band_and_with_its_hours_reversed_is_told_both_at_once(
    in_debra, client_for, clock
):
    member = MemberFactory(branch=BranchFactory())
    agent, area = AgentFactory(branch=member.branch), AreaFactory()
    client = client_for(member.user)
    url = f"/station/debra/lenders/branch/{member.branch.pk}/roster/2026-12-02/add/"
    form = {"agent": agent.pk, "area": area.pk, "depart_at": "12:00", "return_at": "10:00"}
    page = client.post(url, form).content.decode()
    assert "This field is required." in page
    assert "Return must be after departure, on the same day." in page
    assert page.count("Return must be after departure") == 1
    assert not RosterEntry.objects.filter(agent=agent).exists()


def test_the_roster_page_says_it_is_locked_after_cut_off(in_debra, client_for, clock):
    member = MemberFactory(branch=BranchFactory())
    client = client_for(member.user)
    clock.move_to(MORNING.replace(hour=8, minute=45))
    page = client.get(
        f"/station/debra/lenders/branch/{member.branch.pk}/roster/2026-12-01/"
    ).content.decode()
    assert "Locked at the 08:30 cut-off" in page
    assert "Add entry" not in page


def test_an_officer_accepts_a_proposed_area(in_debra, client_for):
    branch = BranchFactory()
    member = MemberFactory(branch=branch)
    client_for(member.user).post(
        f"/station/debra/lenders/branch/{branch.pk}/areas/propose/", {"name": "Kalmijol"}
    )
    area = CollectionArea.objects.get(name="Kalmijol")
    assert area.status == "proposed"
    officer = client_for(StationRoleFactory(station=in_debra, role="duty").user)
    officer.post(f"/station/debra/lenders/areas/{area.pk}/decide/", {"action": "accept"})
    area.refresh_from_db()
    assert area.status == "active"


@pytest.mark.parametrize("typed", ["radhamohanpur", "রাধামোহনপুর"])
def test_proposing_an_area_the_station_has_points_to_it(in_debra, client_for, typed):
    AreaFactory(name="Radhamohanpur", name_bn="রাধামোহনপুর")
    member = MemberFactory(branch=BranchFactory())
    url = f"/station/debra/lenders/branch/{member.branch.pk}/areas/propose/"
    client = client_for(member.user)
    response = client.post(url, {"name": typed})
    assert response.status_code == 200
    assert "already has this area: choose “Radhamohanpur”" in response.content.decode()
    assert client.post(url, {"name": "Kalmijol"}).status_code == 302
    again = client.post(url, {"name": "KALMIJOL"})
    assert "You have proposed this area already." in again.content.decode()
    assert CollectionArea.objects.filter(status="proposed").count() == 1


def test_an_officer_merges_a_proposed_area_into_an_existing_one(in_debra, client_for):
    existing = AreaFactory(name="Debra Bazar")
    proposed = AreaFactory(name="Debra Market", status="proposed")
    officer = client_for(StationRoleFactory(station=in_debra, role="duty").user)
    officer.post(
        f"/station/debra/lenders/areas/{proposed.pk}/decide/",
        {"action": "merge", "into": existing.pk},
    )
    proposed.refresh_from_db()
    assert proposed.status == "merged"
    assert proposed.merged_into == existing
    assert connection.schema_name == "debra"


def test_a_merge_names_no_area_until_the_officer_chooses_one(in_debra, client_for):
    """Merging cannot be undone: the list's first area must not be the target of a tap on
    Merge made without choosing."""
    AreaFactory(name="Debra Bazar")
    proposed = AreaFactory(name="Debra Market", status="proposed")
    officer = client_for(StationRoleFactory(station=in_debra, role="duty").user)
    page = officer.get("/station/debra/lenders/areas/").content.decode()
    select = re.search(r'<select[^>]*name="into"[^>]*>(.*?)</select>', page, re.S)
    assert select and "required" in select.group(0)
    assert re.match(r'<option value="" selected>', select.group(1))
    answer = officer.post(
        f"/station/debra/lenders/areas/{proposed.pk}/decide/",
        {"action": "merge", "into": ""},
        follow=True,
    )
    assert "Choose an active area to merge into." in answer.content.decode()
    proposed.refresh_from_db()
    assert proposed.status == "proposed"


def test_filing_an_entry_leaves_the_dashboards_recount_to_the_minute_job(
    in_debra,
    client_for,
    clock,
    no_marks,
    django_assert_max_num_queries,
    django_capture_on_commit_callbacks,
):
    member = MemberFactory(branch=BranchFactory())
    first, second = AgentFactory(branch=member.branch), AgentFactory(branch=member.branch)
    area = AreaFactory()
    client = client_for(member.user)
    url = f"/station/debra/lenders/branch/{member.branch.pk}/roster/2026-12-01/add/"
    form = {
        "area": area.pk,
        "depart_at": "09:00",
        "return_at": "12:00",
        "cash_band": "lt50k",
    }
    client.get(url)  # the lender opens the form first, as in the browser
    # At most 15 a POST (36 with the recount in the request). Each count here has 2 queries
    # of the test's own transaction (the savepoint and release that stand for BEGIN and
    # COMMIT). The first entry of a day also creates the roster, filed as it is made.
    with (
        django_assert_max_num_queries(17) as captured,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert client.post(url, form | {"agent": first.pk}).status_code == 302
    with (
        django_assert_max_num_queries(15) as next_one,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert client.post(url, form | {"agent": second.pk}).status_code == 302
    for queries in (captured, next_one):
        assert not any('"stations_stationday"' in query["sql"] for query in queries)
        assert not any("django_session" in q["sql"] and "UPDATE" in q["sql"] for q in queries)
    assert StationDayRecount.objects.filter(station=in_debra).count() == 1
    assert member.branch.rosters.get().entries.count() == 2


def test_copying_the_last_roster_says_what_happened_to_every_trip(in_debra, client_for, clock):
    member = MemberFactory(branch=BranchFactory())
    branch = member.branch
    area = AreaFactory(name="Malancha")
    earlier = datetime.date(2026, 11, 30)
    names = ["Arup Bag", "Mita Giri", "Sona Pal"]
    for name, start in zip(names, [9, 11, 13], strict=True):
        EntryFactory(
            roster__branch=branch,
            roster__date=earlier,
            agent=AgentFactory(branch=branch, name=name),
            area=area,
            depart_at=datetime.time(start),
            return_at=datetime.time(start + 1),
        )
    FieldAgent.objects.filter(name="Sona Pal").update(active=False)
    client = client_for(member.user)
    url = f"/station/debra/lenders/branch/{branch.pk}/roster/2026-12-02/copy/"
    page = client.post(url, follow=True).content.decode()
    assert "2 of the 3 trips of Mon 30 Nov 2026 copied." in page
    assert "Copied: Arup Bag · Malancha · 09:00-10:00; Mita Giri · Malancha · 11:00-12:00" in page
    assert "Not copied: Sona Pal · Malancha · 13:00-14:00: Choose an active field agent" in page
    # Copied again, the trips clash with their copies: a Bengali reader reads every time of it
    # in Bengali digits.
    member.user.language = "bn"
    member.user.save()
    page = client.post(url, follow=True).content.decode()
    assert (
        "কপি হয়নি: Arup Bag · Malancha · ০৯:০০-১০:০০: "  # noqa: RUF001
        "Arup Bag অন্য একটি এন্ট্রিতে ০৯:০০-১০:০০ বাইরে আছেন।"  # noqa: RUF001
    ) in page


def test_a_new_branchs_home_walks_it_through_agents_then_a_roster(in_debra, client_for, clock):
    member = MemberFactory(branch=BranchFactory())
    client = client_for(member.user)
    home = f"/station/debra/lenders/branch/{member.branch.pk}/"
    page = client.get(home).content.decode()
    assert "First steps" in page and "Add your field agents first" in page
    assert "Add entry" not in page and "Copy my last roster" not in page
    agent = AgentFactory(branch=member.branch)
    page = client.get(home).content.decode()
    assert "First steps" in page and "<s>Add your field agents</s>" in page
    assert "Add entry" in page and "Copy my last roster" in page
    EntryFactory(roster__branch=member.branch, agent=agent)
    assert "First steps" not in client.get(home).content.decode()


@pytest.mark.parametrize("role", ["staff", "manager"])
def test_a_new_branchs_first_steps_link_to_the_agents_only_for_who_may_add_them(
    in_debra, client_for, clock, role
):
    member = MemberFactory(branch=BranchFactory(), role=role)
    agents = f"/station/debra/lenders/branch/{member.branch.pk}/agents/"
    client = client_for(member.user)
    for page in (
        f"/station/debra/lenders/branch/{member.branch.pk}/",
        f"/station/debra/lenders/branch/{member.branch.pk}/roster/{MORNING.date()}/",
    ):
        text = client.get(page).content.decode()
        assert (f'href="{agents}"' in text) == (role == "manager"), page
        assert ("Your branch manager adds the field agents." in text) == (role == "staff"), page


def test_a_rejected_branchs_page_walks_it_through_no_first_steps(in_debra, client_for, clock):
    member = MemberFactory(branch=BranchFactory(status="rejected", decision_reason="Wrong RBI no."))
    page = client_for(member.user).get(f"/station/debra/lenders/branch/{member.branch.pk}/")
    assert "First steps" not in page.content.decode()


def test_a_branchs_home_says_how_long_filing_stays_open_in_the_readers_digits(
    in_debra, client_for, clock
):
    member = MemberFactory(branch=BranchFactory())
    AgentFactory(branch=member.branch)
    client = client_for(member.user)
    home = f"/station/debra/lenders/branch/{member.branch.pk}/"
    english = re.search(r"\((\d+) h (\d+) min left\)", client.get(home).content.decode())
    assert english is not None
    member.user.language = "bn"
    member.user.save()
    bengali = re.search(r"\((\S+) ঘণ্টা (\S+) মিনিট বাকি\)", client.get(home).content.decode())
    assert bengali is not None
    assert bengali.groups() == tuple(
        number.translate(str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")) for number in english.groups()
    )


@pytest.mark.parametrize("language", ["en", "bn"])
def test_taking_an_entry_off_asks_about_its_trip_in_the_readers_digits(
    in_debra, client_for, clock, language
):
    trip = "10:00-13:00"
    if language == "bn":
        trip = trip.translate(str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯"))
    member = MemberFactory(branch=BranchFactory())
    member.user.language = language
    member.user.save()
    entry = EntryFactory(roster__branch=member.branch, roster__date=MORNING.date())
    page = client_for(member.user).get(
        f"/station/debra/lenders/branch/{member.branch.pk}/entry/{entry.pk}/delete/"
    )
    assert f"{entry.agent.name} · {entry.area.display_name} · {trip}" in page.content.decode()


def test_registration_takes_the_managers_name_and_phone_from_the_account(client_for, debra):
    manager = UserFactory(first_name="Rekha Das", phone="+919830012345")
    client = client_for(manager)
    form = client.get("/lenders/register/").content.decode()
    assert 'name="manager_phone"' not in form and 'name="manager_name"' not in form
    response = client.post(
        "/lenders/register/",
        {
            "station": debra.pk,
            "lender_name": "Arohan",
            "kind": "mfi",
            "branch_name": "Debra",
            "address": "NH 6, Debra",
            "registration_number": "N-05.00123",
        },
    )
    assert response.status_code == 302
    with tenant_context(debra):
        branch = LenderBranch.objects.get(lender_name="Arohan")
    assert (branch.manager_name, str(branch.manager_phone)) == ("Rekha Das", "+919830012345")


@pytest.mark.parametrize(
    ("language", "shown"), [("en", "Wed 02 Dec 2026"), ("bn", "বুধ ০২ ডিসে. ২০২৬")]
)
def test_a_roster_day_shows_its_date_in_the_one_portal_format(
    in_debra, client_for, clock, language, shown
):
    member = MemberFactory(branch=BranchFactory(), user=UserFactory(language=language))
    client = client_for(member.user)
    branch_url = f"/station/debra/lenders/branch/{member.branch.pk}"
    day = client.get(f"{branch_url}/roster/2026-12-02/").content.decode()
    assert day.count(shown) >= 3  # title, breadcrumb and heading
    assert "02-12-2026" not in day
    # Addresses keep their ASCII digits in either language.
    assert "/roster/2026-12-02/" in day
    home = client.get(f"{branch_url}/").content.decode()
    assert shown in home


def test_a_long_centre_name_wraps_instead_of_widening_the_phone_page(in_debra, client_for, clock):
    # Group names typed as one long word ("Golgram-1,Golgram-2,...") have no place to break.
    entry = EntryFactory(centres="Golgram-1,Golgram-2,Golgram-3,Golgram-4,Golgram-5,Golgram-6")
    member = MemberFactory(branch=entry.roster.branch)
    base = f"/station/debra/lenders/branch/{member.branch.pk}/roster/{entry.roster.date}"
    client = client_for(member.user)
    for page in (f"{base}/", f"{base}/upload/"):
        html = client.get(page).content.decode()
        item = re.search(
            r'<(?:div|li) class="list-group-item[^"]*">(?:(?!</li>).)*Golgram-6', html, re.S
        )
        assert item is not None and "text-break" in item.group(0), page


@pytest.mark.parametrize("employee_id", ["E-17", "e-17"])
def test_a_second_agent_with_the_same_employee_id_is_refused_in_plain_words(
    in_debra, client_for, employee_id
):
    agent = AgentFactory(employee_id="E-17")
    manager = MemberFactory(branch=agent.branch).user
    response = client_for(manager).post(
        f"/station/debra/lenders/branch/{agent.branch.pk}/agents/new/",
        {"name": "Bikash Jana", "employee_id": employee_id, "phone": "98765 43210"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "employee_id": ["Another agent of this branch has this employee id."]
    }
    assert FieldAgent.objects.filter(branch=agent.branch).count() == 1


def test_after_cut_off_the_entry_form_says_the_roster_is_locked_instead_of_asking(
    in_debra, client_for, clock
):
    entry = EntryFactory(roster__date=MORNING.date())
    member = MemberFactory(branch=entry.roster.branch)
    base = f"/station/debra/lenders/branch/{member.branch.pk}"
    client = client_for(member.user)
    clock.move_to(MORNING.replace(hour=8, minute=45))
    for url in (f"{base}/roster/{MORNING.date()}/add/", f"{base}/entry/{entry.pk}/"):
        page = client.get(url).content.decode()
        assert "can no longer be changed here" in page, url
        assert 'name="depart_at"' not in page, url
    # A form sent past the cut-off (filled in before it) comes back with what was typed.
    sent = client.post(f"{base}/entry/{entry.pk}/", {"centres": "Golgram 2"}).content.decode()
    assert 'value="Golgram 2"' in sent


def test_after_cut_off_removing_an_entry_says_the_roster_is_locked_instead_of_asking(
    in_debra, client_for, clock
):
    entry = EntryFactory(roster__date=MORNING.date())
    member = MemberFactory(branch=entry.roster.branch)
    client = client_for(member.user)
    clock.move_to(MORNING.replace(hour=8, minute=45))
    url = f"/station/debra/lenders/branch/{member.branch.pk}/entry/{entry.pk}/delete/"
    page = client.get(url).content.decode()
    assert "can no longer be changed here" in page
    assert "Yes, remove it" not in page


def test_changing_a_trip_of_an_agent_since_deactivated_names_them_and_says_why(
    in_debra, client_for, clock
):
    entry = EntryFactory(roster__date=MORNING.date(), agent__name="Mampi Giri")
    member = MemberFactory(branch=entry.roster.branch)
    entry.agent.active = False
    entry.agent.save()
    url = f"/station/debra/lenders/branch/{member.branch.pk}/entry/{entry.pk}/"
    client = client_for(member.user)
    form = client.get(url).context["form"]
    assert form["agent"].value() == entry.agent.pk
    assert entry.agent in form.fields["agent"].queryset
    sent = client.post(
        url,
        {
            "agent": entry.agent.pk,
            "area": entry.area.pk,
            "depart_at": "10:00",
            "return_at": "12:00",
            "cash_band": "lt50k",
        },
    )
    assert sent.context["form"].errors == {
        "agent": ["Choose an active field agent of this branch."]
    }


def test_the_roster_marks_a_trip_whose_agent_was_deactivated_since(in_debra, client_for, clock):
    entry = EntryFactory(roster__date=MORNING.date())
    member = MemberFactory(branch=entry.roster.branch)
    url = f"/station/debra/lenders/branch/{member.branch.pk}/roster/{MORNING.date()}/"
    client = client_for(member.user)
    assert ">inactive</span>" not in client.get(url).content.decode()
    entry.agent.active = False
    entry.agent.save()
    assert ">inactive</span>" in client.get(url).content.decode()


def test_a_suspended_branch_finds_its_earlier_rosters_newest_first_a_page_at_a_time(
    in_debra, client_for, clock
):
    member = MemberFactory(branch=BranchFactory(status="suspended", decision_reason="Audit"))
    first = MORNING.date() - datetime.timedelta(days=40)
    for day in range(35):
        EntryFactory(roster__branch=member.branch, roster__date=first + datetime.timedelta(day))
    EntryFactory(roster__date=MORNING.date())  # another branch's
    client = client_for(member.user)
    home = client.get(f"/station/debra/lenders/branch/{member.branch.pk}/").content.decode()
    history = f"/station/debra/lenders/branch/{member.branch.pk}/rosters/"
    assert f'href="{history}"' in home
    page = client.get(history).context["page"]
    assert [roster.date for roster in page] == [
        first + datetime.timedelta(day) for day in range(34, 4, -1)
    ]
    assert page[0].trip_count == 1
    assert [r.date for r in client.get(f"{history}?page=2").context["page"]] == [
        first + datetime.timedelta(day) for day in range(4, -1, -1)
    ]


def test_deactivating_an_agent_shows_the_trips_they_still_have_on_the_rosters(
    in_debra, client_for, clock
):
    entry = EntryFactory(roster__date=datetime.date(2026, 12, 2), depart_at=datetime.time(9, 15))
    EntryFactory(
        roster__branch=entry.roster.branch,
        agent=entry.agent,
        roster__date=MORNING.date() - datetime.timedelta(days=1),
    )
    member = MemberFactory(branch=entry.roster.branch)
    url = f"/station/debra/lenders/branch/{member.branch.pk}/agents/{entry.agent.pk}/toggle/"
    page = client_for(member.user).get(url).content.decode()
    assert "Deactivating does not take the trips off" in page
    assert "Wed 02 Dec 2026</a> · 09:15" in page
    assert "Mon 30 Nov 2026" not in page  # a past roster keeps its entries anyway


@pytest.mark.parametrize(
    ("username", "refused"),
    [
        # A Cyrillic small o (U+043E): looks exactly like the officer's debra-oc.
        ("debra-\u043ec", True),
        ("r\u0435kha", True),  # a Cyrillic small ie for the e
        ("rekha-77", False),
        ("\u0995\u09ae\u09b2", False),  # a name in Bengali letters
        ("\u0995\u09ae\u09b2-\u09ed\u09ed", False),  # with Bengali digits
    ],
)
def test_a_username_may_not_mix_alphabets_that_pass_for_another(client, debra, username, refused):
    client.cookies["django_language"] = "bn"
    response = client.post("/lenders/signup/", SIGNUP | {"username": username})
    assert User.objects.filter(username=username).exists() is not refused
    if refused:
        assert "একটিই বর্ণমালার অক্ষর ব্যবহার করুন" in response.content.decode()


def test_a_rejected_branchs_manager_is_offered_to_register_again_and_its_staff_is_not(
    in_debra, client_for
):
    branch = BranchFactory(status=LenderBranch.Status.REJECTED, decision_reason="Wrong RBI number")
    manager = MemberFactory(branch=branch).user
    office = MemberFactory(branch=branch, role=BranchMember.Role.STAFF).user
    url = f"/station/debra/lenders/branch/{branch.pk}/"
    shown = client_for(manager).get(url).content.decode()
    assert "Wrong RBI number" in shown
    assert 'href="/lenders/register/">Correct the details and register again.</a>' in shown
    assert "register again" not in client_for(office).get(url).content.decode()
