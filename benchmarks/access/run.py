"""Not yours: how long an outsider waits for a station that exists and for one that does not.

    python -m benchmarks.access.run [--rounds 300]

Everything is private to the run: a database of its own (escort_portal_bench_access, or
BENCH_ACCESS_DATABASE_URL; kept for the next run), a redis-server of its own, and gunicorn on
127.0.0.1 (`escort_portal.wsgi`, 2 sync workers, the development settings with DEBUG=false), as
the load benchmark starts it. Two stations: `bench-a`, the one the outsider probes, with a
lender branch and a roster entry, and `bench-b`, where the outsider is the officer-in-charge and
a branch has an API key.

For each kind of request the outsider may send (anonymous, signed in as bench-b's OC, and with
bench-b's API key), the client sends, one after another in rounds, the request to bench-a (the
station that exists, with its real ids), the same request to `nowhere` (a station that does not
exist; a name as long as `bench-a`, so that both answers have the same length), and the request
to bench-a again: the third is the baseline, the difference between two measurements of the
very same request, which is all the noise there is. Each answer's status and body (the address
asked for and the per-request tokens masked) is compared too: the table says whether the two
stations' answers were the same in every round. Prints a Markdown table with medians and the
machine's load.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field

from benchmarks.load.run import Browser, environment, start_server, uptime
from benchmarks.notifications.run import free_port, start_redis

DATABASE_URL = os.environ.get(
    "BENCH_ACCESS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/escort_portal_bench_access"
)
REAL, NOWHERE = "bench-a", "nowhere"  # names of the same length
TOKENS = re.compile(r'(name="(?:csrfmiddlewaretoken|submission_token)" value=")[^"]+"')


@dataclass(frozen=True)
class Prepared:
    password: str
    branch: int
    entry: int
    date: str
    key: str  # a key of bench-b's branch


def prepare(password: str) -> Prepared:
    from escort_portal.devservices import ensure_database

    ensure_database(DATABASE_URL)
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from lenders import api_keys
    from lenders.models import (
        BranchMember,
        CashBand,
        CollectionArea,
        FieldAgent,
        LenderBranch,
        Roster,
        RosterEntry,
    )
    from stations import services
    from stations.models import Station, StationRole, Subdivision, User

    call_command("migrate_schemas", verbosity=0)
    subdivision, _ = Subdivision.objects.get_or_create(name="Bench", defaults={"district": "B"})
    stations = {}
    for slug in (REAL, "bench-b"):
        stations[slug] = Station.objects.filter(slug=slug).first() or services.station_create(
            slug=slug, name=slug, subdivision=subdivision, latitude=22.3, longitude=87.3
        )
    outsider, _ = User.objects.get_or_create(username="bench-outsider")
    outsider.set_password(password)
    outsider.save()
    StationRole.objects.get_or_create(
        user=outsider, station=stations["bench-b"], defaults={"role": "oc"}
    )
    manager, _ = User.objects.get_or_create(username="bench-manager")
    StationRole.objects.get_or_create(
        user=manager, station=stations["bench-b"], defaults={"role": "lender"}
    )
    details = {
        "kind": "mfi",
        "address": "Station Road",
        "manager_name": "Manager",
        "manager_phone": "+919830000000",
        "status": LenderBranch.Status.APPROVED,
    }
    with tenant_context(stations["bench-b"]):
        theirs, _ = LenderBranch.objects.get_or_create(
            lender_name="Bench B", branch_name="Bazar", defaults=details
        )
        BranchMember.objects.get_or_create(
            branch=theirs, user=manager, defaults={"role": "manager"}
        )
        key = api_keys.api_key_create(branch=theirs, name="bench", by=manager).key
    today = timezone.localdate()
    with tenant_context(stations[REAL]):
        branch, _ = LenderBranch.objects.get_or_create(
            lender_name="Bench A", branch_name="Bazar", defaults=details
        )
        agent, _ = FieldAgent.objects.get_or_create(
            branch=branch, employee_id="A1", defaults={"name": "Agent", "phone": "+919830000001"}
        )
        area, _ = CollectionArea.objects.get_or_create(
            name="Bench Bazar", defaults={"latitude": 22.31, "longitude": 87.31}
        )
        roster, _ = Roster.objects.get_or_create(branch=branch, date=today)
        entry = RosterEntry.objects.filter(roster=roster).first() or RosterEntry.objects.create(
            roster=roster,
            agent=agent,
            area=area,
            depart_at="10:00",
            return_at="12:00",
            cash_band=CashBand.UNDER_50K,
        )
    return Prepared(password, branch.pk, entry.pk, today.isoformat(), key)


@dataclass
class Case:
    name: str
    method: str
    path: str  # under /station/<slug>
    headers: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] | None = None
    times: dict[str, list[float]] = field(default_factory=lambda: {"real": [], "nowhere": [],
                                                                   "again": []})  # fmt: skip
    statuses: set[tuple[int, int]] = field(default_factory=set)  # (station's, nowhere's)
    same: bool = True


def cases(prepared: Prepared, cookies: str, csrf: str) -> list[Case]:
    roster = f"/lenders/branch/{prepared.branch}/roster/{prepared.date}/"
    entry = f"/lenders/branch/{prepared.branch}/entry/{prepared.entry}/"
    signed_in = {"Cookie": cookies}
    key = {"Authorization": f"Api-Key {prepared.key}"}
    api_entry = f"/api/v1/rosters/{prepared.date}/entries/{prepared.entry}/"
    return [
        Case("anonymous, station page", "GET", "/"),
        Case("anonymous, a branch's roster", "GET", roster),
        Case("signed in elsewhere, station page", "GET", "/", signed_in),
        Case("signed in elsewhere, a branch's roster", "GET", roster, signed_in),
        Case(
            "signed in elsewhere, change an entry (POST)",
            "POST",
            entry,
            signed_in,
            {"csrfmiddlewaretoken": csrf, "centres": "x"},
        ),
        Case("another station's API key, areas", "GET", "/api/v1/areas/", key),
        Case("another station's API key, an entry", "GET", api_entry, key),
    ]


def send(connection: http.client.HTTPConnection, case: Case, slug: str, port: int) -> tuple:
    path = f"/station/{slug}{case.path}"
    headers = dict(case.headers)
    body = None
    if case.form is not None:
        from urllib.parse import urlencode

        body = urlencode(case.form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        headers["Referer"] = f"http://127.0.0.1:{port}{path}"
    began = time.perf_counter()
    connection.request(case.method, path, body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    took = (time.perf_counter() - began) * 1000
    masked = TOKENS.sub(r"\1<token>", data.decode(errors="replace").replace(path, "<asked>"))
    location = (response.headers.get("Location") or "").replace(path, "<asked>")
    return took, (response.status, location, masked)


def measure(port: int, case: Case, rounds: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for n in range(rounds):
        # Each round in another order, so that a slow spell of the machine falls on all three.
        order = [("real", REAL), ("nowhere", NOWHERE), ("again", REAL)]
        order = order[n % 3 :] + order[: n % 3]
        answers = {}
        for where, slug in order:
            took, answers[where] = send(connection, case, slug, port)
            case.times[where].append(took)
        case.same &= answers["real"] == answers["nowhere"] == answers["again"]
        case.statuses.add((answers["real"][0], answers["nowhere"][0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300, help="requests of each kind")
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        sys.exit("redis-server is needed (Debian: apt-get install redis-server)")
    directory = tempfile.mkdtemp(prefix="bench-access-")
    redis_process, redis_url = start_redis(directory)
    env = {
        **environment(redis_url),
        "DATABASE_URL": DATABASE_URL,
        "RATE_LIMIT_API": "100000/m",
        # Every refused request would log a warning line.
        "LOG_LEVEL": "ERROR",
    }
    os.environ.update(env)
    server = None
    try:
        prepared = prepare(secrets.token_urlsafe(16))
        port = free_port()
        server = start_server(env, port)
        browser = Browser(port)
        browser.sign_in("bench-outsider", prepared.password)
        _status, page, _took = browser.request("GET", "/")
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        cookies = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        kinds = cases(prepared, cookies, csrf)
        for case in kinds:  # both workers load their templates and connect first
            measure(port, case, 4)
            case.times = {"real": [], "nowhere": [], "again": []}
            case.statuses, case.same = set(), True
        before = uptime()
        for case in kinds:
            measure(port, case, args.rounds)
        after = uptime()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        redis_process.terminate()
        redis_process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)

    print(
        f"gunicorn, 2 sync workers, DEBUG off, 127.0.0.1; {args.rounds} rounds of each request; "
        f"{os.cpu_count()} cores"
    )
    print(f"uptime before: {before}\nuptime after:  {after}")
    print(
        "\n| request | status (exists / not) | same answer | station that exists, median ms "
        "| no such station, median ms | difference ms | the same request again, median ms "
        "| noise ms |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for case in kinds:
        real, nowhere, again = (statistics.median(case.times[k]) for k in case.times)
        statuses = ", ".join(f"{a} / {b}" for a, b in sorted(case.statuses))
        print(
            f"| {case.name} | {statuses} | {'yes' if case.same else 'NO'} | {real:.2f} "
            f"| {nowhere:.2f} | {nowhere - real:+.2f} | {again:.2f} | {again - real:+.2f} |"
        )


if __name__ == "__main__":
    main()
