"""The pages: who may see what (outsiders get 404), the sheet, the escort's day, the branch's
view, the printed sheet and the export."""

from __future__ import annotations

import csv
import datetime
import io
import re

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from pypdf import PdfReader

from escort_portal.formats import native_digits
from escorts import services
from escorts import stats as escort_stats
from escorts.models import DutySheet, EscortRun, RunEscalation, build_grace
from escorts.tests.building import build_due
from escorts.tests.conftest import IST, TODAY, entry
from escorts.tests.factories import OfficerFactory, TeamFactory
from lenders import services as lender_services
from lenders.models import CashBand
from lenders.tests.factories import AgentFactory, AreaFactory, BranchFactory, MemberFactory
from notifications.models import Message
from stations.models import Station, StationRole, SubdivisionRole, WorkerHeartbeat
from stations.routing import station_reverse
from stations.tests.factories import StationRoleFactory, SubdivisionRoleFactory, UserFactory

pytestmark = pytest.mark.django_db


def url(name: str, *args) -> str:
    return station_reverse(connection.tenant, name, *args)


@pytest.fixture
def duty(station):
    return StationRoleFactory(station=station, role=StationRole.Role.DUTY_OFFICER).user


@pytest.fixture
def day(station, clock, duty):
    """Two teams; Alpha escorts the first branch's two agents, Bravo the second branch's one."""
    alpha_leader = OfficerFactory(name="Tapas Maity", user=UserFactory(first_name="Tapas"))
    StationRoleFactory(station=station, user=alpha_leader.user, role="escort")
    bravo_leader = OfficerFactory(name="Rina Das", user=UserFactory())
    StationRoleFactory(station=station, user=bravo_leader.user, role="escort")
    alpha = TeamFactory(name="Alpha", leader=alpha_leader, capacity=2)
    bravo = TeamFactory(name="Bravo", leader=bravo_leader, capacity=2)
    ours = BranchFactory(lender_name="Bandhan", branch_name="Debra")
    theirs = BranchFactory(lender_name="Ujjivan", branch_name="Debra")
    village = AreaFactory(name="Malancha")
    other = AreaFactory(name="Radhamohanpur", latitude=22.32, longitude=87.52)
    a = entry(branch=ours, area=village)
    b = entry(branch=ours, area=village, start="10:30", end="11:30")
    c = entry(branch=theirs, area=other, start="11:00", end="12:00")
    sheet = build_due()
    return {
        "sheet": sheet, "alpha": alpha, "bravo": bravo, "ours": ours, "theirs": theirs,
        "a": a, "b": b, "c": c, "alpha_leader": alpha_leader, "bravo_leader": bravo_leader,
    }  # fmt: skip


def _publish(day, duty):
    # Pin the runs to known teams first, so the pages' expectations do not depend on the plan.
    for run in EscortRun.objects.filter(sheet=day["sheet"]):
        wanted = day["alpha"] if run.area.name == "Malancha" else day["bravo"]
        if run.team_id != wanted.pk:
            services.run_change_team(date=TODAY, run=run, team=wanted, by=duty)
    return services.duty_sheet_publish(date=TODAY, by=duty)


def test_the_duty_officer_sees_the_draft_grouped_by_team(day, duty, client_for):
    page = client_for(duty).get(url("escorts:sheet", TODAY)).content.decode()
    assert "Malancha" in page and "Radhamohanpur" in page
    assert "Bandhan, Debra" in page
    assert "Publish" in page


def test_a_bengali_officer_reads_counts_versions_and_run_times_in_bengali_digits(
    day, duty, client_for
):
    duty.language = "bn"
    duty.save()
    client = client_for(duty)
    teams = client.get(url("escorts:team_list")).content.decode()
    assert "<td>২</td>" in teams and "<td>2</td>" not in teams  # the teams' capacity
    versions = client.get(url("escorts:sheet_versions", TODAY)).content.decode()
    assert ">v১</a>" in versions
    assert '<div class="table-responsive">' in versions  # the table scrolls on a phone
    run = EscortRun.objects.filter(sheet=day["sheet"]).order_by("start").first()
    edit = client.get(url("escorts:run_edit", TODAY, run.pk)).content.decode()
    assert f"{run.start:%H:%M}" not in edit
    assert native_digits(f"{run.start:%H:%M}-{run.end:%H:%M}") in edit


def test_the_sheet_says_when_it_was_built_and_published_in_the_portals_one_format(
    day, duty, client_for
):
    _publish(day, duty)
    sheet = DutySheet.objects.get(date=TODAY)
    page = client_for(duty).get(url("escorts:sheet", TODAY)).content.decode()
    built = timezone.localtime(sheet.built_at)
    published = timezone.localtime(sheet.published_at)
    assert f"built {built:%a %d %b %Y %H:%M}" in page
    assert f"{published:%a %d %b %Y %H:%M}" in page
    assert f"{built:%d-%m-%Y}" not in page


def test_the_station_page_says_when_the_jobs_last_ran_in_the_portals_one_format(
    station, duty, client_for
):
    seen = datetime.datetime(2026, 12, 1, 10, 15, tzinfo=IST)
    WorkerHeartbeat.objects.update_or_create(
        schema_name=station.schema_name, defaults={"seen_at": seen}
    )
    page = client_for(duty).get(f"/station/{station.slug}/").content.decode()
    assert "Tue 01 Dec 2026 10:15" in page
    duty.language = "bn"
    duty.save()
    page = client_for(duty).get(f"/station/{station.slug}/").content.decode()
    assert "নির্ধারিত কাজ শেষবার চলেছে" in page  # "last ran", not "end has run"


def test_a_runs_time_and_pin_button_sit_at_the_top_of_its_row_not_halfway_down(
    day, duty, client_for
):
    # On a phone a run of four agents is a screen tall; its time and Pin were in the middle.
    page = client_for(duty).get(url("escorts:sheet", TODAY)).content.decode()
    assert '<table class="table table-sm mb-0 align-top">' in page
    assert "table-sm mb-0 align-middle" not in page


def test_a_bengali_officer_tells_move_from_take_off_on_the_sheet(day, duty, client_for):
    duty.language = "bn"
    duty.save()
    page = client_for(duty).get(url("escorts:sheet", TODAY)).content.decode()
    move = re.search(r'href="[^"]*/move/">([^<]+)</a>', page)[1]
    take_off = re.search(r'href="[^"]*/remove/">([^<]+)</a>', page)[1]
    # Both were সরান/সরিয়ে দিন ("remove"): one sends the agent to another run, one drops the
    # escort.
    assert move == "অন্য রানে নিন" and take_off == "রান থেকে বাদ দিন"


