"""Watched runs in a real browser, on a 360 px phone, in English and Bengali: an escort leader
acknowledges and checks in without a connection and each action reaches the server once; a
silent run goes amber then red and a real worker, on a frozen clock, tells the leader, the duty
officer, the OC and the SDPO once each, in order; a field agent's SOS without a connection
offers an SMS with the phone's coordinates; the duty officer's live board refreshes itself.

It reuses the browser suite's server, database and tabs (escort_portal/tests/test_browser.py).
Its own runs live on today's published sheet at Narayangarh, made by one script at the start.
"""

from __future__ import annotations

import datetime
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest
from django.conf import settings
from django.utils import timezone
from psycopg2 import sql

from escort_portal.celery import app
from escort_portal.tests import test_browser as suite
from escort_portal.tests.test_browser import DATABASE, PASSWORD, Tab, _server_env

pytestmark = pytest.mark.browser

STATION = "narayangarh"
# Where the phones say they are: a road out of Narayangarh.
LATITUDE, LONGITUDE = 22.1453, 87.4071
# The worker of these tests reads a queue of its own, so it never takes another test's tasks.
WATCH_QUEUE = f"{settings.CELERY_TASK_DEFAULT_QUEUE}_browser_watch"
SMS_NUMBER = "+919800000112"

# Today's published sheet at Narayangarh (the one in force, or a new version) gets a team of
# its own led by `watch-leader`, and its runs: per language one waiting to be acknowledged
# and one started; and one started at 10:00 that nobody hears from again.
SETUP = """
import datetime, json
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django_tenants.utils import tenant_context
from escorts.models import DutySheet, EscortRun, EscortTeam, Officer, RunEntry
from lenders.models import CollectionArea, FieldAgent, LenderBranch, Roster, RosterEntry
from stations import services
from stations.demo import demo_user
from stations.models import Station

Station.objects.filter(slug="%(station)s").update(sos_sms_number="%(sms)s")
station = Station.objects.get(slug="%(station)s")
today = timezone.localdate()
now = timezone.now()
with tenant_context(station), transaction.atomic():
    user = demo_user("watch-leader", password="%(password)s", first_name="Subrata Jana")
    services.station_role_grant(user=user, station=station, role="escort")
    leader, _ = Officer.objects.get_or_create(
        badge_no="NAR/WATCH/1",
        defaults={"name": "Subrata Jana", "rank": "si", "phone": "+919434099001", "user": user},
    )
    team, _ = EscortTeam.objects.get_or_create(name="Watch team", defaults={"leader": leader})
    # The silent run has a team of its own: the leader's phone pages, open in the other tests,
    # send positions for their own started run, and one landing on this run would be a sign.
    quiet_user = demo_user("watch-quiet", password="%(password)s", first_name="Nirmal Das")
    services.station_role_grant(user=quiet_user, station=station, role="escort")
    quiet, _ = Officer.objects.get_or_create(
        badge_no="NAR/WATCH/2",
        defaults={
            "name": "Nirmal Das", "rank": "asi", "phone": "+919434099002", "user": quiet_user
        },
    )
    silent_team, _ = EscortTeam.objects.get_or_create(
        name="Silent team", defaults={"leader": quiet}
    )
    sheet = DutySheet.objects.filter(date=today, status="published").first()
    if sheet is None:
        version = (DutySheet.objects.filter(date=today).aggregate(v=Max("version"))["v"] or 0) + 1
        sheet = DutySheet.objects.create(
            date=today, version=version, origin="cutoff", build_status="done",
            status="published", published_at=now,
        )
    branch = LenderBranch.objects.filter(status="approved").order_by("pk").first()
    area = CollectionArea.objects.filter(latitude__isnull=False).order_by("pk").first()
    roster = Roster.objects.get(branch=branch, date=today)
    runs = {}
    for name, start, status, started in [
        ("ack_en", "10:00", "planned", None), ("check_en", "10:30", "started", now),
        ("ack_bn", "10:00", "planned", None), ("check_bn", "10:30", "started", now),
        ("stale_en", "11:00", "planned", None), ("stale_bn", "11:00", "planned", None),
        ("silent", "10:00", "started", datetime.datetime.combine(
            today, datetime.time(10, 0), tzinfo=timezone.get_current_timezone())),
    ]:
        run = EscortRun.objects.create(
            sheet=sheet, team=silent_team if name == "silent" else team, area=area,
            start=datetime.time.fromisoformat(start),
            end=datetime.time(13, 0), status=status, started_at=started,
        )
        agent = FieldAgent.objects.create(
            branch=branch, name=f"Watch agent {run.pk}", employee_id=f"WATCH{run.pk}",
            phone=f"+919733{run.pk:06d}",
        )
        entry = RosterEntry.objects.create(
            roster=roster, agent=agent, area=area, depart_at=datetime.time(10, 0),
            return_at=datetime.time(12, 30), cash_band="50k-1l",
            deposit_point=str(branch),
        )
        RunEntry.objects.create(sheet=sheet, run=run, entry=entry)
        runs[name] = run.pk
print(json.dumps({"runs": runs, "date": today.isoformat()}))
"""


