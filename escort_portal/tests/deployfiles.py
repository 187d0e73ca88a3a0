"""The commands the image builds with and the containers run, read from the Dockerfile and
docker-compose.yml, so the production smoke run starts exactly what a deployment starts."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def service_command(name: str) -> list[str]:
    return list(compose()["services"][name]["command"])


def service_steps(name: str) -> list[list[str]]:
    """The programs a service runs one after the other: its command, or each `&&` step of a
    `sh -c` command."""
    command = service_command(name)
    if command[:2] != ["sh", "-c"]:
        return [command]
    return [shlex.split(step) for step in command[2].split("&&")]


def service_environment(name: str) -> dict[str, str]:
    """The variables compose sets for a service, `${NAME:-default}` read as its default."""
    environment = compose()["services"][name].get("environment", {})
    return {
        key: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))
        for key, value in environment.items()
    }


def dockerfile_build_steps() -> list[list[str]]:
    """`python manage.py ...` of each RUN line, without the build-time variables before it."""
    steps = []
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("RUN ") and " python manage.py " in line:
            words = shlex.split(line.removeprefix("RUN "))
            steps.append(words[words.index("python") :])
    return steps


def dockerfile_cmd() -> list[str]:
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("CMD "):
            return yaml.safe_load(line.removeprefix("CMD "))
    raise AssertionError("the Dockerfile has no CMD")
