"""`make test`'s suite on both cores: two pytest processes side by side, one for the tests that
drive the portal from outside (a browser, the production smoke run) and one for the rest, each
with a test database, a Redis database and queues of its own.

Plain `pytest` still runs everything in one process. Arguments are passed on to both:
`python -m escort_portal.testsuite -x`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

# The tests that drive real servers from outside (a browser, the production smoke run): they
# wait on processes more than they compute, and need no test database of the suite's. The rest
# (the apps' tests and the fault tests) take about as long again.
OUTSIDE = [
    "escort_portal/tests/test_browser.py",
    "escort_portal/tests/test_browser_watch.py",
    "escort_portal/tests/test_production.py",
]


def _halves() -> list[tuple[str, list[str]]]:
    """Each half's pytest arguments: the outside files, and every test path without them."""
    rest = [f"--ignore={path}" for path in OUTSIDE]
    return [("outside", OUTSIDE), ("apps", rest)]


def _other_redis(url: str) -> str:
    """The Redis database next to the suite's own (15 -> 14 is a developer's favourite, so
    15 -> 13), on the same server."""
    parts = urlsplit(url)
    database = int(parts.path.lstrip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(database - 2) % 16}"))


def _environments() -> list[dict[str, str]]:
    """The outside half keeps the suite's own names; the apps' half gets names of its own."""
    environ.Env.read_env(BASE_DIR / ".env")
    env = environ.Env()
    database = env("TEST_DATABASE_NAME", default="test_escort_portal")
    redis_url = env("TEST_REDIS_URL", default="redis://127.0.0.1:6379/15")
    queue = env("TEST_CELERY_QUEUE", default="escort_portal_test")
    # The suite's settings are pyproject.toml's, whatever a developer's shell or this package's
    # own import (the Celery app's default) put in DJANGO_SETTINGS_MODULE; each half's output
    # is shown as it comes, not when a pipe's buffer fills.
    first = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    first["PYTHONUNBUFFERED"] = "1"
    second = dict(first)
    second.update(
        {
            "TEST_DATABASE_NAME": f"{database}_apps",
            "TEST_REDIS_URL": env("TEST_APPS_REDIS_URL", default=_other_redis(redis_url)),
            "TEST_CELERY_QUEUE": f"{queue}_apps",
        }
    )
    return [first, second]


def _relay(name: str, stream, lines: list[str]) -> None:
    for line in iter(stream.readline, ""):
        lines.append(line)
        sys.stdout.write(f"[{name}] {line}")
        sys.stdout.flush()


def main(argv: Sequence[str]) -> int:
    started = time.monotonic()
    halves = _halves()
    processes = []
    threads = []
    outputs: list[list[str]] = []
    for (name, arguments), env in zip(halves, _environments(), strict=True):
        process = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *argv, *arguments],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        lines: list[str] = []
        thread = threading.Thread(target=_relay, args=(name, process.stdout, lines))
        thread.start()
        processes.append((name, process))
        threads.append(thread)
        outputs.append(lines)
    codes = []
    for (_name, process), thread in zip(processes, threads, strict=True):
        codes.append(process.wait())
        thread.join()
    # Each half's summary again, together at the end, where a reader of the log looks.
    print(f"\n=== the suite on two processes, {time.monotonic() - started:.0f} s ===")
    for (name, _process), lines, code in zip(processes, outputs, codes, strict=True):
        summary = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
        last = lines[-1].strip() if lines else "no output"
        print(f"[{name}] exit {code}: {last}")
        for line in summary:
            print(f"[{name}] {line}", end="")
    return max(codes)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