def _query(statement: str, *params: Any) -> list[tuple]:
    """Read the browser suite's database directly: the server's and worker's committed rows."""
    db = settings.DATABASES["default"]
    connection = psycopg2.connect(
        dbname=DATABASE,
        user=db.get("USER") or "postgres",
        password=db.get("PASSWORD") or None,
        host=db.get("HOST") or "127.0.0.1",
        port=db.get("PORT") or 5432,
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("SET search_path = {}, public").format(sql.Identifier(STATION)))
            cursor.execute(statement, params)
            return cursor.fetchall()
    finally:
        connection.close()


def _wait_for(read, until, *, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    value = read()
    while not until(value) and time.monotonic() < deadline:
        time.sleep(0.2)
        value = read()
    return value


# --- The browser suite's server and browser, shared ---


def _already_up(request: pytest.FixtureRequest, name: str) -> Any:
    """The value of test_browser.py's own session fixture `name` when that file has set it up in
    this session (one server and one browser for the whole suite), else None.

    A fixture imported into a second module would be a second fixture with its own cache, and a
    second server on a freshly recreated database; so this module asks pytest for the first."""
    suite_function = getattr(suite, name)._get_wrapped_function()
    for item in request.session.items:
        info = getattr(item, "_fixtureinfo", None)
        for fixturedef in info.name2fixturedefs.get(name, ()) if info else ():
            cached = fixturedef.cached_result
            if fixturedef.func is suite_function and cached is not None and cached[2] is None:
                return cached[0]
    return None


@pytest.fixture(scope="session")
def server(request: pytest.FixtureRequest) -> Iterator[suite.Server]:
    """The suite's server: test_browser.py's own, or, when this file runs alone, one started
    the same way."""
    running = _already_up(request, "server")
    if running is not None:
        yield running
        return
    yield from suite.server._get_wrapped_function()()


@pytest.fixture(scope="session")
def browser(request: pytest.FixtureRequest) -> Iterator[object]:
    running = _already_up(request, "browser")
    if running is not None:
        yield running
        return
    yield from suite.browser._get_wrapped_function()()


@pytest.fixture
def tab(browser, server) -> Iterator[Any]:
    opened: list[Tab] = []

    def open_tab(*, width: int = 1280, height: int = 900) -> Tab:
        opened.append(Tab(browser, server, width=width, height=height))
        return opened[-1]

    yield open_tab
    for each in opened:
        each.context.close()


# --- This file's runs ---


@pytest.fixture(scope="module")
def watched(server) -> dict:
    """The runs of these tests, by name, on today's published sheet at Narayangarh."""
    env = _server_env()
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SETUP % {
            "station": STATION, "password": PASSWORD, "sms": SMS_NUMBER,
        }],
        env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        pytest.fail(f"the set-up failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


class Field:
    """A phone's tab with its location given, and the noise of having no network left out
    of the script errors the suite refuses."""

    def __init__(self, tab, *, language: str, username: str) -> None:
        self.tab = tab(width=360, height=740)
        self.page = self.tab.page
        self.tab.context.grant_permissions(["geolocation"])
        self.tab.context.set_geolocation(
            {"latitude": LATITUDE, "longitude": LONGITUDE, "accuracy": 25}
        )
        self.tab.sign_in(username, language)

    def offline(self, offline: bool) -> None:
        self.tab.context.set_offline(offline)

    def clean(self) -> None:
        # A request the browser could not send while offline, or whose answer a test dropped,
        # is logged by chromium as a failed resource: the point of the test, not an error.
        self.tab.problems = [
            problem
            for problem in self.tab.problems
            if "ERR_INTERNET_DISCONNECTED" not in problem and "net::ERR_FAILED" not in problem
        ]
        self.tab.assert_clean()


def _outbox_waiting(page) -> int:
    return int(page.locator("html").get_attribute("data-outbox-waiting") or 0)


@pytest.mark.parametrize("language", ["en", "bn"])
def test_an_escort_acknowledges_and_checks_in_offline_and_each_reaches_the_server_once(
    tab, server, watched, language
):
    ack, check = watched["runs"][f"ack_{language}"], watched["runs"][f"check_{language}"]
    leader = Field(tab, language=language, username="watch-leader")
    page, t = leader.page, leader.tab.t
    leader.tab.go(f"/station/{STATION}/escorts/my-day/")
    # The service worker keeps the day's pages; the leader's page sends the phone's position.
    assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.locator(f"[data-run='{check}'] [data-position-sent]").wait_for()
    leader.tab.fits_width()

    leader.offline(True)
    page.locator(f"[data-run='{ack}'] form[action$='/acknowledge/'] button").click()
    page.locator(f"[data-run='{check}'] form[action$='/check-in/'] button").click()
    outbox = page.locator("#outbox")
    outbox.wait_for()
    assert _outbox_waiting(page) == 2
    assert t("waiting to send") in outbox.inner_text()
    assert t("Acknowledge") in outbox.inner_text() and t("Check in") in outbox.inner_text()
    # A second tap on the same acknowledgement waits as the first: nothing more is queued.
    page.locator(f"[data-run='{ack}'] form[action$='/acknowledge/'] button").click(force=True)
    assert _outbox_waiting(page) == 2
    leader.tab.shot(f"watch-offline-{language}")
    # With no connection the day's page still opens, from the phone, the queue still waiting.
    page.reload()
    assert _outbox_waiting(page) == 2

    # Back online, the check-in's answer is lost on the way back: the server did it, the
    # phone does not know, and sends it again (with its key) on the next page load.
    answers = []

    def lose_first_answer(route) -> None:
        if not answers:
            answers.append(route.fetch().status)
            route.abort()
        else:
            route.continue_()

    page.route("**/check-in/", lose_first_answer)
    log_start = server.log_size()
    with page.expect_navigation():
        leader.offline(False)  # "online": the queue is sent, and the page reloads with the news
    _wait_for(lambda: _outbox_waiting(page), lambda waiting: waiting == 0)
    page.locator("#outbox-sent .alert-success").first.wait_for()
    assert answers == [200]
    assert _outbox_waiting(page) == 0
    sent = page.locator("#outbox-sent").inner_text()
    assert t("Run acknowledged.") in sent
    leader.tab.fits_width()
    leader.tab.shot(f"watch-sent-{language}")

    status, acknowledged = _query(
        "SELECT status, acknowledged_at IS NOT NULL FROM escorts_escortrun WHERE id = %s", ack
    )[0]
    assert (status, acknowledged) == ("acknowledged", True)
    check_ins = _query(
        "SELECT count(*) FROM escorts_runsign WHERE run_id = %s AND kind = 'check_in'", check
    )
    assert check_ins == [(1,)]
    # The check-in was sent twice with one key: the second got the first's kept answer.
    posts = server.log_since(log_start).count(f"/escorts/my-day/run/{check}/check-in/")
    assert posts >= 2
    kept = _query(
        "SELECT count(*) FROM public.stations_idempotentrequest WHERE scope LIKE %s",
        f"{STATION}:user:%",
    )[0][0]
    assert kept >= 2
    position = _query(
        "SELECT latitude, longitude, accuracy_m FROM escorts_runwatch WHERE run_id = %s", check
    )[0]
    assert (float(position[0]), float(position[1]), position[2]) == (LATITUDE, LONGITUDE, 25)
    leader.clean()


def _sign_in_again_elsewhere(leader: Field) -> None:
    """The session ends while the page stays open and the leader signs in again in another
    tab, which gives the phone a new form token: the open page's one is stale."""
    leader.tab.context.clear_cookies(name="sessionid")
    other = leader.tab.context.new_page()
    other.goto(leader.page.url.split("/station/")[0] + "/accounts/login/")
    other.fill("#id_username", "watch-leader")
    other.fill("#id_password", PASSWORD)
    with other.expect_navigation():
        other.locator("main button[type=submit]").click()
    other.close()


@pytest.mark.parametrize("language", ["en", "bn"])
def test_an_action_from_a_page_opened_before_signing_in_again_is_sent_not_sent_to_sign_in(
    tab, watched, language
):
    stale = watched["runs"][f"stale_{language}"]
    leader = Field(tab, language=language, username="watch-leader")
    page, t = leader.page, leader.tab.t
    leader.tab.go(f"/station/{STATION}/escorts/my-day/")
    _sign_in_again_elsewhere(leader)

    with page.expect_navigation():
        page.locator(f"[data-run='{stale}'] form[action$='/acknowledge/'] button").click()
    page.locator("#outbox-sent .alert-success").first.wait_for()
    assert t("Run acknowledged.") in page.locator("#outbox-sent").inner_text()
    assert _outbox_waiting(page) == 0
    status = _query("SELECT status FROM escorts_escortrun WHERE id = %s", stale)[0][0]
    assert status == "acknowledged"
    leader.tab.problems = [p for p in leader.tab.problems if "403" not in p]
    leader.clean()


def test_the_position_from_a_page_opened_before_signing_in_again_still_reaches_the_station(
    tab, watched
):
    check = watched["runs"]["check_en"]
    leader = Field(tab, language="en", username="watch-leader")
    page = leader.page
    leader.tab.go(f"/station/{STATION}/escorts/my-day/")

    def positions() -> int:
        return _query(
            "SELECT count(*) FROM escorts_runsign WHERE run_id = %s AND kind = 'position'", check
        )[0][0]

    _wait_for(positions, lambda count: count >= 1)
    before = positions()
    _sign_in_again_elsewhere(leader)
    # The page's next minutes (its "online" handler sends at once): the first is refused for
    # the stale token, the ones after go with the current one.
    for _ in range(3):
        page.evaluate("window.dispatchEvent(new Event('online'))")
        time.sleep(1)
    assert _wait_for(positions, lambda count: count > before) > before
    leader.tab.problems = [p for p in leader.tab.problems if "403" not in p]
    leader.clean()


@pytest.fixture
def watch_worker(server) -> Iterator[subprocess.Popen]:
    """A real Celery worker on the browser suite's database, reading this file's queue."""
    client = app.connection_for_write().default_channel.client
    client.delete(WATCH_QUEUE)
    env = _server_env()  # the server's own settings and database
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "escort_portal", "worker", "--pool=solo",
         "--without-mingle", "--without-gossip", "--without-heartbeat", "-Q", WATCH_QUEUE,
         "--hostname=watch@%h", "--loglevel=WARNING"],
        env=env, cwd=settings.BASE_DIR,
    )  # fmt: skip
    yield process
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    client.delete(WATCH_QUEUE)


