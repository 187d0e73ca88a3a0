"""Make sure PostgreSQL and Redis answer on a developer's machine, and the database exists.

Used by `make run` and `make test`. A local server that is down is started when its programs are
installed; otherwise this says exactly what to install. It never touches a remote host.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import environ
import psycopg2
import redis
from psycopg2 import sql

BASE_DIR = Path(__file__).resolve().parent.parent
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", ""}
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/escort_portal"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
INSTALL_HINT = (
    "Install it (Debian/Ubuntu: `sudo apt-get install postgresql redis-server`; "
    "macOS: `brew install postgresql@15 redis`), "
    "or start both with `docker compose up -d db redis`."
)


def say(message: str) -> None:
    print(f"[services] {message}", flush=True)


def wait_for(check, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return check()


# --- PostgreSQL ---


def _pg_params(url: str, dbname: str) -> dict:
    parts = urlparse(url)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": parts.username or "postgres",
        "password": parts.password or None,
        "dbname": dbname,
        "connect_timeout": 3,
    }


def postgres_answers(url: str) -> bool:
    try:
        psycopg2.connect(**_pg_params(url, "postgres")).close()
        return True
    except psycopg2.OperationalError:
        return False


def start_postgres(url: str) -> bool:
    port = urlparse(url).port or 5432
    clusters = sorted(glob.glob("/etc/postgresql/*/main"))
    if shutil.which("pg_ctlcluster") and clusters:
        version = Path(clusters[-1]).parent.name
        say(f"starting the local PostgreSQL {version} cluster")
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=False
        )
        return wait_for(lambda: postgres_answers(url))
    bindirs = sorted(glob.glob("/usr/lib/postgresql/*/bin")) + sorted(
        glob.glob("/opt/homebrew/opt/postgresql*/bin")
    )
    initdb = shutil.which("initdb") or next(
        (f"{d}/initdb" for d in reversed(bindirs) if os.path.exists(f"{d}/initdb")), None
    )
    if initdb is None or os.geteuid() == 0:
        return False
    pg_ctl = str(Path(initdb).with_name("pg_ctl"))
    datadir = BASE_DIR / ".devdata" / "postgres"
    if not (datadir / "PG_VERSION").exists():
        say(f"creating a private PostgreSQL data directory in {datadir}")
        datadir.mkdir(parents=True, exist_ok=True)
        subprocess.run([initdb, "-D", str(datadir), "-U", "postgres", "-A", "trust"], check=True)
    say(f"starting a private PostgreSQL on 127.0.0.1:{port}")
    subprocess.run(
        [
            pg_ctl,
            "-D",
            str(datadir),
            "-l",
            str(datadir / "server.log"),
            "-w",
            "start",
            "-o",
            f"-h 127.0.0.1 -p {port} -k {datadir}",
        ],
        check=False,
    )
    return wait_for(lambda: postgres_answers(url))


def ensure_database(url: str) -> None:
    name = urlparse(url).path.lstrip("/") or "escort_portal"
    conn = psycopg2.connect(**_pg_params(url, "postgres"))
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                say(f"creating database {name}")
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()


# --- Redis ---


def redis_answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def start_redis(url: str) -> bool:
    server = shutil.which("redis-server")
    if server is None:
        return False
    port = urlparse(url).port or 6379
    say(f"starting a local Redis on 127.0.0.1:{port}")
    subprocess.run(
        [
            server,
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        check=False,
    )
    return wait_for(lambda: redis_answers(url))


def main() -> int:
    env = environ.Env()
    environ.Env.read_env(BASE_DIR / ".env")
    database_url = env("DATABASE_URL", default=DEFAULT_DATABASE_URL)
    redis_url = env("REDIS_URL", default=DEFAULT_REDIS_URL)
    problems = []

    local_pg = (urlparse(database_url).hostname or "") in LOCAL_HOSTS
    if postgres_answers(database_url) or (local_pg and start_postgres(database_url)):
        ensure_database(database_url)
        say("PostgreSQL answers")
    else:
        problems.append(f"PostgreSQL does not answer at {urlparse(database_url).netloc}.")

    local_redis = (urlparse(redis_url).hostname or "") in LOCAL_HOSTS
    if redis_answers(redis_url) or (local_redis and start_redis(redis_url)):
        say("Redis answers")
    else:
        problems.append(f"Redis does not answer at {urlparse(redis_url).netloc}.")

    for problem in problems:
        say(problem)
    if problems:
        say(INSTALL_HINT)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