def test_the_sheet_page_answers_404_to_everyone_else(day, client_for, pingla):
    escort = day["alpha_leader"].user
    lender = MemberFactory(branch=day["ours"]).user
    stranger = UserFactory()
    for user in (escort, lender, stranger):
        assert client_for(user).get(url("escorts:sheet", TODAY)).status_code == 404
    # A duty officer of another station.
    other = StationRoleFactory(station=pingla, role=StationRole.Role.DUTY_OFFICER).user
    assert client_for(other).get(url("escorts:sheet", TODAY)).status_code == 404


def test_the_sdpo_sees_published_versions_only_and_cannot_change_them(day, duty, client_for, debra):
    sdpo = SubdivisionRoleFactory(
        subdivision=debra.subdivision, role=SubdivisionRole.Role.SDPO
    ).user
    client = client_for(sdpo)
    assert client.get(url("escorts:sheet_version", TODAY, 1)).status_code == 404
    _publish(day, duty)
    page = client.get(url("escorts:sheet", TODAY)).content.decode()
    assert "Malancha" in page and "/publish/" not in page and "/rebuild/" not in page
    assert client.post(url("escorts:sheet_rebuild", TODAY)).status_code == 404
    assert client.get(url("escorts:sheet_pdf", TODAY, 1)).status_code == 200


def test_the_sdpo_is_told_when_nothing_is_published_for_a_date(day, client_for, debra):
    sdpo = SubdivisionRoleFactory(
        subdivision=debra.subdivision, role=SubdivisionRole.Role.SDPO
    ).user
    client = client_for(sdpo)
    for date in (TODAY, TODAY + datetime.timedelta(days=1), TODAY - datetime.timedelta(days=30)):
        response = client.get(url("escorts:sheet", date))
        assert response.status_code == 200
        page = response.content.decode()
        assert "No duty sheet has been published for this date." in page
        # The draft the station is working on stays out of sight, and nothing offers to build.
        assert "Malancha" not in page and "/rebuild/" not in page
    sdpo.language = "bn"
    sdpo.save()
    page = client_for(sdpo).get(url("escorts:sheet", TODAY)).content.decode()
    assert "এই তারিখের কোনো ডিউটি তালিকা এখনও প্রকাশিত হয়নি।" in page


def _reviewed_revision(page: str) -> str:
    return re.search(r'name="revision" value="([0-9a-f]+)"', page).group(1)


def _confirm_publish(client: Client, page: str) -> HttpResponse:
    """Say yes on the publish confirmation `page`, as the person who read it."""
    return client.post(
        url("escorts:sheet_publish", TODAY), {"revision": _reviewed_revision(page)}, follow=True
    )


def test_publish_through_the_page_asks_first(day, duty, client_for):
    client = client_for(duty)
    page = client.get(url("escorts:sheet_publish", TODAY)).content.decode()
    assert "Yes, publish" in page
    assert "Publish version 1 of" in page
    response = _confirm_publish(client, page)
    assert response.redirect_chain[0][1] == 302
    assert "Version 1 published." in response.content.decode()
    assert DutySheet.objects.get(date=TODAY).status == DutySheet.Status.PUBLISHED


def test_publishing_again_from_the_back_button_sends_nothing_twice_and_says_why(
    day, duty, client_for
):
    client = client_for(duty)
    page = client.get(url("escorts:sheet_publish", TODAY)).content.decode()
    _confirm_publish(client, page)
    sent = Message.objects.count()
    for again in (client.get, client.post):
        response = again(url("escorts:sheet_publish", TODAY), follow=True)
        assert response.redirect_chain[-1][0] == url("escorts:sheet", TODAY)
        assert "There is no draft to publish: the latest version is in force." in (
            response.content.decode()
        )
    assert Message.objects.count() == sent
    assert DutySheet.objects.filter(date=TODAY).count() == 1