def _tick_as_of(moment: datetime.datetime) -> None:
    """The minute job in Narayangarh, as beat queues it, run as of `moment`."""
    app.send_task(
        "escorts.station_tick",
        kwargs={"at": moment.isoformat()},
        queue=WATCH_QUEUE,
        headers={"_schema_name": STATION},
    )


def test_a_silent_run_goes_amber_then_red_and_the_ladder_hears_once_in_order(
    tab, watched, watch_worker
):
    silent = watched["runs"]["silent"]
    today = datetime.date.fromisoformat(watched["date"])
    started = datetime.datetime.combine(
        today, datetime.time(10, 0), tzinfo=timezone.get_current_timezone()
    )

    def rungs() -> list[tuple]:
        return _query(
            "SELECT rung, stage, reason, at, messages FROM escorts_runescalation "
            "WHERE run_id = %s ORDER BY id",
            silent,
        )

    # The clock stands at 10:20 (20 minutes without a sign: amber), then at 10:30 (red).
    _tick_as_of(started + datetime.timedelta(minutes=20))
    amber = _wait_for(rungs, lambda rows: len(rows) >= 3)
    _tick_as_of(started + datetime.timedelta(minutes=30))
    _tick_as_of(started + datetime.timedelta(minutes=31))  # a later minute tells nobody again
    told = _wait_for(rungs, lambda rows: len(rows) >= 5)
    time.sleep(1)  # time for a wrong third tick to do harm, if it were to
    told = rungs()
    assert watch_worker.poll() is None
    assert [row[:3] for row in amber] == [
        ("leader_app", "amber", "silent"),
        ("leader_phone", "amber", "silent"),
        ("duty_officer", "amber", "silent"),
    ]
    assert [row[:3] for row in told[3:]] == [("oc", "red", "silent"), ("sdpo", "red", "silent")]
    assert len(told) == 5
    assert {row[3] for row in told[:3]} == {started + datetime.timedelta(minutes=20)}
    assert {row[3] for row in told[3:]} == {started + datetime.timedelta(minutes=30)}

    # Each person once, in the ladder's order, in the portal (and by e-mail where they have it).
    messages = _query(
        "SELECT u.username, m.channel, m.kind, m.event FROM notifications_message m "
        "JOIN public.stations_user u ON u.id = m.recipient_id "
        "WHERE m.event LIKE %s ORDER BY m.id",
        f"watch:{silent}:%",
    )
    in_app = [username for username, channel, _kind, _event in messages if channel == "in_app"]
    assert in_app == ["watch-quiet", f"{STATION}-duty", f"{STATION}-oc", "sdpo"]
    assert {kind for _user, _channel, kind, _event in messages} == {"run_silent"}
    once = [(user, channel) for user, channel, _kind, _event in messages]
    assert len(once) == len(set(once))

    # The duty officer finds it in the portal's inbox, on a phone.
    duty = tab(width=360, height=740)
    duty.sign_in(f"{STATION}-duty", "bn")
    duty.go(f"/station/{STATION}/notifications/")
    assert f"R{silent}" in duty.page.locator("main").inner_text()
    duty.fits_width()
    duty.shot("watch-duty-inbox-bn")
    duty.assert_clean()


