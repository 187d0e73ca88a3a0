"""The portal in a real browser (Debian's chromium, driven by Playwright), in English and
Bengali: a lender files tomorrow's roster on a phone-sized screen, a duty officer publishes and
prints a sheet, the SDPO opens the dashboard and a station.

The server is a real one (`manage.py runserver`, a process of its own) on a database of its own
with the demo data, so nothing here shares pytest-django's test database or its transactions.
Every page must answer without a server error and without a script error; screenshots (full
page) and the server's log are kept under test-artifacts/browser/.
"""

from __future__ import annotations

import datetime
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

import psycopg2
import pytest
import redis
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext
from psycopg2 import sql

from escort_portal.formats import native_digits
from stations.demo import STATIONS

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(
        f"{CHROMIUM} is missing: `make test` installs it as root with apt-get "
        "(apt-get install chromium fonts-noto-core)",
        allow_module_level=True,
    )
playwright_api = pytest.importorskip("playwright.sync_api")

ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "browser"
# Named after this checkout's test database (test_escort_portal_browser by default), so runs with
# their own TEST_DATABASE_NAME never drop each other's.
DATABASE = os.environ.get(
    "BROWSER_DATABASE_NAME", f"{settings.DATABASES['default']['TEST']['NAME']}_browser"
)
# The suite's own Redis database (TEST_REDIS_URL), never a development one; the queue is named
# after this checkout's test queue, so two checkouts never share one.
REDIS_URL = settings.REDIS_URL
QUEUE = f"{settings.CELERY_TASK_DEFAULT_QUEUE}_browser"
PASSWORD = "escort-demo"
# The navigation's "My stations" link, written out rather than looked up, so that a language
# switch that did nothing, or a catalogue that was not compiled, fails here.
MARK = {"en": "My stations", "bn": "আমার থানা"}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LANGUAGES = ["en", "bn"]


def translated(language: str, text: str) -> str:
    with translation.override(language):
        return gettext(text)


# --- The server and its database ---


def _database_url(name: str) -> str:
    db = settings.DATABASES["default"]
    user = quote(db.get("USER") or "postgres")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{name}"


def _recreate_database() -> None:
    db = settings.DATABASES["default"]
    connection = psycopg2.connect(
        dbname="postgres",
        user=db.get("USER") or "postgres",
        password=db.get("PASSWORD") or None,
        host=db.get("HOST") or "127.0.0.1",
        port=db.get("PORT") or 5432,
    )
    connection.autocommit = True  # DROP and CREATE DATABASE run outside a transaction
    with connection.cursor() as cursor:
        # FORCE: a server left over from an interrupted run may still hold connections.
        cursor.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE))
        )
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    connection.close()


def _server_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            # The development settings with debug off: demo logins without a second factor,
            # static files from the source folders (runserver --insecure), no debug pages.
            "DJANGO_SETTINGS_MODULE": "escort_portal.settings.local",
            "DEBUG": "false",
            "OTP_REQUIRED": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": _database_url(DATABASE),
            # Queued tasks wait in a queue no worker reads; the suite empties it at both ends.
            "REDIS_URL": REDIS_URL,
            "CELERY_BROKER_URL": REDIS_URL,
            "CELERY_TASK_DEFAULT_QUEUE": QUEUE,
            "CACHE_URL": REDIS_URL,
            # Six sign-ins from one address in a few seconds, run after run: no login limit.
            "RATE_LIMIT_LOGIN": "1000/m",
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
            # Whatever a developer's .env says, nothing leaves the machine.
            "SMS_GATEWAY_URL": "",
            "WHATSAPP_API_URL": "",
            # The numbers a person's "WhatsApp and SMS" page tells them to write to.
            "WHATSAPP_BUSINESS_NUMBER": "+919800000000",
            "SMS_INBOUND_NUMBER": "+919800000001",
            "DEMO_PASSWORD": PASSWORD,
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"manage.py {args[0]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )


