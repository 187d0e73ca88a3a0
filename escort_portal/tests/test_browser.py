"""The portal in a real browser (Debian's chromium, driven by Playwright), in English and
Bengali: a lender files a roster on a phone-sized screen, a duty officer publishes a sheet, the
SDPO opens the dashboard. The server is a real one, on a database of its own with the demo
data; screenshots are kept under test-artifacts/browser/.
"""

from __future__ import annotations

import datetime
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from escort_portal.devservices import ensure_database

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "browser"
DATABASE = os.environ.get("BROWSER_DATABASE_NAME", "test_escort_portal_browser")
PASSWORD = "escort-demo"
# One words of each language that every page's navigation shows.
MARK = {"en": "My stations", "bn": "আমার থানা"}

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)

playwright_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_env() -> dict[str, str]:
    db = settings.DATABASES["default"]
    env = {k: v for k, v in os.environ.items() if k not in {"CELERY_BROKER_URL"}}
    env.update(
        {
            # The development settings without debug: second factor off, as for the demo.
            "DJANGO_SETTINGS_MODULE": "escort_portal.settings.local",
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{DATABASE}",
            # Tasks queued by the server go to a queue of their own, never a running worker's.
            "REDIS_URL": "redis://127.0.0.1:6379/14",
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/14",
            "CELERY_TASK_DEFAULT_QUEUE": "escort_portal_browser",
            "CACHE_URL": "redis://127.0.0.1:6379/14",
            "DEMO_PASSWORD": PASSWORD,
        }
    )
    return env


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        env=env,
        cwd=settings.BASE_DIR,
        check=True,
        capture_output=True,
        timeout=300,
    )


# Today's drafts for the publishing tests: cut-off moved to midnight and a short planner budget,
# then the cut-off job itself builds them.
PREPARE_DRAFTS = """
import datetime
from django_tenants.utils import tenant_context
from escorts import services
from stations.models import Station
for slug in ("pingla", "debra"):
    station = Station.objects.get(slug=slug)
    station.roster_cutoff = datetime.time(0, 0)
    station.planner_seconds = 2
    station.save()
    with tenant_context(station):
        assert services.duty_sheet_build_due() is not None
"""


@pytest.fixture(scope="session")
def live_server_url() -> Iterator[str]:
    env = _server_env()
    db = settings.DATABASES["default"]
    ensure_database(f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/postgres")
    subprocess.run(
        [
            "dropdb",
            "-h",
            db["HOST"],
            "-p",
            str(db["PORT"]),
            "-U",
            db["USER"],
            "--if-exists",
            DATABASE,
        ],
        check=True,
    )
    ensure_database(env["DATABASE_URL"])
    _manage(env, "migrate_schemas", "--verbosity=0")
    _manage(env, "seed_demo")
    _manage(env, "shell", "-c", PREPARE_DRAFTS)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", "--insecure", f"127.0.0.1:{port}"],
        env=env,
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/accounts/login/", timeout=2)  # noqa: S310 - our own server
            break
        except OSError:
            time.sleep(0.3)
    else:
        server.kill()
        pytest.fail("the server did not start")
    yield url
    server.terminate()
    server.wait(timeout=20)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


class Visit:
    """One person's browser tab: signs in, switches language, and keeps watch for errors."""

    def __init__(self, browser: object, url: str, *, width: int, height: int) -> None:
        self.url = url
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def go(self, path: str) -> None:
        response = self.page.goto(self.url + path)
        assert response is not None and response.status < 400, (path, response and response.status)

    def sign_in(self, username: str, language: str) -> None:
        self.go("/accounts/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", PASSWORD)
        with self.page.expect_navigation():
            self.page.click("main button[type=submit]")
        if language != "en":
            button = self.page.locator(f"button[name=language][value={language}]").first
            with self.page.expect_navigation():
                # The switch sits in the navbar, folded away on a phone: press it directly.
                button.evaluate("(el) => el.click()")
        assert MARK[language] in self.page.content()

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()
        assert self.errors == []


@pytest.fixture
def visit(browser, live_server_url) -> Iterator[object]:
    opened: list[Visit] = []

    def open_visit(*, width: int = 1280, height: int = 900) -> Visit:
        tab = Visit(browser, live_server_url, width=width, height=height)
        opened.append(tab)
        return tab

    yield open_visit
    for tab in opened:
        tab.close()


@pytest.mark.parametrize(("language", "start"), [("en", "16:00"), ("bn", "17:00")])
def test_a_lender_files_tomorrows_roster_on_a_phone(visit, language, start):
    tab = visit(width=360, height=740)
    tab.sign_in("debra-lender1", language)
    tab.go("/station/debra/lenders/branches/")
    branch_path = tab.page.url.removeprefix(tab.url)
    tomorrow = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    tab.go(f"{branch_path}roster/{tomorrow}/add/")
    agent = tab.page.locator("#id_agent option").nth(1).get_attribute("value")
    area = tab.page.locator("#id_area option").nth(1).get_attribute("value")
    tab.page.select_option("#id_agent", agent)
    tab.page.select_option("#id_area", area)
    tab.page.fill("#id_centres", "Kalmijol centre 2")
    tab.page.fill("#id_depart_at", start)
    tab.page.fill("#id_return_at", "09:00")
    tab.page.select_option("#id_cash_band", "lt50k")
    with tab.page.expect_navigation():
        tab.page.locator("main button[type=submit]").first.click()
    # A broken rule is explained, and what was typed is still there.
    assert tab.page.locator(".invalid-feedback, .alert-danger").count() >= 1
    assert tab.page.input_value("#id_centres") == "Kalmijol centre 2"
    tab.shot(f"lender-error-{language}")

    end = f"{int(start[:2]) + 1:02d}:00"
    tab.page.fill("#id_return_at", end)
    with tab.page.expect_navigation():
        tab.page.locator("main button[type=submit]").first.click()
    assert f"{start}\u2013{end}" in tab.page.content()
    tab.shot(f"lender-roster-{language}")


@pytest.mark.parametrize(("language", "station"), [("en", "pingla"), ("bn", "debra")])
def test_a_duty_officer_publishes_the_sheet_and_prints_it(visit, language, station):
    tab = visit()
    tab.sign_in(f"{station}-duty", language)
    today = datetime.date.today().isoformat()
    tab.go(f"/station/{station}/escorts/sheet/{today}/")
    tab.shot(f"sheet-draft-{language}")
    tab.go(f"/station/{station}/escorts/sheet/{today}/publish/")
    with tab.page.expect_navigation():
        tab.page.locator("main form button[type=submit].btn-success").click()
    assert "/v" in tab.page.url
    tab.shot(f"sheet-published-{language}")
    pdf_link = tab.page.locator("a[href$='print.pdf']").first.get_attribute("href")
    response = tab.context.request.get(tab.url + pdf_link)
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body()[:4] == b"%PDF"


@pytest.mark.parametrize("language", ["en", "bn"])
def test_the_sdpo_sees_every_station_and_opens_one(visit, language):
    tab = visit()
    tab.sign_in("sdpo", language)
    tab.go("/sdpo/")
    page = tab.page.content()
    for slug in ["kharagpur-town", "kharagpur-rural", "narayangarh", "debra", "pingla"]:
        assert f"/station/{slug}/" in page
    tab.shot(f"dashboard-{language}")
    with tab.page.expect_navigation():
        tab.page.locator("a[href='/station/pingla/']").first.click()
    assert tab.page.url.endswith("/station/pingla/")
    tab.shot(f"sdpo-station-{language}")