@pytest.mark.parametrize(("language", "agent"), [("en", "agent1"), ("bn", "agent2")])
def test_an_sos_without_a_connection_offers_an_sms_with_the_coordinates(
    tab, watched, language, agent
):
    field = Field(tab, language=language, username=f"{STATION}-{agent}")
    page, t = field.page, field.tab.t
    field.tab.go(f"/station/{STATION}/lenders/my-trips/")
    assert page.locator("[data-escort-state]").count() >= 1
    field.tab.fits_width()
    field.tab.shot(f"watch-trips-{language}")
    field.tab.click_and_wait(page.locator("a[data-cache-page]").first)
    page.locator("#sos-location").filter(has_text=t("Your location will be sent.")).wait_for()
    entry = int(re.search(r"/my-trips/(\d+)/sos/", page.url).group(1))

    field.offline(True)
    page.locator("#sos-form button[type=submit]").click()
    fallback = page.locator("#sos-offline")
    fallback.wait_for()
    sms = page.locator("#sos-sms").get_attribute("href")
    assert sms.startswith(f"sms:{SMS_NUMBER}?body=")
    text = page.locator("#sos-sms-text").inner_text()
    assert f"{LATITUDE:.6f},{LONGITUDE:.6f}" in text and f"T{entry}" in text
    assert f"{LATITUDE:.6f}%2C{LONGITUDE:.6f}" in sms
    assert fallback.locator("a[href^='tel:']").count() == 1
    assert t("waiting to send") in page.locator("#outbox").inner_text()
    field.tab.fits_width()
    field.tab.shot(f"watch-sos-offline-{language}")

    field.offline(False)
    page.locator("#sos-done").wait_for()
    assert _outbox_waiting(page) == 0
    alerts = _query(
        "SELECT latitude, longitude, accuracy_m FROM lenders_sosalert WHERE entry_id = %s",
        entry,
    )
    assert [(float(lat), float(lon), acc) for lat, lon, acc in alerts] == [
        (LATITUDE, LONGITUDE, 25)
    ]
    field.tab.shot(f"watch-sos-sent-{language}")
    field.clean()


