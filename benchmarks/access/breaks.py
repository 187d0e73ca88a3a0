"""The breaks of the trust review, tried again from the outside against a running portal.

    python -m benchmarks.access.breaks [--url http://127.0.0.1:8103] [--password escort-demo]

Plays an attacker and curious insiders over HTTP against a portal serving the demo data
(`make run`, development settings, so the demo logins sign in with a password alone), started
with `TRUSTED_PROXIES=127.0.0.1` as behind the README's reverse proxy. It changes the demo data
(deactivates an agent, suspends a branch, disables a login, each put back afterwards), so point it
at a disposable database. Prints one line per break: what was tried, what answered, and whether
the break reproduces; exits non-zero when one does. Breaks 5 and 6 (the second factor) are
production's: the smoke run and the second-factor tests try them, with OTP_REQUIRED on.
"""

from __future__ import annotations

import argparse
import datetime
import io
import itertools
import json
import re
import statistics
import sys
import time
import zipfile
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import requests

STATION, OTHER = "debra", "pingla"
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
MASK = re.compile(r'(name="(?:csrfmiddlewaretoken|submission_token)" value=")[^"]+"')
results: list[tuple[str, str, bool]] = []


def call(method: str, url: str, **kw) -> requests.Response:
    return requests.request(method, url, timeout=120, **kw)


def report(name: str, seen: str, holds: bool) -> None:
    results.append((name, seen, holds))
    print(f"{'held' if holds else 'REPRODUCES'} | {name} | {seen}", flush=True)


_addresses = itertools.count(1)


class Person:
    """A browser of its own, at an address of its own behind the proxy (the sign-in limit is per
    client address)."""

    def __init__(self, url: str, username: str = "", password: str = "", ip: str = "") -> None:
        self.url, self.session = url, requests.Session()
        number = next(_addresses)
        # As the reverse proxy passes the client on.
        self.session.headers["X-Forwarded-For"] = ip or f"10.8.{number // 250}.{number % 250 + 1}"
        if username:
            answer = self.sign_in(username, password)
            assert answer.status_code == 302, (username, answer.status_code)

    def get(self, path: str, **kw) -> requests.Response:
        return self.session.get(self.url + path, allow_redirects=False, **kw)

    def post(self, path: str, data: dict | None = None, **kw) -> requests.Response:
        page = self.session.get(self.url + path, allow_redirects=False)
        found = TOKEN.search(page.text) or TOKEN.search(self.get("/accounts/login/").text)
        fields = {"csrfmiddlewaretoken": found.group(1), **(data or {})}
        headers = {"Referer": self.url + path}
        return self.session.post(
            self.url + path, data=fields, headers=headers, allow_redirects=False, **kw
        )

    def sign_in(self, username: str, password: str) -> requests.Response:
        return self.post("/accounts/login/", {"username": username, "password": password})