def test_publish_refuses_a_draft_changed_since_it_was_reviewed_and_shows_the_new_diff(
    day, duty, client_for
):
    _publish(day, duty)
    services.run_set_meeting_point(
        date=TODAY, run=EscortRun.objects.get(sheet=day["sheet"], area__name="Malancha"),
        meeting_point="Hat tala", by=duty,
    )  # fmt: skip
    oc = client_for(StationRoleFactory(station=connection.tenant, role="oc").user)
    reviewed = oc.get(url("escorts:sheet_publish", TODAY)).content.decode()
    assert "2 entries change against version 1" in reviewed
    # Meanwhile the duty officer takes another entry off the draft.
    services.run_remove_entry(date=TODAY, entry=day["c"], by=duty)

    response = oc.post(
        url("escorts:sheet_publish", TODAY), {"revision": _reviewed_revision(reviewed)}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "The draft changed after you opened this page" in page
    assert "3 entries change against version 1" in page
    assert DutySheet.objects.get(date=TODAY, version=2).status == DutySheet.Status.DRAFT

    response = _confirm_publish(oc, page)
    assert response.redirect_chain[0][1] == 302
    assert "Version 2 published; 3 entries changed." in response.content.decode()
    assert len(DutySheet.objects.get(date=TODAY, version=2).changes) == 3


def test_a_bengali_officer_reads_the_changes_to_publish_with_the_areas_bengali_names(
    day, duty, client_for
):
    _publish(day, duty)
    malancha = EscortRun.objects.get(sheet=day["sheet"], area__name="Malancha")
    malancha.area.name_bn = "মালঞ্চ"
    malancha.area.save()
    services.run_set_meeting_point(date=TODAY, run=malancha, meeting_point="Hat tala", by=duty)
    duty.language = "bn"
    duty.save()
    client = client_for(duty)
    page = client.get(url("escorts:sheet_publish", TODAY)).content.decode()
    changes = re.search(r"<tbody>(.*?)</tbody>", page, re.S)[1]
    assert "Alpha · মালঞ্চ · " in changes and "Malancha" not in changes
    _confirm_publish(client, page)
    # The published version keeps its list of changes, and shows it the same way.
    page = client.get(url("escorts:sheet", TODAY)).content.decode()
    assert "Alpha · মালঞ্চ · " in page


def test_an_edit_rule_broken_on_the_page_shows_the_message(day, duty, client_for):
    small = TeamFactory(name="Tiny", capacity=1)
    run = EscortRun.objects.get(sheet=day["sheet"], area__name="Malancha")
    response = client_for(duty).post(
        url("escorts:run_edit", TODAY, run.pk), {"team": small.pk, "meeting_point": ""}
    )
    assert response.status_code == 200
    assert "Tiny escorts at most 1 agents at once" in response.content.decode()
    # A Bengali duty officer reads the team's capacity in Bengali digits.
    duty.language = "bn"
    duty.save()
    response = client_for(duty).post(
        url("escorts:run_edit", TODAY, run.pk), {"team": small.pk, "meeting_point": ""}
    )
    assert "Tiny একসঙ্গে সর্বোচ্চ ১ জন এজেন্টকে এসকর্ট করে;" in response.content.decode()


def test_the_build_progress_is_reported(station, clock, duty, client_for):
    sheet, _ = services._build_claim(date=TODAY, origin=DutySheet.Origin.REBUILD, by=duty)
    client = client_for(duty)
    page = client.get(url("escorts:sheet", TODAY)).content.decode()
    assert "data-progress-url" in page and "waits for a planner" in page
    data = client.get(url("escorts:sheet_progress", TODAY, sheet.version)).json()
    assert (data["status"], data["stage"]) == ("running", "queued") and 0 < data["percent"] < 5
    services._build_start(sheet)  # a planning worker takes it
    page = client.get(url("escorts:sheet", TODAY)).content.decode()
    assert "The planner is building this version" in page
    data = client.get(url("escorts:sheet_progress", TODAY, sheet.version)).json()
    assert data["status"] == "running" and 5 <= data["percent"] < 100


def test_a_superscript_digit_among_the_agents_reached_is_no_agent(day, duty, client_for):
    _publish(day, duty)
    leader = client_for(day["alpha_leader"].user)
    mine = EscortRun.objects.get(sheet__status="published", team=day["alpha"])
    leader.post(url("escorts:my_run_action", mine.pk, "start"))
    response = leader.post(
        url("escorts:my_run_action", mine.pk, "complete"), {"confirmed": "yes", "reached": ["²"]}
    )
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.status == EscortRun.Status.STARTED  # no agent ticked: not complete


def test_the_escort_sees_only_their_own_teams_runs_and_moves_them_on(day, duty, client_for):
    _publish(day, duty)
    alpha_client = client_for(day["alpha_leader"].user)
    page = alpha_client.get(url("escorts:my_day")).content.decode()
    assert "Malancha" in page and "Radhamohanpur" not in page
    mine = EscortRun.objects.get(sheet__status="published", team=day["alpha"])
    theirs = EscortRun.objects.get(sheet__status="published", team=day["bravo"])
    reached = [day["a"].pk, day["b"].pk]  # every agent on the run reached the deposit point
    for action, status in [
        ("acknowledge", "acknowledged"),
        ("start", "started"),
        ("complete", "completed"),
    ]:
        response = alpha_client.post(
            url("escorts:my_run_action", mine.pk, action),
            {"confirmed": "yes", "reached": reached},
        )
        assert response.status_code == 302
        mine.refresh_from_db()
        assert mine.status == status
    assert mine.status_changed_by == day["alpha_leader"].user
    # Another team's run: 404, and nothing changes.
    assert alpha_client.post(url("escorts:my_run_action", theirs.pk, "start")).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == EscortRun.Status.PLANNED


def test_an_acknowledgement_sent_again_from_a_second_phone_is_answered_as_done(
    day, duty, client_for
):
    # The leader acknowledged on one phone (or on WhatsApp); the page still open on another
    # phone offers Acknowledge, and a tap there must not read "Not done".
    _publish(day, duty)
    mine = EscortRun.objects.get(sheet__status="published", team=day["alpha"])
    action = url("escorts:my_run_action", mine.pk, "acknowledge")
    first, second = (client_for(day["alpha_leader"].user) for _ in range(2))
    assert first.post(action, HTTP_ACCEPT="application/json").json()["ok"]
    mine.refresh_from_db()
    acknowledged_at = mine.acknowledged_at
    again = second.post(action, HTTP_ACCEPT="application/json")
    assert again.status_code == 200
    assert again.json() == {
        "ok": True,
        "message": "Run acknowledged.",
        "status_now": "acknowledged",
    }
    mine.refresh_from_db()
    assert (mine.status, mine.acknowledged_at) == ("acknowledged", acknowledged_at)


def test_an_escort_cannot_start_a_run_long_before_it_and_is_asked_before_completing(
    day, duty, client_for, clock
):
    _publish(day, duty)
    client = client_for(day["alpha_leader"].user)
    mine = EscortRun.objects.get(sheet__status="published", team=day["alpha"])
    clock.move_to(datetime.datetime(2026, 12, 1, 0, 24, tzinfo=IST))
    response = client.post(url("escorts:my_run_action", mine.pk, "start"), follow=True)
    assert "It can be started from 09:00, in 8 h 36 min." in response.content.decode()
    mine.refresh_from_db()
    assert mine.status == EscortRun.Status.PLANNED
    # The phone's page got the station's answer: it says the start was not done (and why),
    # not that it was never sent, which would have the leader look for a signal.
    page = client.get(url("escorts:my_day")).content.decode()
    assert 'data-not-sent="Not done: %(action)s. %(reason)s"' in page
    clock.move_to(datetime.datetime(2026, 12, 1, 9, 30, tzinfo=IST))
    client = client_for(day["alpha_leader"].user)  # a fresh sign-in after the idle hours
    client.post(url("escorts:my_run_action", mine.pk, "start"))
    asked = client.post(url("escorts:my_run_action", mine.pk, "complete"))
    assert asked.status_code == 200 and "Yes, complete the run" in asked.content.decode()
    mine.refresh_from_db()
    assert mine.status == EscortRun.Status.STARTED
    client.post(
        url("escorts:my_run_action", mine.pk, "complete"),
        {"confirmed": "yes", "reached": [day["a"].pk, day["b"].pk]},
    )
    mine.refresh_from_db()
    assert mine.status == EscortRun.Status.COMPLETED


def test_a_bengali_escort_reads_when_the_run_can_be_started_in_bengali_digits(
    day, duty, client_for, clock
):
    _publish(day, duty)
    leader = day["alpha_leader"].user
    leader.language = "bn"
    leader.save()
    mine = EscortRun.objects.get(sheet__status="published", team=day["alpha"])
    clock.move_to(datetime.datetime(2026, 12, 1, 0, 24, tzinfo=IST))
    response = client_for(leader).post(url("escorts:my_run_action", mine.pk, "start"), follow=True)
    said = "এই রান ১০:০০-এ শুরু। এটি ০৯:০০ থেকে শুরু করা যাবে, আর ৮ ঘণ্টা ৩৬ মিনিট পরে।"  # noqa: RUF001
    assert said in response.content.decode()


def test_the_duty_officer_sees_runs_not_started_after_15_minutes_as_overdue(
    day, duty, client_for, clock
):
    _publish(day, duty)
    clock.move_to("2026-12-01T10:14:00+05:30")
    assert (
        "Overdue</span>" not in client_for(duty).get(url("escorts:sheet", TODAY)).content.decode()
    )
    clock.move_to("2026-12-01T10:16:00+05:30")
    page = client_for(duty).get(url("escorts:sheet", TODAY)).content.decode()
    assert "Overdue</span>" in page
    assert 'data-refresh-seconds="30"' in page
    # Not started by the start grace: red, and the ladder is told once.
    assert services.runs_escalate() > 0
    assert services.runs_escalate() == 0


# Alpha's run starts at 10:00, Bravo's at 11:00. Just after midnight both are ahead, whatever
# the clock minus 15 minutes (yesterday's 23:50) says.
@pytest.mark.parametrize(
    ("moment", "overdue"),
    [("00:05", 0), ("10:14", 0), ("10:16", 1), ("11:16", 2), ("23:59", 2)],
)
def test_the_sheet_the_dashboard_and_the_overdue_job_agree_on_overdue_runs(
    day, duty, clock, moment, overdue
):
    _publish(day, duty)
    clock.move_to(f"2026-12-01T{moment}:00+05:30")
    now = timezone.now()
    runs = EscortRun.objects.filter(sheet__date=TODAY, sheet__status=DutySheet.Status.PUBLISHED)
    grace = datetime.timedelta(minutes=connection.tenant.start_grace_minutes)
    on_the_sheet = {run.pk for run in runs if run.is_overdue(now, date=TODAY, grace=grace)}
    assert set(runs.overdue(now, grace=grace).values_list("pk", flat=True)) == on_the_sheet
    assert escort_stats.figures(TODAY)["runs_overdue"] == len(on_the_sheet) == overdue
    services.runs_escalate()
    told = RunEscalation.objects.filter(reason=RunEscalation.Reason.NOT_STARTED)
    assert set(told.values_list("run_id", flat=True)) == on_the_sheet


def test_a_branch_sees_its_own_escorts_and_nothing_of_another_branch(day, duty, client_for):
    _publish(day, duty)
    member = MemberFactory(branch=day["ours"]).user
    client = client_for(member)
    page = client.get(url("escorts:branch_escorts", day["ours"].pk, TODAY)).content.decode()
    assert day["a"].agent.name in page and day["b"].agent.name in page
    assert "Alpha" in page and str(day["alpha_leader"].phone) in page
    assert day["c"].agent.name not in page and "Radhamohanpur" not in page
    # Another branch's page: 404.
    assert client.get(url("escorts:branch_escorts", day["theirs"].pk, TODAY)).status_code == 404


def test_a_branch_sees_each_agents_own_meeting_time_not_the_runs_start(day, duty, client_for):
    _publish(day, duty)
    run = EscortRun.objects.get(sheet__status="published", run_entries__entry=day["b"])
    assert run.start.strftime("%H:%M") == "10:00"  # the run starts with the first agent
    page = client_for(MemberFactory(branch=day["ours"]).user).get(
        url("escorts:branch_escorts", day["ours"].pk, TODAY)
    )
    text = page.content.decode()
    assert "Meet at 10:00 · Malancha" in text and "Meet at 10:30 · Malancha" in text


def test_a_branch_is_told_why_a_trip_is_not_escorted_and_whom_to_call(day, duty, client_for):
    Station.objects.filter(pk=connection.tenant.pk).update(phone="+913222263333")
    services.run_remove_entry(date=TODAY, entry=day["b"], by=duty)
    _publish(day, duty)
    page = client_for(MemberFactory(branch=day["ours"]).user).get(
        url("escorts:branch_escorts", day["ours"].pk, TODAY)
    )
    text = page.content.decode()
    assert "Why: taken off the plan." in text
    assert 'href="tel:+913222263333"' in text
    assert "travel together" in text


def test_before_publishing_a_branch_learns_nothing_of_the_plan(day, client_for):
    member = MemberFactory(branch=day["ours"]).user
    page = client_for(member).get(url("escorts:branch_escorts", day["ours"].pk, TODAY))
    assert "not published" in page.content.decode()
    assert "Alpha" not in page.content.decode()


def test_the_printed_sheet_has_the_station_date_version_and_teams(day, duty, client_for):
    _publish(day, duty)
    response = client_for(duty).get(url("escorts:sheet_pdf", TODAY, 1))
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Debra" in text
    assert "01 December 2026" in text
    assert "Version 1" in text
    assert "Alpha" in text and "Bravo" in text
    assert "Prepared by" in text and "Approved by" in text
    assert "Page 1 /" in text
    published = timezone.localtime(DutySheet.objects.get(date=TODAY).published_at)
    assert f"published {published:%a %d %b %Y %H:%M}" in text  # the portal's one format
    # The duty officer who published signs as such; the OC's line is left to sign.
    publisher = duty.get_full_name() or duty.username
    assert text.index(publisher) < text.index("Approved by (officer-in-charge)")
    assert f"Published by\n{publisher}" in text or f"Published by {publisher}" in text


def test_a_bengali_printed_sheet_writes_its_dates_times_counts_and_pages_in_bengali_digits(
    day, duty, client_for
):
    _publish(day, duty)
    duty.language = "bn"
    duty.save()
    response = client_for(duty).get(url("escorts:sheet_pdf", TODAY, 1))
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    # (The text read back from a PDF loses some of Bengali's vowel signs, not its digits.)
    assert "সংস্করণ ১ · " in text and "· ০১-১২-২০২৬ · v১" in text  # the heading and the footer
    assert "এন্ট্রি: ৩" in text and "রান: ২" in text
    assert "১০:০০-১২:০০" in text and "পৃষ্ঠা ১ / ১" in text  # noqa: RUF001
    assert not re.findall(r"[0-9]{1,2}:[0-9]{2}", text), "a time in ASCII digits"
    assert str(day["a"].agent.phone) in text  # a phone number stays as phones dial it
    # The document says its language, for the printer's shaping and for screen readers.
    assert PdfReader(io.BytesIO(response.content)).trailer["/Root"]["/Lang"] == "bn"
    duty.language = "en"
    duty.save()
    response = client_for(duty).get(url("escorts:sheet_pdf", TODAY, 1))
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Entries: 3" in text and "Runs: 2" in text and "Version 1" in text
    assert "10:00" in text and "Page 1 / 1" in text
    assert PdfReader(io.BytesIO(response.content)).trailer["/Root"]["/Lang"] == "en"


def test_a_bengali_printed_sheet_keeps_its_english_heading_line_and_names_the_station_in_bengali(
    day, duty, client_for, station
):
    """The header carries the station's name in both languages whatever the reader's: the
    English line stays English beside the Bengali one, and the footer reads as the page does."""
    Station.objects.filter(pk=station.pk).update(name_bn="ডেবরা")
    _publish(day, duty)
    duty.language = "bn"
    duty.save()
    response = client_for(duty).get(url("escorts:sheet_pdf", TODAY, 1))
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Debra Police Station · Escort duty sheet" in text
    assert "Debra থানা" not in text
    assert "Debra · ০১-১২-২০২৬" not in text  # the footer names the station as the page does


def test_a_bengali_csv_and_new_run_form_name_areas_as_the_sheet_does(day, duty, client_for):
    area = day["a"].area
    area.name_bn = "মালঞ্চ"
    area.save()
    duty.language = "bn"
    duty.save()
    client = client_for(duty)
    response = client.get(url("escorts:sheet_csv", TODAY, 1))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    areas = {row[7] for row in rows[1:]}
    assert "মালঞ্চ" in areas and "Malancha" not in areas
    form = client.get(url("escorts:run_new", TODAY)).content.decode()
    assert " · মালঞ্চ · " in form and " · Malancha · " not in form


def test_a_draft_is_not_printed_but_can_be_exported(day, duty, client_for):
    client = client_for(duty)
    assert client.get(url("escorts:sheet_pdf", TODAY, 1)).status_code == 404
    response = client.get(url("escorts:sheet_csv", TODAY, 1))
    rows = response.content.decode().splitlines()
    assert rows[0].startswith("\ufeffDate,Version,Team")  # the BOM tells Excel it is UTF-8
    assert len(rows) == 4  # header and three entries


def test_the_csv_writes_names_that_look_like_formulas_as_text(day, duty, client_for):
    agent = day["a"].agent
    agent.name = '=HYPERLINK("http://evil.example/?x","click")'
    agent.save()
    day["b"].agent.name = "@SUM(1+1)"
    day["b"].agent.save()
    response = client_for(duty).get(url("escorts:sheet_csv", TODAY, 1))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    names = {row[10] for row in rows[1:]}
    assert """'=HYPERLINK("http://evil.example/?x","click")""" in names
    assert "'@SUM(1+1)" in names
    phones = {row[11] for row in rows[1:]}
    assert all(phone.startswith("+91") for phone in phones)  # plain numbers stay as they are


def test_a_bengali_csv_names_the_areas_as_the_bengali_pages_do(day, duty, client_for):
    _publish(day, duty)
    for area, bengali in ((day["a"].area, "মালঞ্চ"), (day["c"].area, "রাধামোহনপুর")):
        area.name_bn = bengali
        area.save()
    duty.language = "bn"
    duty.save()
    response = client_for(duty).get(url("escorts:sheet_csv", TODAY, 1))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert {row[7] for row in rows[1:]} == {"মালঞ্চ", "রাধামোহনপুর"}


def test_teams_and_officers_are_kept_on_pages_with_confirmation(station, duty, client_for):
    client = client_for(duty)
    response = client.post(
        url("escorts:officer_add"),
        {"name": "Arup Bera", "rank": "si", "badge_no": "DEB/1", "phone": "+919434000001",
         "active": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    from escorts.models import EscortTeam, Officer

    officer = Officer.objects.get(badge_no="DEB/1")
    response = client.post(
        url("escorts:team_add"),
        {"name": "Mobile 9", "leader": officer.pk, "shift_start": "08:00", "shift_end": "16:00",
         "capacity": 3, "active": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    team = EscortTeam.objects.get(name="Mobile 9")
    assert team.base_latitude == station.latitude  # the station's location by default
    assert "Yes, delete" in client.get(url("escorts:team_delete", team.pk)).content.decode()
    assert client.post(url("escorts:officer_delete", officer.pk)).status_code == 302
    assert Officer.objects.filter(pk=officer.pk).exists()  # leads a team: refused
    client.post(url("escorts:team_delete", team.pk))
    assert not EscortTeam.objects.filter(pk=team.pk).exists()


def test_an_officers_badge_number_or_login_taken_by_another_is_refused_in_words(
    station, duty, client_for
):
    leader = StationRoleFactory(station=station, role=StationRole.Role.ESCORT_OFFICER).user
    OfficerFactory(badge_no="DEB/SI/7", user=leader)
    client = client_for(duty)
    form = {"name": "Second officer", "rank": "constable", "badge_no": "DEB/SI/7",
            "phone": "+919876543210", "active": "on"}  # fmt: skip
    page = client.post(url("escorts:officer_add"), form).content.decode()
    assert "Another officer of the station has this badge number." in page
    assert "Constraint" not in page and 'value="Second officer"' in page
    form.update(badge_no="DEB/C/8", username=leader.username)
    page = client.post(url("escorts:officer_add"), form).content.decode()
    assert "That login is already another officer&#x27;s." in page
    assert "Constraint" not in page
    duty.language = "bn"
    duty.save()
    form.update(badge_no="DEB/SI/7", username="")
    page = client_for(duty).post(url("escorts:officer_add"), form).content.decode()
    assert "থানার আরেকজন অফিসারের এই ব্যাজ নম্বর আছে।" in page


def test_a_team_of_capacity_zero_is_refused_in_words_and_keeps_what_was_typed(
    station, duty, client_for
):
    officer = OfficerFactory()
    form = {"name": "Mobile 9", "leader": officer.pk, "shift_start": "08:00",
            "shift_end": "16:00", "capacity": 0, "active": "on"}  # fmt: skip
    page = client_for(duty).post(url("escorts:team_add"), form).content.decode()
    assert "A team escorts at least one agent at a time." in page
    assert "Constraint" not in page
    assert 'value="Mobile 9"' in page
    duty.language = "bn"
    duty.save()
    page = client_for(duty).post(url("escorts:team_add"), form).content.decode()
    assert "একটি দল একসঙ্গে অন্তত একজন এজেন্টকে এসকর্ট করে।" in page


# The settings form's watch fields, as the page shows them for a new station.
WATCH_SETTINGS = {
    "check_in_minutes": 20,
    "amber_to_red_minutes": 10,
    "acknowledge_lead_minutes": 30,
    "start_grace_minutes": 15,
    "ladder_leader_app": "amber",
    "ladder_leader_phone": "amber",
    "ladder_duty_officer": "amber",
    "ladder_oc": "red",
    "ladder_sdpo": "red",
}


def test_only_the_oc_changes_the_cut_off(station, duty, client_for):
    data = {
        **WATCH_SETTINGS,
        "roster_cutoff": "07:45",
        "planner_seconds": 5,
        "default_speed_kmph": 30,
        "reminder_lead_minutes": 45,
        "retention_days": 120,
    }
    assert client_for(duty).post(url("escorts:settings"), data).status_code == 404
    oc = StationRoleFactory(station=station, role=StationRole.Role.OFFICER_IN_CHARGE).user
    assert client_for(oc).post(url("escorts:settings"), data).status_code == 302
    station.refresh_from_db()
    assert station.roster_cutoff.strftime("%H:%M") == "07:45"
    assert (station.reminder_lead_minutes, station.retention_days) == (45, 120)


def test_the_station_settings_are_linked_and_read_only_for_the_duty_officer(
    station, duty, client_for
):
    landing = client_for(duty).get(url("station:landing")).content.decode()
    assert f'href="{url("escorts:settings")}"' in landing
    page = client_for(duty).get(url("escorts:settings")).content.decode()
    assert "Your OC can change these settings." in page
    assert "disabled" in page and 'name="submit"' not in page
    oc = StationRoleFactory(station=station, role=StationRole.Role.OFFICER_IN_CHARGE).user
    page = client_for(oc).get(url("escorts:settings")).content.decode()
    assert "Your OC can change" not in page and 'name="submit"' in page
    assert "Keep trips" in page and "Remind branches" in page


def test_a_retention_below_the_minimum_is_refused_with_a_message(station, client_for):
    oc = StationRoleFactory(station=station, role=StationRole.Role.OFFICER_IN_CHARGE).user
    data = {
        **WATCH_SETTINGS,
        "roster_cutoff": "07:45",
        "planner_seconds": 5,
        "default_speed_kmph": 30,
        "reminder_lead_minutes": 45,
        "retention_days": 7,
    }
    response = client_for(oc).post(url("escorts:settings"), data)
    assert response.status_code == 200
    assert "greater than or equal to 30" in response.content.decode()


def test_a_team_is_marked_off_duty_for_a_date(station, duty, client_for):
    team = TeamFactory()
    client = client_for(duty)
    client.post(
        url("escorts:availability", TODAY), {"team": team.pk, "off": "on", "reason": "VIP duty"}
    )
    assert team.days_off.get().reason == "VIP duty"
    client.post(url("escorts:availability", TODAY), {"team": team.pk})
    assert not team.days_off.exists()


def test_an_off_duty_reason_too_long_is_said_not_dropped_in_silence(station, duty, client_for):
    team = TeamFactory()
    client = client_for(duty)
    page = client.get(url("escorts:availability", TODAY)).content.decode()
    assert 'name="reason" maxlength="200"' in page
    answer = client.post(
        url("escorts:availability", TODAY),
        {"team": team.pk, "off": "on", "reason": "x" * 201},
        follow=True,
    )
    assert not team.days_off.exists()
    assert 'class="alert alert-danger"' in answer.content.decode()


def test_the_edit_forms_and_history_open(day, duty, client_for):
    client = client_for(duty)
    run = EscortRun.objects.filter(sheet=day["sheet"]).first()
    for path in [
        url("escorts:run_new", TODAY),
        url("escorts:run_edit", TODAY, run.pk),
        url("escorts:entry_move", TODAY, day["a"].pk),
        url("escorts:entry_remove", TODAY, day["a"].pk),
        url("escorts:late_entry", TODAY),
        url("escorts:sheet_versions", TODAY),
        url("escorts:team_list"),
        url("escorts:officer_list"),
        url("escorts:availability", TODAY),
    ]:
        assert client.get(path).status_code == 200, path


def test_a_late_entry_lists_only_the_chosen_branchs_agents(day, duty, client_for):
    mine = AgentFactory(branch=day["ours"], name="Arup Bag")
    other = AgentFactory(branch=day["theirs"], name="Mita Giri")
    client = client_for(duty)
    first = client.get(url("escorts:late_entry", TODAY)).content.decode()
    assert 'name="branch"' in first and "Arup Bag" not in first and "Mita Giri" not in first
    chosen = f"{url('escorts:late_entry', TODAY)}?branch={day['ours'].pk}"
    page = client.get(chosen).content.decode()
    assert "Arup Bag" in page and "Mita Giri" not in page
    form = {
        "area": day["a"].area.pk,
        "depart_at": "13:00",
        "return_at": "14:00",
        "cash_band": day["a"].cash_band,
    }
    refused = client.post(chosen, {**form, "agent": other.pk})
    assert refused.status_code == 200
    assert "Select a valid choice" in refused.content.decode()
    assert client.post(chosen, {**form, "agent": mine.pk}).status_code == 302
    assert day["ours"].rosters.get(date=TODAY).entries.filter(agent=mine).exists()


def test_the_move_page_of_an_escorted_entry_does_not_read_as_if_it_had_no_escort(
    day, duty, client_for
):
    run = EscortRun.objects.get(sheet=day["sheet"], area__name="Malancha")
    move = client_for(duty).get(url("escorts:entry_move", TODAY, day["a"].pk)).content.decode()
    assert "The entry is already on that run." not in move
    assert "No run can take this entry." not in move
    assert "No other run can take this entry." in move
    assert "No team is free then either: the entry stays on its run." in move
    assert f'<option value="{run.pk}">' in move  # still named in the list, as the sheet does


def test_the_sheet_and_the_move_page_say_what_would_cover_an_uncovered_entry(day, duty, client_for):
    late = services.late_entry_add(
        date=TODAY,
        branch=day["ours"],
        data=lender_services.EntryInput(
            agent=AgentFactory(branch=day["ours"]),
            area=day["a"].area,
            depart_at=datetime.time(10),
            return_at=datetime.time(12),
            cash_band=CashBand.OVER_2L,
        ),
        by=duty,
    )
    client = client_for(duty)
    sheet = client.get(url("escorts:sheet", TODAY)).content.decode()
    assert "No team is free then: another team on duty at that time" in sheet
    move = client.get(url("escorts:entry_move", TODAY, late.pk)).content.decode()
    assert "No run can take this entry." in move
    assert "Runs that cannot take it" in move and "Alpha · Malancha" in move
    refusing = re.search(r'<ul class="small">(.*?)</ul>', move, re.S)[1]
    assert "Alpha · Malancha · 10:00-12:00: " in refusing and "Malancha 10:00-12:00" in refusing
    # On a Bengali page the runs the rules name, and their hours, are in Bengali digits.
    duty.language = "bn"
    duty.save()
    move = client_for(duty).get(url("escorts:entry_move", TODAY, late.pk)).content.decode()
    refusing = re.search(r'<ul class="small">(.*?)</ul>', move, re.S)[1]
    assert "Alpha · Malancha · ১০:০০-১২:০০: " in refusing  # noqa: RUF001
    assert "Malancha ১০:০০-১২:০০-এ হবে ৩ জন" in refusing  # noqa: RUF001
    assert not re.findall(r"[0-9]", refusing), "an ASCII digit"
    duty.language = "en"
    duty.save()
    client = client_for(duty)

    TeamFactory(name="Charlie", capacity=2)
    sheet = client.get(url("escorts:sheet", TODAY)).content.decode()
    assert "Charlie is free then: a new run of that team would cover it." in sheet
    move = client.get(url("escorts:entry_move", TODAY, late.pk)).content.decode()
    assert "A new run of one of these teams would cover it: Charlie" in move


def _late(day, duty, *, area, start: int) -> None:
    services.late_entry_add(
        date=TODAY,
        branch=day["ours"],
        data=lender_services.EntryInput(
            agent=AgentFactory(branch=day["ours"]),
            area=area,
            depart_at=datetime.time(start),
            return_at=datetime.time(start + 1),
            cash_band=CashBand.OVER_2L,
        ),
        by=duty,
    )


def test_the_sheet_page_advises_on_many_uncovered_entries_in_as_many_queries_as_on_one(
    day, duty, client_for
):
    client = client_for(duty)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            page = client.get(url("escorts:sheet", TODAY))
        assert page.status_code == 200
        assert page.content.decode().count('<small class="text-success">') == uncovered
        return len(captured)

    _late(day, duty, area=day["a"].area, start=10)
    uncovered = 1
    queries()  # the first request of the client also reads its session's caches
    one = queries()
    for start, area in [(13, day["a"].area), (14, day["c"].area), (8, day["c"].area)]:
        _late(day, duty, area=area, start=start)
    uncovered = 4
    assert queries() == one


def test_a_bengali_sheet_writes_dates_times_and_totals_in_bengali_digits_not_what_machines_read(
    day, duty, client_for
):
    # A second version, whose two Malancha entries changed against the first, published by a
    # Bengali reader: the question, the changes counted and the message in Bengali digits.
    _publish(day, duty)
    services.run_set_meeting_point(
        date=TODAY, run=EscortRun.objects.get(sheet=day["sheet"], area__name="Malancha"),
        meeting_point="Hat tala", by=duty,
    )  # fmt: skip
    duty.language = "bn"
    duty.save()
    client = client_for(duty)
    page = client.get(url("escorts:sheet_publish", TODAY)).content.decode()
    assert "০১ ডিসে. ২০২৬-এর সংস্করণ ২ প্রকাশ করবেন?" in page
    assert "সংস্করণ ১-এর তুলনায় ২টি এন্ট্রি বদলাচ্ছে:" in page
    response = _confirm_publish(client, page)
    assert "সংস্করণ ২ প্রকাশিত; ২টি এন্ট্রি বদলেছে।" in response.content.decode()
    # Asked to rebuild, the version it starts from and the runs it re-plans count so too: the
    # Malancha run, its meeting point set by hand, is pinned; the other one is re-planned.
    assert EscortRun.objects.filter(sheet__date=TODAY, sheet__version=2, pinned=False).count() == 1
    page = client.get(url("escorts:sheet_rebuild", TODAY)).content.decode()
    assert "সংস্করণ ২ থেকে একটি নতুন সংস্করণ" in page and "পিন না করা ১টি রান" in page
    page = client.get(url("escorts:sheet", TODAY)).content.decode()
    shown = page.split("<main", 1)[1]
    assert "মঙ্গল ০১ ডিসে. ২০২৬" in shown and "১০:০০" in shown  # noqa: RUF001
    assert "সংস্করণ ২" in shown
    assert "আগের প্রকাশিত সংস্করণের তুলনায় ২টি এন্ট্রি বদলেছে" in shown
    # The changed entries' placements, before and after, are times too.
    assert "Alpha · Malancha · ১০:০০-১২:০০ · Hat tala" in shown  # noqa: RUF001
    assert not re.findall(r"[0-9]{1,2}:[0-9]{2}", shown), "a time in ASCII digits"
    # The totals over the sheet count in Bengali digits too.
    totals = re.findall(r'<div class="fs-5">([^<]*)</div>', shown)
    assert len(totals) == 6 and all(re.fullmatch("[০-৯]+", n) for n in totals)  # noqa: RUF001
    # The date box's value, the addresses and the phone numbers stay as machines read them.
    assert 'value="2026-12-01"' in shown and "/sheet/2026-12-01/v2/print.pdf" in shown
    assert str(day["a"].agent.phone) in shown
    duty.language = "en"
    duty.save()
    client = client_for(duty)
    page = client.get(url("escorts:sheet_rebuild", TODAY)).content.decode()
    assert "from version 2." in page and "1 unpinned run is re-planned" in page
    page = client.get(url("escorts:sheet", TODAY)).content.decode()
    assert "10:00" in page and "version 2" in page
    assert "2 entries changed against the previous published version" in page
    assert "Alpha · Malancha · 10:00-12:00 · Hat tala" in page
    totals = re.findall(r'<div class="fs-5">([^<]*)</div>', page)
    assert len(totals) == 6 and all(re.fullmatch("[0-9]+", total) for total in totals)
    # The rebuild's answer names the version it builds in the reader's numerals.
    duty.language = "bn"
    duty.save()
    response = client_for(duty).post(url("escorts:sheet_rebuild", TODAY), follow=True)
    assert "সংস্করণ ৩ তৈরি হচ্ছে।" in response.content.decode()


def test_moving_an_entry_through_the_page(day, duty, client_for):
    bravo = day["bravo"]
    response = client_for(duty).post(
        url("escorts:entry_move", TODAY, day["c"].pk), {"team": bravo.pk}
    )
    assert response.status_code == 302
    assert EscortRun.objects.filter(
        sheet=day["sheet"], team=bravo, run_entries__entry=day["c"]
    ).exists()


def test_the_sheet_says_why_an_entry_is_uncovered_in_the_readers_language(
    station, clock, duty, client_for
):
    TeamFactory(shift_start=datetime.time(8), shift_end=datetime.time(14))
    nowhere = AreaFactory(name="Nirjan", name_bn="নির্জন", latitude=None, longitude=None)
    entry(area=nowhere)
    entry(area=AreaFactory(), start="15:00", end="18:00")
    # Built by a worker speaking Bengali: what it wrote down is not what an English reader reads.
    with translation.override("bn"):
        build_due()
    page = client_for(duty).get(url("escorts:sheet", TODAY)).content.decode()
    assert "Nirjan has no map location." in page
    assert "15:00-18:00 is outside every team&#x27;s shift." in page
    duty.language = "bn"
    duty.save()
    page = client_for(duty).get(url("escorts:sheet", TODAY)).content.decode()
    assert "নির্জন-এর মানচিত্রে অবস্থান দেওয়া নেই।" in page
    assert "১৫:০০-১৮:০০ সব দলের শিফটের বাইরে।" in page  # noqa: RUF001
    assert "15:00" not in page


BENGALI_DIGITS = str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")


@pytest.mark.parametrize("language", ["en", "bn"])
def test_the_move_and_new_run_pages_give_times_in_the_readers_digits(
    day, duty, client_for, language
):
    duty.language = language
    duty.save()
    digits = BENGALI_DIGITS if language == "bn" else {}
    client = client_for(duty)
    run = EscortRun.objects.get(sheet=day["sheet"], area__name="Malancha")
    move = client.get(url("escorts:entry_move", TODAY, day["a"].pk)).content.decode()
    hours = f"{run.start:%H:%M}-{run.end:%H:%M}".translate(digits)
    assert f'<option value="{run.pk}">{run.team} · Malancha · {hours}</option>' in move
    entry = day["a"]
    trip = f"{entry.depart_at:%H:%M}-{entry.return_at:%H:%M}".translate(digits)
    assert f"{entry.agent.name} · Malancha · {trip}" in move
    new = client.get(url("escorts:run_new", TODAY)).content.decode()
    assert "Malancha · " + "10:30-11:30".translate(digits) in new


def test_a_build_stuck_past_its_grace_offers_a_rebuild(station, clock, duty, client_for):
    stuck, _ = services._build_claim(date=TODAY, origin=DutySheet.Origin.REBUILD, by=duty)
    services._build_start(stuck)
    client = client_for(duty)
    page = client.get(url("escorts:sheet", TODAY)).content.decode()
    assert "data-progress-url" in page and "/rebuild/" not in page  # within its time: wait

    clock.shift(datetime.timedelta(seconds=stuck.build_seconds) + build_grace())
    clock.shift(datetime.timedelta(minutes=1))
    page = client.get(url("escorts:sheet", TODAY)).content.decode()
    assert "the job building it has stopped" in page
    assert url("escorts:sheet_rebuild", TODAY) in page
    response = client.post(url("escorts:sheet_rebuild", TODAY), follow=True)
    latest = DutySheet.objects.filter(date=TODAY).order_by("-version").first()
    assert latest.version == stuck.version + 1
    assert f"Building version {latest.version}." in response.content.decode()


def test_a_sheet_late_past_its_cut_off_says_what_is_missing(station, clock, duty, client_for):
    hour = datetime.timedelta(hours=1)
    WorkerHeartbeat.objects.all().delete()
    WorkerHeartbeat.objects.create(schema_name="public", seen_at=timezone.now() - hour)
    PeriodicTask.objects.update(enabled=False)
    minute, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    beat_job = PeriodicTask.objects.create(
        name="test minute job", task="escorts.tick_all_stations", interval=minute,
        last_run_at=timezone.now() - hour,
    )  # fmt: skip
    client = client_for(duty)
    page = client.get(url("escorts:sheet", TODAY)).content.decode()
    assert "The duty sheet is late: the 08:30 cut-off has passed" in page
    assert "The scheduler (beat), which starts the cut-off job, was last seen" in page

    PeriodicTask.objects.filter(pk=beat_job.pk).update(last_run_at=timezone.now())
    page = client.get(url("escorts:sheet", TODAY)).content.decode()
    assert "No worker has run the portal" in page

    clock.move_to(datetime.datetime(2026, 12, 1, 8, 0, tzinfo=IST))  # before the cut-off
    page = client.get(url("escorts:sheet", TODAY)).content.decode()
    assert "late" not in page and "It is built by itself at the 08:30 cut-off" in page


def test_a_cut_off_after_the_morning_is_refused_and_the_page_says_why(station, client_for):
    oc = client_for(
        StationRoleFactory(station=station, role=StationRole.Role.OFFICER_IN_CHARGE).user
    )
    assert "by 10:00: the rosters lock" in oc.get(url("escorts:settings")).content.decode()
    data = {
        **WATCH_SETTINGS,
        "roster_cutoff": "23:55",
        "planner_seconds": 5,
        "default_speed_kmph": 30,
        "reminder_lead_minutes": 60,
        "retention_days": 90,
    }
    response = oc.post(url("escorts:settings"), data)
    assert response.status_code == 200
    assert "The cut-off must be in the morning, by 10:00" in response.content.decode()
    station.refresh_from_db()
    assert station.roster_cutoff.strftime("%H:%M") == "08:30"


def test_a_day_gone_by_without_a_sheet_is_not_called_late_nor_offered_a_build(
    station, clock, duty, client_for
):
    PeriodicTask.objects.update(enabled=False)  # no scheduler seen: today's sheet is late
    client = client_for(duty)
    for past in (TODAY - datetime.timedelta(days=1), TODAY - datetime.timedelta(days=30)):
        page = client.get(url("escorts:sheet", past)).content.decode()
        assert "duty sheet is late" not in page and "Reload in a minute" not in page
        assert "No duty sheet was made for this day." in page
        assert "/rebuild/" not in page
    today = client.get(url("escorts:sheet", TODAY)).content.decode()
    assert "duty sheet is late: the 08:30 cut-off has passed" in today


def test_the_station_page_tells_the_duty_officer_the_sheet_is_late(
    station, clock, duty, client_for
):
    PeriodicTask.objects.update(enabled=False)  # no scheduler seen
    page = client_for(duty).get(f"/station/{station.slug}/").content.decode()
    assert "duty sheet is late: the 08:30 cut-off has passed" in page
    build_due()
    page = client_for(duty).get(f"/station/{station.slug}/").content.decode()
    assert "duty sheet is late" not in page


def test_a_date_not_of_the_calendar_opens_todays_sheet_and_says_so(day, duty, client_for):
    response = client_for(duty).get("/station/debra/escorts/?date=2026-13-01", follow=True)
    assert response.redirect_chain[-1][0] == url("escorts:sheet", TODAY)
    assert [str(m) for m in response.context["messages"]] == [
        "“2026-13-01” is not a date of the calendar: today is shown."
    ]


def test_coming_back_to_a_run_emptied_away_lands_on_the_sheet_told_why(day, duty, client_for):
    duty.language = "bn"
    duty.save()
    client = client_for(duty)
    run = EscortRun.objects.get(sheet=day["sheet"], area__name="Radhamohanpur")
    edit = url("escorts:run_edit", TODAY, run.pk)
    assert client.get(edit).status_code == 200
    # Its only entry taken off, the run is gone; the officer presses the browser's back button.
    client.post(url("escorts:entry_remove", TODAY, day["c"].pk), follow=True)
    assert not EscortRun.objects.filter(pk=run.pk).exists()
    for response in (
        client.get(edit, follow=True),
        client.post(url("escorts:run_pin", TODAY, run.pk), {"pinned": "1"}, follow=True),
    ):
        assert response.redirect_chain == [(url("escorts:sheet", TODAY), 302)]
        assert [str(m) for m in response.context["messages"]] == ["ওই রানটি আর তালিকায় নেই।"]


def test_coming_back_to_an_entry_taken_off_the_rosters_lands_on_the_sheet_told_why(
    day, duty, client_for
):
    client = client_for(duty)
    pages = [url("escorts:entry_move", TODAY, day["c"].pk)]
    pages.append(url("escorts:entry_remove", TODAY, day["c"].pk))
    day["c"].delete()
    for page in pages:
        response = client.get(page, follow=True)
        assert response.redirect_chain == [(url("escorts:sheet", TODAY), 302)]
        assert [str(m) for m in response.context["messages"]] == [
            "That entry is no longer on the sheet."
        ]