# Today's draft duty sheet in Pingla and Debra, built by the cut-off job itself (as the worker
# would at the cut-off) with a short planner budget. Before today's cut-off the job is told the
# time is just past it.
PREPARE_DRAFTS = """
import datetime
from django.utils import timezone
from django_tenants.utils import tenant_context
from escorts.tests.building import build_due
from lenders.services import cutoff_at
from stations.models import Station
Station.objects.filter(slug__in=["pingla", "debra"]).update(planner_seconds=2)
for station in Station.objects.filter(slug__in=["pingla", "debra"]):
    with tenant_context(station):
        now = max(timezone.now(), cutoff_at(timezone.localdate()) + datetime.timedelta(minutes=1))
        sheet = build_due(now=now)
        assert sheet is not None and sheet.status == "draft", (station.slug, sheet)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _empty_queue() -> None:
    redis.Redis.from_url(REDIS_URL).delete(QUEUE)


@dataclass
class Server:
    url: str
    log: Path

    def log_size(self) -> int:
        return self.log.stat().st_size

    def log_since(self, offset: int) -> str:
        with self.log.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    """A real server on a fresh database with the demo data and today's two drafts."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    env = _server_env()
    _recreate_database()
    _empty_queue()
    _manage(env, "migrate_schemas", "--verbosity=0")
    port = _free_port()
    log_path = ARTIFACTS / f"server-{DATABASE}.log"
    # The server starts while the demo data loads; it is asked for a page only afterwards.
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "runserver",
                "--noreload",
                "--insecure",  # static files from the source folders, with debug off
                f"127.0.0.1:{port}",
            ],
            env=env,
            cwd=settings.BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _manage(env, "seed_demo")
        _manage(env, "shell", "-c", PREPARE_DRAFTS)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/accounts/login/", timeout=2).close()  # noqa: S310 - our own server on loopback
                break
            except (urllib.error.URLError, OSError):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the server did not start; see {log_path}")
                time.sleep(0.2)
        yield Server(url=url, log=log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        _empty_queue()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        # A fresh temporary profile per launch; no network beyond the server on loopback.
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# --- One person's browser tab ---


class Tab:
    """A browser context of its own: signs in, switches language, takes screenshots, and
    notes every server error, failed page and script error on the way."""

    def __init__(self, browser: object, server: Server, *, width: int, height: int) -> None:
        self.server = server
        self.log_offset = server.log_size()
        # An Indian English browser: the Bengali pages come from the navbar's switch alone.
        self.context = browser.new_context(
            viewport={"width": width, "height": height},
            locale="en-IN",
            timezone_id=settings.TIME_ZONE,
        )
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        self.page.on("response", self._on_response)

    def _on_console(self, message: object) -> None:
        if message.type == "error":
            self.problems.append(f"console error on {self.page.url}: {message.text}")

    def _on_response(self, response: object) -> None:
        failed = response.status >= 500 or (
            response.status >= 400 and response.request.resource_type == "document"
        )
        if failed:
            self.problems.append(f"{response.status} for {response.request.method} {response.url}")

    @property
    def path(self) -> str:
        return self.page.url.removeprefix(self.server.url)

    def _arrived(self, response: object) -> None:
        assert response is not None and response.status < 400, (
            f"{response and response.status} for {self.page.url}; {self.problems}"
        )

    def go(self, path: str) -> None:
        self._arrived(self.page.goto(self.server.url + path))

    def click_and_wait(self, locator: object) -> None:
        with self.page.expect_navigation() as navigation:
            locator.click()
        self._arrived(navigation.value)

    def sign_in(self, username: str, language: str) -> None:
        self.go("/accounts/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", PASSWORD)
        self.click_and_wait(self.page.locator("main button[type=submit]"))
        assert "/accounts/login/" not in self.page.url, f"{username} could not sign in"
        self.switch_language(language)

    def switch_language(self, language: str) -> None:
        """With the navbar's button, as a person would: on a phone the menu opens first."""
        # The choice is saved on the account, so a user may come back in either language.
        if self.page.locator("html").get_attribute("lang") != language:
            toggler = self.page.locator("nav .navbar-toggler")
            if toggler.is_visible():
                toggler.click()
                self.page.locator("#main-nav.show").wait_for()
            self.click_and_wait(self.page.locator(f"nav button[name=language][value={language}]"))
        assert self.page.locator("html").get_attribute("lang") == language
        assert MARK[language] in self.page.locator("nav").text_content()

    def t(self, text: str) -> str:
        return translated(self.page.locator("html").get_attribute("lang"), text)

    def fits_width(self) -> None:
        """Nothing sticks out sideways: a phone user never scrolls left and right."""
        overflow = self.page.evaluate(
            "() => document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0, f"{self.path} is {overflow}px wider than the screen"

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def assert_clean(self) -> None:
        """No failed page, no server error in the log, no script error."""
        log = self.server.log_since(self.log_offset)
        if "Traceback" in log:
            self.problems.append(f"server log:\n{log[-4000:]}")
        assert self.problems == []


@pytest.fixture
def tab(browser, server) -> Iterator[Callable[..., Tab]]:
    opened: list[Tab] = []

    def open_tab(*, width: int = 1280, height: int = 900) -> Tab:
        opened.append(Tab(browser, server, width=width, height=height))
        return opened[-1]

    yield open_tab
    for each in opened:
        each.context.close()


def _local_today() -> datetime.date:
    # The station's day (Asia/Kolkata), not this machine's.
    return timezone.localdate()


# --- The scenarios ---


@pytest.mark.parametrize(
    ("language", "depart", "back"), [("en", "16:00", "17:00"), ("bn", "17:00", "18:00")]
)
def test_a_lender_files_tomorrows_roster_on_a_phone(tab, language, depart, back):
    # The demo's trips end by 15:45, and the two languages take one hour each after that, so the
    # agent has no clashing trip.
    lender = tab(width=360, height=740)
    lender.sign_in("debra-lender1", language)

    # The only branch of this manager opens by itself; several would be listed.
    lender.go("/station/debra/lenders/branches/")
    if lender.path.endswith("/branches/"):
        lender.click_and_wait(lender.page.locator("a.list-group-item-action").first)
    lender.fits_width()
    tomorrow = lender.page.locator(".card-header a").filter(has_text=lender.t("Tomorrow"))
    lender.click_and_wait(tomorrow)
    lender.fits_width()
    assert lender.path.endswith(
        f"/roster/{(_local_today() + datetime.timedelta(days=1)):%Y-%m-%d}/"
    )
    roster_path = lender.path

    lender.click_and_wait(lender.page.locator("main a.btn").filter(has_text=lender.t("Add entry")))
    lender.fits_width()
    form = lender.page
    agent = form.locator("#id_agent option").nth(1)
    area = form.locator("#id_area option").nth(1)
    form.select_option("#id_agent", agent.get_attribute("value"))
    form.select_option("#id_area", area.get_attribute("value"))
    centres = f"Browser centre {language}"
    form.fill("#id_centres", centres)
    form.fill("#id_depart_at", depart)
    form.fill("#id_return_at", back)
    form.select_option("#id_cash_band", index=1)
    lender.click_and_wait(
        form.locator("main button[type=submit]").filter(has_text=lender.t("Save entry"))
    )

    assert lender.path == roster_path
    assert lender.t("Entry added to the roster.") in form.locator(".alert-success").inner_text()
    listed = form.locator(".list-group-item").filter(has_text=centres)
    assert listed.count() == 1
    # A Bengali page writes its times in Bengali digits.
    with translation.override(language):
        assert native_digits(f"{depart}\u2013{back}") in listed.inner_text()
    lender.fits_width()
    lender.shot(f"lender-roster-{language}")

    # A trip that comes back before it leaves: the rule's message, and what was typed kept.
    lender.click_and_wait(form.locator("main a.btn").filter(has_text=lender.t("Add entry")))
    form.select_option("#id_agent", agent.get_attribute("value"))
    form.select_option("#id_area", area.get_attribute("value"))
    form.fill("#id_centres", "Backwards trip")
    form.fill("#id_depart_at", "19:30")
    form.fill("#id_return_at", "19:00")
    form.select_option("#id_cash_band", index=2)
    band = form.locator("#id_cash_band").input_value()
    lender.click_and_wait(
        form.locator("main button[type=submit]").filter(has_text=lender.t("Save entry"))
    )

    assert lender.path.endswith("/add/")
    error = form.locator(".invalid-feedback").filter(
        has_text=lender.t("Return must be after departure, on the same day.")
    )
    assert error.count() >= 1 and error.first.is_visible()
    assert form.input_value("#id_depart_at") == "19:30"
    assert form.input_value("#id_return_at") == "19:00"
    assert form.input_value("#id_centres") == "Backwards trip"
    assert form.input_value("#id_agent") == agent.get_attribute("value")
    assert form.input_value("#id_area") == area.get_attribute("value")
    assert form.input_value("#id_cash_band") == band
    lender.fits_width()
    lender.shot(f"lender-error-{language}")
    lender.assert_clean()


@pytest.mark.parametrize(("language", "station"), [("en", "pingla"), ("bn", "debra")])
def test_a_duty_officer_publishes_the_sheet_and_prints_it(tab, language, station):
    officer = tab()
    officer.sign_in(f"{station}-duty", language)
    today = f"{_local_today():%Y-%m-%d}"
    officer.go(f"/station/{station}/escorts/sheet/{today}/")
    page = officer.page
    heading = page.locator("main h1")
    assert officer.t("Draft") in heading.inner_text()
    officer.shot(f"sheet-draft-{language}")

    officer.click_and_wait(page.locator("main a.btn-success").filter(has_text=officer.t("Publish")))
    assert officer.path.endswith(f"/sheet/{today}/publish/")
    officer.shot(f"sheet-confirm-{language}")
    officer.click_and_wait(
        page.locator("main form button[type=submit]").filter(has_text=officer.t("Yes, publish"))
    )

    assert officer.path == f"/station/{station}/escorts/sheet/{today}/v1/"
    assert officer.t("Published") in heading.inner_text()
    with translation.override(language):
        published = officer.t("Version %(v)s published.") % {"v": native_digits("1")}
    assert published in page.locator(".alert-success").inner_text()
    officer.shot(f"sheet-published-{language}")

    pdf = page.locator("main a").filter(has_text=officer.t("Print (PDF)"))
    response = page.request.get(officer.server.url + pdf.get_attribute("href"))
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body()[:5] == b"%PDF-"
    officer.assert_clean()


@pytest.mark.parametrize(("language", "station"), [("en", "pingla"), ("bn", "debra")])
def test_the_officer_in_charge_reads_who_published_the_sheet(tab, language, station):
    """After the duty officer's scenario: the publishing is in the station's audit trail."""
    oc = tab()
    oc.sign_in(f"{station}-oc", language)
    oc.go(f"/station/{station}/audit/")
    page = oc.page
    page.select_option("select[name=model]", "escorts.dutysheet")
    page.fill("input[name=actor]", f"{station}-duty")
    oc.click_and_wait(page.locator("main form button[type=submit]"))

    rows = page.locator("main table tbody tr")
    published = rows.filter(has_text=oc.t("Published")).first
    assert f"{station}-duty" in published.inner_text()
    assert oc.t("Changed") in published.inner_text()
    oc.shot(f"audit-trail-{language}")
    oc.assert_clean()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_sdpo_sees_every_station_and_opens_one(tab, language):
    sdpo = tab()
    sdpo.sign_in("sdpo", language)
    sdpo.go("/sdpo/")
    page = sdpo.page
    assert sdpo.t("SDPO dashboard") in page.locator("main h1").inner_text()
    table = page.locator("main table").first
    for demo in STATIONS:
        link = table.locator(f"a[href='/station/{demo.slug}/']")
        assert link.count() == 1, demo.slug
        assert link.inner_text() == (demo.name_bn if language == "bn" else demo.name)
    sdpo.shot(f"dashboard-{language}")

    pingla = next(demo for demo in STATIONS if demo.slug == "pingla")
    sdpo.click_and_wait(table.locator("a[href='/station/pingla/']"))
    assert sdpo.path == "/station/pingla/"
    station_name = pingla.name_bn if language == "bn" else pingla.name
    assert station_name in page.locator("nav").inner_text()
    sdpo.shot(f"sdpo-station-{language}")
    sdpo.assert_clean()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_sdpo_reads_each_station_of_the_dashboard_on_a_phone(tab, language):
    """At 360 px the stations table is a card per station, each figure beside its column's
    name: no columns squeezed under headers wrapped to four lines, nothing to scroll sideways."""
    sdpo = tab(width=360, height=740)
    sdpo.sign_in("sdpo", language)
    sdpo.go("/sdpo/")
    sdpo.fits_width()
    page = sdpo.page
    for table in (
        page.locator("main table[data-stations]"),
        page.locator("main table[data-trends]"),
    ):
        box = table.evaluate("t => [t.scrollWidth, t.parentElement.clientWidth]")
        assert box[0] <= box[1], box
        assert not table.locator("thead").is_visible()
    debra = page.locator(
        "main table[data-stations] tr", has=page.locator("a[href='/station/debra/']")
    )
    # The column's name is drawn before each figure (CSS ::before from data-label).
    shown = debra.evaluate(
        "tr => [...tr.cells].map(c => getComputedStyle(c, '::before').content.slice(1, -1))"
    )
    for header in ("Cut-off", "Rosters filed / missing", "Runs (ack. / done / overdue)", "SOS"):
        assert sdpo.t(header) in shown, (header, shown)
    sdpo.shot(f"dashboard-phone-{language}")
    sdpo.assert_clean()


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_lender_gets_a_code_to_link_their_phone_from_the_menu(tab, language):
    lender = tab(width=360, height=740)
    lender.sign_in("pingla-lender1", language)
    toggler = lender.page.locator("nav .navbar-toggler")
    if toggler.is_visible():
        toggler.click()
        lender.page.locator("#main-nav.show").wait_for()
    menu = lender.page.locator("nav a").filter(has_text=lender.t("WhatsApp and SMS"))
    lender.click_and_wait(menu)
    assert lender.path == "/chat/phone/"
    lender.fits_width()
    get_code = lender.page.locator("main button").filter(has_text=lender.t("Get a code"))
    lender.click_and_wait(get_code)
    code = lender.page.locator("[data-link-code]").inner_text()
    assert re.fullmatch(r"\d{4} \d{4}", code)
    # The link opens WhatsApp with the code in a message that names the portal: the opt-in.
    link = lender.page.locator("main a[href^='https://wa.me/919800000000?text=']")
    assert link.count() == 1 and code in unquote(link.get_attribute("href"))
    assert "+919800000001" in lender.page.locator("main").inner_text()
    lender.fits_width()
    lender.shot(f"phone-link-{language}")
    lender.assert_clean()


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_agent_reaches_sos_in_one_tap_and_the_sdpos_bell_shows_it(tab, language):
    """The field agent on a phone: signed in, their own day, one tap on SOS, the confirm; the
    SDPO at a desk sees it on the bell and first on the dashboard."""
    agent = tab(width=360, height=740)
    agent.sign_in(f"debra-agent{1 if language == 'en' else 2}", language)
    page = agent.page
    assert agent.path.endswith("/lenders/my-trips/"), agent.path
    agent.fits_width()
    sos = page.locator("main a.btn-danger[href*='/sos/']").first
    agent.click_and_wait(sos)
    assert re.search(r"/my-trips/\d+/sos/$", agent.path), agent.path
    agent.fits_width()
    page.locator("#sos-form button[type=submit]").click()
    page.locator("#sos-done").wait_for()
    # Sent: the page no longer asks "Send SOS?" nor offers "Cancel", and says it once.
    assert not page.locator("main h1").is_visible()
    buttons = page.locator("main a.btn:visible").all_inner_texts()
    assert buttons == [translated(language, "Back to my trips")]
    assert page.locator("#outbox-sent .alert").count() == 0
    agent.fits_width()
    agent.shot(f"walk-agent-sos-{language}")
    agent.assert_clean()

    sdpo = tab()
    sdpo.sign_in("sdpo", language)
    sdpo.go("/sdpo/")
    bell = sdpo.page.locator("#notifications-bell [data-unread]")
    assert int(bell.get_attribute("data-unread")) >= 1
    first = sdpo.page.locator("main [data-open-sos]").first
    assert first.get_attribute("href").startswith("/station/debra/lenders/sos/#sos-")
    sdpo.fits_width()
    sdpo.click_and_wait(sdpo.page.locator("#notifications-bell"))
    assert sdpo.path == "/sdpo/inbox/"
    assert sdpo.page.locator("main [data-subdivision-message]").count() >= 1
    sdpo.fits_width()
    sdpo.shot(f"walk-sdpo-bell-{language}")
    sdpo.assert_clean()


# What a worker would do with the rebuild the officer asked for (this suite runs no worker).
BUILD_WAITING = """
from django_tenants.utils import tenant_context
from escorts import services
from escorts.models import DutySheet
from stations.models import Station
with tenant_context(Station.objects.get(slug="pingla")):
    for sheet in DutySheet.objects.filter(build_status=DutySheet.Build.RUNNING):
        services.duty_sheet_build_run(sheet_pk=sheet.pk)
"""


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_rebuild_keeps_pinned_work_each_agent_meets_at_their_own_time_and_phones_fit(
    tab, language
):
    officer = tab()
    officer.sign_in("pingla-duty", language)
    page = officer.page
    sheet = f"/station/pingla/escorts/sheet/{_local_today():%Y-%m-%d}/"
    officer.go(sheet)
    edit = page.locator("main a").filter(has_text=officer.t("Meeting point / team")).first
    officer.click_and_wait(edit)
    place = f"Walk meeting point {language}"
    page.fill("#id_meeting_point", place)
    officer.click_and_wait(page.locator("main form [type=submit]").first)
    assert officer.path == sheet

    officer.go(f"{sheet}rebuild/")
    assert place in page.locator("main [data-kept]").inner_text()
    officer.shot(f"walk-rebuild-confirm-{language}")
    officer.click_and_wait(
        page.locator("main button[type=submit]").filter(has_text=officer.t("Yes, rebuild"))
    )
    _manage(_server_env(), "shell", "-c", BUILD_WAITING)
    # The page follows the build and reloads itself once it is done, as the officer sees it (going
    # to the page at that moment raced the reload: the navigation came back without an answer).
    page.locator("[data-progress-url]").wait_for(state="detached")
    page.wait_for_load_state()
    assert officer.path == sheet
    assert officer.t("Draft") in page.locator("main h1").inner_text()
    assert place in page.locator("main").inner_text()
    officer.shot(f"walk-rebuilt-{language}")
    officer.click_and_wait(page.locator("main a.btn-success").filter(has_text=officer.t("Publish")))
    officer.click_and_wait(
        page.locator("main form button[type=submit]").filter(has_text=officer.t("Yes, publish"))
    )
    officer.assert_clean()

    # The lender on a phone: each agent meets the escort at their own departure, not the run's.
    lender = tab(width=360, height=740)
    lender.sign_in("pingla-lender1", language)
    lender.go("/station/pingla/lenders/branches/")
    if lender.path.endswith("/branches/"):
        lender.click_and_wait(lender.page.locator("a.list-group-item-action").first)
    branch = re.search(r"/lenders/branch/(\d+)/", lender.path).group(1)
    lender.go(f"/station/pingla/escorts/branch/{branch}/escorts/{_local_today():%Y-%m-%d}/")
    escorted = lender.page.locator("main .card").filter(has=lender.page.locator(".text-bg-success"))
    assert escorted.count() >= 1
    for n in range(escorted.count()):
        card = escorted.nth(n)
        depart = card.locator("h2").inner_text().rsplit(" ", 1)[1].split("-")[0]
        assert depart in card.locator("p").nth(1).inner_text(), card.inner_text()
    lender.fits_width()
    lender.shot(f"walk-lender-escorts-{language}")
    lender.assert_clean()

    escort = tab(width=360, height=740)
    escort.sign_in("pingla-escort1", language)
    assert escort.path.endswith("/escorts/my-day/"), escort.path
    escort.fits_width()
    escort.shot(f"walk-escort-day-{language}")
    escort.assert_clean()


# What a phone's links may lead to that is not a page to look at: files, other apps, the admin.
NOT_PAGES = re.compile(r"\.(pdf|csv|xlsx|png|json|js)(\?|$)|/admin/|/api/|/logout|/static/|sw\.js")


def _links(tab: Tab) -> list[str]:
    """The portal's own page links on the current page, in the menu and the content, without
    their anchors."""
    hrefs = tab.page.eval_on_selector_all(
        "nav a[href^='/'], main a[href^='/']",
        "links => links.map(link => link.getAttribute('href'))",
    )
    return [href.split("#")[0] for href in hrefs if href and not NOT_PAGES.search(href)]


@pytest.mark.parametrize(
    ("username", "language"),
    [
        ("debra-lender1", "bn"),
        ("debra-lender1", "en"),
        ("debra-agent1", "bn"),
        ("pingla-escort1", "bn"),
    ],
)
def test_every_page_a_phone_user_can_reach_fits_the_phone(tab, language, username):
    """Each phone role follows every link it is shown, two steps deep from where it lands: no
    page is wider than a 360 px screen, none fails."""
    phone = tab(width=360, height=740)
    phone.sign_in(username, language)
    seen: set[str] = set()
    queue = [phone.path.split("#")[0]]
    for _depth in range(3):
        found: list[str] = []
        for path in queue:
            if path in seen or len(seen) >= 40:
                continue
            seen.add(path)
            phone.go(path)
            phone.fits_width()
            found += _links(phone)
        queue = found
    assert len(seen) >= 5, seen
    phone.assert_clean()