class _Form(HTMLParser):
    """A page's form fields as a browser would send them unchanged (for the admin's form)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, list[str]] = {}
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name", "")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            checkable = a.get("type") in ("checkbox", "radio")
            self.fields.setdefault(name, []).append(a.get("value", "on" if checkable else ""))
        elif tag == "select" and name:
            self._select, self._options, self._multiple = name, [], "multiple" in a
        elif tag == "option" and self._select:
            self._options.append((a.get("value", ""), "selected" in a))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select:
            chosen = [v for v, s in self._options if s]
            if not chosen and not self._multiple and self._options:
                chosen = [self._options[0][0]]
            self.fields.setdefault(self._select, []).extend(chosen)
            self._select = None


def admin_set_active(admin: Person, username: str, active: bool) -> None:
    found = admin.get(f"/admin/stations/user/?q={username}")
    pk = re.search(r'href="/admin/stations/user/(\d+)/change/', found.text).group(1)
    url = f"/admin/stations/user/{pk}/change/"
    form = _Form()
    form.feed(admin.get(url).text)
    form.fields.pop("is_active", None)
    if active:
        form.fields["is_active"] = ["on"]
    answer = admin.session.post(
        admin.url + url,
        data={**form.fields, "_save": "Save"},
        headers={"Referer": admin.url + url},
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.text[-2000:]


def masked(answer: requests.Response, path: str) -> tuple:
    body = MASK.sub(r"\1<t>", answer.text.replace(path, "<asked>"))
    headers = {
        k: v.replace(path, "<asked>")
        for k, v in answer.headers.items()
        if k not in ("Date", "Set-Cookie", "Expires", "Content-Length")
    }
    return answer.status_code, headers, body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8103")
    parser.add_argument("--password", default="escort-demo")
    # The station's day, not this machine's: from 18:30 UTC they differ.
    parser.add_argument("--time-zone", default="Asia/Kolkata", help="the portal's TIME_ZONE")
    args = parser.parse_args()
    url, password = args.url.rstrip("/"), args.password
    today = datetime.datetime.now(ZoneInfo(args.time_zone)).date().isoformat()
    s = f"/station/{STATION}"

    manager = Person(url, f"{STATION}-lender1", password)
    branch = re.search(r"/branch/(\d+)/", manager.get(f"{s}/lenders/branches/").headers["Location"])
    base = f"{s}/lenders/branch/{branch.group(1)}"
    roster_page = manager.get(f"{base}/roster/{today}/").text
    # 1. A field agent's login has the branch's powers.
    agent = Person(url, f"{STATION}-agent1", password)
    # A trip of the branch to try to change: the roster links its entries until the cut-off, the
    # agent's own page their trips all day.
    linked = re.search(r"/entry/(\d+)/", roster_page) or re.search(
        r"/my-trips/(\d+)/sos/", agent.get(f"{s}/lenders/my-trips/").text
    )
    if linked is None:
        sys.exit(f"{STATION}-lender1's branch has no trip on {today}: seed the demo data again")
    entry = linked.group(1)
    tries = {
        path: agent.get(path).status_code
        for path in (
            f"{base}/roster/{today}/",
            f"{base}/roster/{today}/add/",
            f"{base}/roster/{today}/upload/",
            f"{base}/agents/",
            f"{s}/escorts/branch/{branch.group(1)}/escorts/{today}/",
        )
    }
    edit = agent.post(f"{base}/entry/{entry}/", {"depart_at": "06:00"}).status_code
    report(
        "1 agent login with the branch's powers",
        f"roster, add, upload, agents, escorts: {sorted(set(tries.values()))}; POST entry: {edit}",
        all(code in (403, 404) for code in tries.values()) and edit in (403, 404),
    )

    # 2. A deactivated agent keeps their login.
    agents_page = manager.get(f"{base}/agents/").text
    agent_pk = min(int(pk) for pk in re.findall(r"/agents/(\d+)/toggle/", agents_page))
    trips = agent.get(f"{s}/lenders/my-trips/").text
    own = re.findall(r"/my-trips/(\d+)/sos/", trips)
    manager.post(f"{base}/agents/{agent_pk}/toggle/", {"active": "0"})
    after = agent.get(f"{s}/lenders/my-trips/")
    again = Person(url, f"{STATION}-agent1", password)
    sos = [again.post(f"{s}/lenders/my-trips/{pk}/sos/").status_code for pk in own[:1]]
    manager.post(f"{base}/agents/{agent_pk}/toggle/", {"active": "1"})
    report(
        "2 deactivated agent still signed in, SOS",
        f"open session: {after.status_code} to {after.headers.get('Location', '')[:20]}; "
        f"signed in again, SOS POST: {sos}",
        after.status_code == 302 and all(code == 404 for code in sos),
    )

    # 3. An API key outlives its owner.
    made = manager.post(f"{base}/api-keys/", {"name": "Breaks check"}).text
    key = re.search(r'id="new-key">([^<]+)<', made).group(1).strip()
    api = {"Authorization": f"Api-Key {key}"}
    before = call("get", f"{url}{s}/api/v1/agents/", headers=api).status_code
    admin = Person(url, "admin", password)
    admin_set_active(admin, f"{STATION}-lender1", False)
    gone = call("get", f"{url}{s}/api/v1/agents/", headers=api).status_code
    admin_set_active(admin, f"{STATION}-lender1", True)
    report(
        "3 API key outlives its owner",
        f"key before: {before}; owner disabled: {gone}",
        before == 200 and gone == 401,
    )
    manager = Person(url, f"{STATION}-lender1", password)  # the disabling signed them out

    # 4. A suspended branch keeps most powers.
    oc = Person(url, f"{STATION}-oc", password)
    manager2 = Person(url, f"{STATION}-lender2", password)
    b2 = re.search(r"/branch/(\d+)/", manager2.get(f"{s}/lenders/branches/").headers["Location"])
    base2 = f"{s}/lenders/branch/{b2.group(1)}"
    key2_page = manager2.post(f"{base2}/api-keys/", {"name": "Before suspension"}).text
    key2 = re.search(r'id="new-key">([^<]+)<', key2_page).group(1).strip()
    decide = f"{s}/lenders/registrations/{b2.group(1)}/"
    oc.post(decide, {"action": "suspend", "reason": "Breaks check"})
    powers = {
        "new agent": manager2.get(f"{base2}/agents/new/").status_code,
        "logins": manager2.get(f"{base2}/staff/").status_code,
        "keys": manager2.get(f"{base2}/api-keys/").status_code,
        "area": manager2.get(f"{base2}/areas/propose/").status_code,
        "escorts": manager2.get(f"{s}/escorts/branch/{b2.group(1)}/escorts/{today}/").status_code,
        "api": call(
            "get", f"{url}{s}/api/v1/areas/", headers={"Authorization": f"Api-Key {key2}"}
        ).status_code,
        "history": manager2.get(f"{base2}/roster/{today}/").status_code,
    }
    oc.post(decide, {"action": "reinstate"})
    report(
        "4 suspended branch keeps powers",
        ", ".join(f"{k}: {v}" for k, v in powers.items()),
        all(v in (403, 401) for k, v in powers.items() if k != "history")
        and powers["history"] == 200,
    )

    # 7. CSV formula injection and the BOM: a branch renames an agent who is on today's sheet.
    duty = Person(url, f"{STATION}-duty", password)
    formula = '=HYPERLINK("http://evil.example/?x","click")'
    sheet_url = f"{s}/escorts/sheet/{today}/"
    version = re.search(r"/v(\d+)/sheet\.csv", duty.get(sheet_url).text)
    if version is None:  # no sheet yet today: the duty officer builds one and waits for it
        duty.post(f"{s}/escorts/sheet/{today}/rebuild/")
        for _ in range(120):
            version = re.search(r"/v(\d+)/sheet\.csv", duty.get(sheet_url).text)
            if version:
                break
            time.sleep(1)
    csv_url = f"{s}/escorts/sheet/{today}/v{version.group(1)}/sheet.csv"
    listed = duty.get(csv_url).content.decode("utf-8-sig")
    agents = re.findall(
        r"<strong>([^<]+)</strong>.*?/agents/(\d+)/\"", manager.get(f"{base}/agents/").text, re.S
    )
    old_name, on_sheet = next((n, pk) for n, pk in agents if n in listed)
    agent_form = _Form()
    agent_form.feed(manager.get(f"{base}/agents/{on_sheet}/").text)
    fields = {k: v[0] for k, v in agent_form.fields.items() if k != "csrfmiddlewaretoken"}
    manager.post(f"{base}/agents/{on_sheet}/", fields | {"name": formula})
    csv = duty.get(csv_url).content
    manager.post(f"{base}/agents/{on_sheet}/", fields | {"name": old_name})
    text = csv.decode("utf-8-sig")
    bom = csv.startswith(b"\xef\xbb\xbf")
    formula_cell = re.search(r'(^|,)"?=HYPERLINK', text, re.M) is not None
    report(
        "7 CSV formula injection, no BOM",
        f"BOM: {bom}; the agent's name as a formula cell: {formula_cell}; as text: "
        f"{'HYPERLINK' in text}",
        bom and not formula_cell and "HYPERLINK" in text,
    )

    # 8. "Another station" and "no such station" told apart.
    outsider = Person(url, f"{OTHER}-oc", password)
    anonymous = Person(url)
    pairs = {}
    for who, person in (("anonymous", anonymous), ("signed in elsewhere", outsider)):
        for path in ("/", "/lenders/areas/", f"/lenders/branch/{b2.group(1)}/"):
            answers, times = [], {}
            for slug in (STATION, "nosuch"):
                asked = f"/station/{slug}{path}"
                spent = []
                for _ in range(30):
                    began = time.perf_counter()
                    answer = person.get(asked)
                    spent.append((time.perf_counter() - began) * 1000)
                answers.append(masked(answer, asked))
                times[slug] = statistics.median(spent)
            pairs[f"{who} {path}"] = (answers[0] == answers[1], times)
    keyed = [
        masked(call("get", url + p, headers=h), p)
        for p, h in (
            (f"/station/{OTHER}/api/v1/areas/", api),
            (f"/station/{OTHER}/api/v1/areas/", {"Authorization": "Api-Key 0bad.key"}),
            ("/station/nosuch/api/v1/areas/", api),
        )
    ]
    same = all(equal for equal, _ in pairs.values()) and keyed[0] == keyed[1] == keyed[2]
    slowest = max(abs(t[STATION] - t["nosuch"]) for _, t in pairs.values())
    report(
        "8 another station told from no station",
        f"{len(pairs)} pages the same: {all(e for e, _ in pairs.values())}; API with another "
        f"station's key, a wrong key, no station: {[k[0] for k in keyed]}, same: "
        f"{keyed[0] == keyed[1] == keyed[2]}; largest median difference {slowest:.1f} ms",
        same,
    )

    # 9. Inputs that cost the server.
    sheet_xml = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
        + b"a" * 100_000_000
        + b"</t></is></c></row></sheetData></worksheet>"
    )
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    del sheet_xml
    upload = f"{base}/roster/{today}/upload/"
    page = manager.get(upload)
    began = time.perf_counter()
    refused = manager.session.post(
        url + upload,
        data={"csrfmiddlewaretoken": TOKEN.search(page.text).group(1)},
        files={"file": ("roster.xlsx", bomb.getvalue())},
        headers={"Referer": url + upload},
    )
    upload_s = time.perf_counter() - began
    key3 = re.search(
        r'id="new-key">([^<]+)<', manager.post(f"{base}/api-keys/", {"name": "Bulk"}).text
    ).group(1)
    api3 = {"Authorization": f"Api-Key {key3.strip()}", "Content-Type": "application/json"}
    rows = [{"agent": 1, "area": 1, "depart_at": "10:00", "return_at": "11:00"}] * 2000
    began = time.perf_counter()
    bulk = call("put", f"{url}{s}/api/v1/rosters/{today}/entries/", headers=api3, json=rows)
    bulk_s = time.perf_counter() - began
    large = call(
        "post",
        f"{url}{s}/api/v1/rosters/{today}/entries/",
        headers=api3,
        data=b"[" + b" " * 6_000_000,
    )
    report(
        "9 inputs that cost the server",
        f"{len(bomb.getvalue()) // 1024} KB .xlsx of a 100 MB cell: refused "
        f"{'unpacks to more than' in refused.text} in {upload_s:.2f} s; PUT of 2,000 rows: "
        f"{bulk.status_code} in {bulk_s:.2f} s; 6 MB body: {large.status_code} "
        f"{large.headers.get('Content-Type')}",
        "unpacks to more than" in refused.text
        and bulk.status_code == 400
        and (large.status_code, large.headers.get("Content-Type")) == (413, "application/json"),
    )

    # 10. Password reset without a limit.
    client = Person(url)  # one client, as in the review
    resets = [
        client.post("/accounts/password_reset/", {"email": "someone@example.org"}).status_code
        for _ in range(28)
    ]
    report(
        "10 password reset without a limit",
        f"28 POSTs: {resets.count(302)} accepted, {resets.count(429)} refused (429)",
        resets.count(302) <= 5 and resets.count(429) >= 23,
    )

    # 11. Lockout and sign-in limit keyed on the proxy's address.
    victim = f"{STATION}-lender3"
    for _ in range(6):
        Person(url, ip="10.9.0.1").sign_in(victim, "wrong-password")
    elsewhere = Person(url, ip="10.9.0.2").sign_in(victim, password)
    report(
        "11 lockout keyed on the proxy's address",
        f"after 6 wrong passwords from 10.9.0.1, {victim} from 10.9.0.2: {elsewhere.status_code}",
        elsewhere.status_code == 302,
    )

    # 12. The schema lets any date through.
    schema = call(
        "get",
        f"{url}{s}/api/schema/?format=json",
        headers={"Authorization": f"Api-Key {key3.strip()}"},
    ).json()
    enums = {
        method: p["schema"].get("enum")
        for path in schema["paths"].values()
        for method, op in path.items()
        if isinstance(op, dict)
        for p in op.get("parameters", [])
        if p.get("name") == "date"
    }
    report(
        "12 schema lets any date through",
        f"date values by method: {json.dumps(enums)}",
        all(enums[m] and len(enums[m]) == 2 for m in enums if m != "get"),
    )
    sys.exit(0 if all(holds for _, _, holds in results) else 1)


if __name__ == "__main__":
    main()
