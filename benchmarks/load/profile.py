"""Where a roster POST spends its time: cProfile over filings through the whole middleware.

    python -m benchmarks.load.profile [--posts 50] [--top 30]

Runs after `benchmarks.load.run` (it uses that run's database and its first lender), in this
process with Django's test client and the benchmark's settings, one request at a time. Prints
the median time and query count of a roster POST, the entry form and the bare view, then the
functions with the most cumulative time during the POSTs.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import io
import os
import pstats
import shutil
import statistics
import tempfile
import time

from benchmarks.load.run import SLOTS, environment
from benchmarks.notifications.run import start_redis


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=50)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="bench-load-profile-")
    redis_process, redis_url = start_redis(directory)
    os.environ.update(environment(redis_url))
    try:
        profile(args.posts, args.top)
    finally:
        redis_process.terminate()
        redis_process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


def profile(posts: int, top: int) -> None:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from lenders.models import BranchMember, CollectionArea, FieldAgent, Roster
    from stations.models import StationRole, User

    user = User.objects.get(username="load-lender0")
    station = (
        StationRole.objects.select_related("station")
        .get(user=user, station__slug__startswith="load-")
        .station
    )
    with tenant_context(station):
        branch = BranchMember.objects.select_related("branch").get(user=user).branch
        area = CollectionArea.objects.get(name="Load Bazar").pk
        agents = list(FieldAgent.objects.filter(branch=branch).values_list("pk", flat=True))
        tomorrow = timezone.localdate() + datetime.timedelta(days=1)
        Roster.objects.filter(branch=branch, date=tomorrow).delete()
    connection.set_schema_to_public()
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    url = f"/station/{station.slug}/lenders/branch/{branch.pk}/roster/{tomorrow}/add/"
    filings = iter([(agent, slot) for slot in SLOTS for agent in agents])

    def post():
        agent, (start, end) = next(filings)
        response = client.post(
            url,
            {
                "agent": agent,
                "area": area,
                "depart_at": f"{start // 60:02d}:{start % 60:02d}",
                "return_at": f"{end // 60:02d}:{end % 60:02d}",
                "cash_band": "lt50k",
            },
        )
        assert response.status_code == 302, response.status_code
        return response

    requests = {
        "roster POST": post,
        "entry form GET": lambda: client.get(url),
        "bare view GET": lambda: client.get("/bench/bare/"),
    }
    print("| request | median ms | queries |\n|---|---:|---:|")
    for name, call in requests.items():
        call()  # warm up
        times = []
        for _ in range(20):
            began = time.perf_counter()
            call()
            times.append((time.perf_counter() - began) * 1000)
        with CaptureQueriesContext(connection) as queries:
            call()
        print(f"| {name} | {statistics.median(times):.1f} | {len(queries)} |")

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(posts):
        post()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    print(f"\ncProfile of {posts} roster POSTs, by cumulative time:\n")
    print(out.getvalue())


if __name__ == "__main__":
    main()
