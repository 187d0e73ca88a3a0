"""Memory of a web worker, a Celery pool process and a PostgreSQL backend at 5, 50 and 500
stations, on the scale benchmark's database (`python -m benchmarks.scale.run` makes it).

    python -m benchmarks.scale.memory [--counts 5 50 500]

Each figure comes from a fresh process that does what the program does to that many stations:
the web worker serves one page (the station's landing page, signed in as an SDPO who oversees
them all) of each, with the station URLconf cache as configured (STATION_URLCONF_CACHE_SIZE)
and unbounded, as it was before; the pool process runs each station's heartbeat, outbox sweep
and escorts tick on one connection (the worst case: a process whose jobs enter every station,
as the minute jobs did before they entered only the stations with something due, and as the
nightly retention still does). Memory is the
process's resident set (VmRSS) and its PostgreSQL backend's, from pg_backend_memory_contexts
(all contexts, and CacheMemoryContext alone: the catalog caches). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from benchmarks.scale import run as scale


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _backend_mb() -> tuple[float, float]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sum(total_bytes), sum(total_bytes) FILTER (WHERE name = 'CacheMemoryContext')"
            " FROM pg_backend_memory_contexts"
        )
        total, cache = cursor.fetchone()
    return float(total) / 2**20, float(cache or 0) / 2**20


def _measure(role: str, count: int) -> dict[str, float]:
    """In this (fresh) process: what `role` does to `count` stations, and the memory after."""
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client
    from django_tenants.utils import tenant_context

    from escorts import services as escorts
    from notifications import services as notifications
    from stations import services as stations
    from stations.models import Station, Subdivision, SubdivisionRole, User

    settings.ALLOWED_HOSTS = ["*"]
    chosen = list(
        Station.objects.live().filter(subdivision__name="Bench state").order_by("pk")[:count]
    )
    started = time.perf_counter()
    if role == "worker":
        _backend_mb()  # connected, before any station
        before = _rss_mb(), *_backend_mb()
        for station in chosen:
            with tenant_context(station):
                stations.heartbeat_record()
                notifications.message_sweep()
                escorts.station_tick()
    else:
        user, _ = User.objects.get_or_create(username="bench-scale-sdpo")
        SubdivisionRole.objects.get_or_create(
            user=user,
            subdivision=Subdivision.objects.get(name="Bench state"),
            defaults={"role": "sdpo"},
        )
        client = Client()
        client.force_login(user)
        client.get("/")
        before = _rss_mb(), *_backend_mb()
        for station in chosen:
            assert client.get(f"/station/{station.slug}/").status_code == 200
    seconds = time.perf_counter() - started
    rss, backend, cache = _rss_mb(), *_backend_mb()
    return {
        "rss_before": before[0],
        "rss": rss,
        "backend_before": before[1],
        "backend": backend,
        "cache": cache,
        "seconds": seconds,
    }


def _in_fresh_process(role: str, count: int, urlconfs: int | None) -> dict[str, float]:
    env = {**os.environ}
    if urlconfs is not None:
        env["STATION_URLCONF_CACHE_SIZE"] = str(urlconfs)
    output = subprocess.run(
        [sys.executable, "-m", "benchmarks.scale.memory", "--child", role, str(count)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[5, 50, 500])
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        # Django's connection must be persistent here, as a worker's is between tasks.
        os.environ["DATABASE_CONN_MAX_AGE"] = "600"
        print(json.dumps(_measure(args.child[0], int(args.child[1]))))
        return
    print(f"start: {scale.load()}", flush=True)
    rows = []
    for count in args.counts:
        for label, role, urlconfs in (
            ("web worker, URLconfs kept: all (before)", "web", 100000),
            ("web worker, URLconfs kept: 100 (now)", "web", None),
            ("Celery pool process", "worker", None),
        ):
            figures = _in_fresh_process(role, count, urlconfs)
            rows.append((label, count, figures))
            print(f"  {label}, {count} stations: {figures}", flush=True)
    print()
    print(f"{scale.load()}")
    print()
    print(
        "| process | stations | process RSS before → after | its PostgreSQL backend "
        "before → after | of which catalog cache | time |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for label, count, f in rows:
        print(
            f"| {label} | {count} | {f['rss_before']:.0f} → {f['rss']:.0f} MB "
            f"| {f['backend_before']:.1f} → {f['backend']:.1f} MB | {f['cache']:.1f} MB "
            f"| {f['seconds']:.1f} s |"
        )


if __name__ == "__main__":
    main()