@pytest.mark.parametrize(("language", "agent"), [("en", "agent1"), ("bn", "agent2")])
def test_an_sos_the_station_did_not_take_offers_the_sms_and_the_call_at_once(
    tab, watched, language, agent
):
    field = Field(tab, language=language, username=f"{STATION}-{agent}")
    page, t = field.page, field.tab.t
    field.tab.go(f"/station/{STATION}/lenders/my-trips/")
    field.tab.click_and_wait(page.locator("a[data-cache-page]").first)

    def trip_given_to_another(route) -> None:
        # The branch gave the trip to another agent while this page was open: the server
        # answers the SOS with its 404 page, which has no words for the page's script.
        if route.request.method == "POST":
            route.fulfill(status=404, content_type="text/html", body="<!doctype html><p>404</p>")
        else:
            route.continue_()

    page.route("**/sos/", trip_given_to_another)
    page.locator("#sos-form button[type=submit]").click()
    panel = page.locator("#sos-offline")
    panel.wait_for()
    assert t("The station did not get this SOS. Send it by SMS or call now:") in panel.inner_text()
    assert page.locator("#sos-sms").get_attribute("href").startswith(f"sms:{SMS_NUMBER}?body=")
    assert panel.locator("a[href^='tel:']").count() == 1
    said = page.locator("#outbox-sent").inner_text()
    assert t("It is no longer yours: the duty sheet or the roster changed.") in said
    assert _outbox_waiting(page) == 0
    field.tab.fits_width()
    field.tab.shot(f"watch-sos-refused-{language}")
    field.tab.problems = [p for p in field.tab.problems if "404" not in p]
    field.clean()


def test_the_duty_officers_live_board_refreshes_itself_on_a_phone(tab, watched):
    officer = tab(width=360, height=740)
    officer.sign_in(f"{STATION}-duty", "en")
    for language in ("en", "bn"):
        officer.switch_language(language)
        officer.go(f"/station/{STATION}/escorts/live/?refresh=5")
        page = officer.page
        rows = page.locator("[data-live-run]")
        assert rows.count() >= 3
        assert page.locator(f"[data-live-run='{watched['runs']['silent']}']").count() == 1
        assert page.locator("svg.live-map").count() == 1
        officer.fits_width()
        officer.shot(f"watch-live-board-{language}")
    # No inline script: the board's own file fetches a fresh copy and swaps it in.
    page.locator("#live-board[data-refreshed]").wait_for(timeout=20_000)
    assert page.locator("[data-live-run]").count() == rows.count()
    officer.assert_clean()
