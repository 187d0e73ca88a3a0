"""docker-compose.yml cannot run here; check that what it names exists in the project."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
APP_SERVICES = {
    name: service for name, service in COMPOSE["services"].items() if "build" in service
}
# Variables set for the images' own programs, not read by the portal.
IMAGE_VARIABLES = {"POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"}


def _settings_variables() -> set[str]:
    text = "".join(p.read_text() for p in (ROOT / "escort_portal" / "settings").glob("*.py"))
    names = set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z_]+)\"", text))
    return names | {"DJANGO_SETTINGS_MODULE"}


def _requirement_names() -> set[str]:
    names = set()
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            names.add(re.split(r"[\[<>=]", line)[0].lower())
    return names


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_every_app_service_runs_a_program_the_project_has(name):
    command = APP_SERVICES[name]["command"]
    program = command[0]
    if program == "python":
        assert command[1] == "manage.py"
        assert command[2] in get_commands()
    elif program == "gunicorn":
        assert "gunicorn" in _requirement_names()
        module = importlib.import_module(command[1].split(":")[0])
        assert hasattr(module, "application")
    elif program == "celery":
        assert "celery" in _requirement_names()
        assert command[1:3] == ["-A", "escort_portal"]
        assert importlib.import_module("escort_portal").celery_app is not None
        assert command[3] in {"worker", "beat"}
    else:
        pytest.fail(f"{name} runs {program!r}, which the project does not provide")


@pytest.mark.parametrize("name", sorted(COMPOSE["services"]))
def test_every_variable_compose_sets_is_read_by_the_settings(name):
    environment = COMPOSE["services"][name].get("environment", {})
    unread = set(environment) - _settings_variables() - IMAGE_VARIABLES
    assert not unread


def test_every_service_has_a_health_check_or_is_a_one_off():
    for name, service in COMPOSE["services"].items():
        assert "healthcheck" in service or name in {"migrate", "worker", "beat"}


def test_env_example_lists_every_variable_the_settings_read():
    listed = set(re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert _settings_variables() <= listed
