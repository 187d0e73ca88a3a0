"""Helpers for tests that need processes of their own: a real Celery worker on the test
database and queue, a PostgreSQL of a test's own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection


def start_worker(*, broker_url: str | None = None, extra_env: dict | None = None, name: str = "w1"):
    """A Celery worker process on the test queue and the test database."""
    db = connection.settings_dict
    assert db["NAME"] == settings.DATABASES[DEFAULT_DB_ALIAS]["TEST"]["NAME"]
    env = dict(os.environ)
    env.update(
        {
            # The test settings drop every CELERY_* variable, whatever the environment says.
            "DJANGO_SETTINGS_MODULE": "escort_portal.settings.test",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "TEST_CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
            "TEST_REDIS_URL": broker_url or settings.CELERY_BROKER_URL,
            **(extra_env or {}),
        }
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "escort_portal",
            "worker",
            "--pool=solo",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            f"--hostname={name}@%h",
            "--loglevel=WARNING",
        ],
        env=env,
        cwd=settings.BASE_DIR,
    )


def stop_worker(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def wait_for(condition: Callable[[], bool], *, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


# A private cluster's folder is made in memory where there is a tmpfs: on this machine's disk,
# an initdb, a restore or a copy of a cluster's files takes several times as long.
MEMORY = "/dev/shm"  # noqa: S108 - mkdtemp makes a folder only we can enter


def _room_in(folder: str) -> bool:
    """Is `folder` there with room for a few clusters? A container's /dev/shm is often 64 MB."""
    return os.path.isdir(folder) and shutil.disk_usage(folder).free >= MEMORY_NEEDED


# A cluster holding the test database takes about 80 MB, and a test has two at a time: this
# leaves room to spare.
MEMORY_NEEDED = 1 << 30


class PrivatePostgres:
    """A PostgreSQL cluster of a test's own (initdb into a temporary folder, a free port), which
    the test may restart under running processes. Never the shared server."""

    def __init__(self, port: int) -> None:
        self.port = port
        memory = MEMORY if _room_in(MEMORY) else None
        self.directory = tempfile.mkdtemp(prefix="ep-private-pg-", dir=memory)
        self.data = os.path.join(self.directory, "data")
        self.url = f"postgres://postgres@127.0.0.1:{port}/escort_portal"
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.directory, "postgres")

    def _run(self, *command: str) -> None:
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*as_postgres, *command], check=True, stdout=subprocess.DEVNULL)

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        log = os.path.join(self.directory, "log")
        self._run("pg_ctl", "-D", self.data, "-o", options, "-l", log, "-w", action, *extra)

    def start(self, *, data_from: str | None = None) -> None:
        """A new cluster with an empty database, or a copy of a stopped cluster's files
        (`data_from`, another instance's `data`), which starts in a fraction of the time an
        initdb and a restore take."""
        if data_from is None:
            self._run("initdb", "-D", self.data, "-U", "postgres", "-A", "trust")
        else:
            self._run("cp", "-a", data_from, self.data)
        self._pg_ctl("start")
        if data_from is None:
            self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "escort_portal")

    def shut_down(self) -> None:
        """Stop cleanly, keeping the files, so that other clusters can start from a copy."""
        self._pg_ctl("stop", "-m", "fast")

    def restart(self) -> None:
        self._pg_ctl("restart", "-m", "fast")

    def copy_database(self, source: dict) -> None:
        """Load a copy of another database (the test database: its schemas and stations)."""
        dump = subprocess.Popen(
            [
                *("pg_dump", "-Fc", "-h", source["HOST"], "-p", str(source["PORT"])),
                *("-U", source["USER"], source["NAME"]),
            ],
            stdout=subprocess.PIPE,
        )
        subprocess.run(
            [
                *("pg_restore", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"),
                *("--no-owner", "-d", "escort_portal"),
            ],
            stdin=dump.stdout,
            check=True,
        )
        assert dump.stdout is not None
        dump.stdout.close()
        assert dump.wait() == 0

    def query(self, sql: str, *params: object) -> list[tuple]:
        import psycopg2

        with psycopg2.connect(self.url) as conn, conn.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        conn.close()
        return rows

    def stop(self) -> None:
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self._pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.directory, ignore_errors=True)
