"""docker-compose.yml cannot run here; check that what it names exists in the project, and that
it starts what the production smoke test (test_production.py) starts."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

from escort_portal.tests.deployfiles import dockerfile_build_steps, dockerfile_cmd, service_steps

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
APP_SERVICES = {
    name: service for name, service in COMPOSE["services"].items() if "build" in service
}
# Variables set for the images' own programs and deploy/backup.sh, not read by the portal.
IMAGE_VARIABLES = {
    "POSTGRES_DB",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "BACKUP_DIR",
    "BACKUP_KEEP_DAYS",
}


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
    for command in service_steps(name):
        _check_program(name, command)


def _check_program(name: str, command: list[str]) -> None:
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
        assert "healthcheck" in service or name in {"migrate", "beat"}


def test_web_and_workers_start_after_the_one_off_migrate():
    assert COMPOSE["services"]["migrate"]["restart"] == "no"
    for name, service in APP_SERVICES.items():
        if name != "migrate":
            assert service["depends_on"]["migrate"] == {
                "condition": "service_completed_successfully"
            }


def test_the_image_serves_what_the_web_service_serves():
    assert dockerfile_cmd() == COMPOSE["services"]["web"]["command"]


def test_web_and_pool_processes_are_replaced_after_a_stated_number_of_requests_and_tasks():
    from django.conf import settings

    web = COMPOSE["services"]["web"]["command"]
    # Jitter, so that the workers started together are not all replaced at one moment.
    assert int(web[web.index("--max-requests") + 1]) > 0
    assert int(web[web.index("--max-requests-jitter") + 1]) > 0
    assert settings.CELERY_WORKER_MAX_TASKS_PER_CHILD > 0


def test_the_image_is_built_with_the_steps_the_smoke_run_runs():
    steps = [step[2] for step in dockerfile_build_steps()]
    assert steps == ["compilemessages", "collectstatic"]


def test_the_image_runs_as_a_user_of_its_own():
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
    assert not any(line.startswith("RUN ") for line in lines[lines.index(f"USER {users[-1]}") :])


def _required_by_production() -> set[str]:
    text = (ROOT / "escort_portal" / "settings" / "production.py").read_text()
    calls = re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z_]+)\"([^)]*)\)", text)
    return {name for name, rest in calls if "default=" not in rest}


def test_every_variable_production_requires_is_given_to_the_containers():
    assert {"SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"} <= _required_by_production()
    example = dict(re.findall(r"^([A-Z_]+)=(.+)$", (ROOT / ".env.example").read_text(), re.M))
    for name, service in APP_SERVICES.items():
        given = set(service["environment"]) | set(example)
        assert _required_by_production() <= given, name


def test_no_container_looks_for_a_service_on_its_own_loopback():
    # .env.example is the containers' env_file: its development addresses (127.0.0.1) must be
    # replaced in the compose file, or a container would look for PostgreSQL or Redis in itself.
    example = dict(re.findall(r"^([A-Z_]+)=(.+)$", (ROOT / ".env.example").read_text(), re.M))
    local = {name for name, value in example.items() if "://127.0.0.1" in value}
    local -= {name for name in local if name.startswith(("TEST_", "BENCH_"))}
    assert "CACHE_URL" in local
    for name, service in APP_SERVICES.items():
        assert local <= set(service["environment"]), (name, local - set(service["environment"]))


def test_env_example_lists_every_variable_the_settings_read():
    listed = set(re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert _settings_variables() <= listed


def test_web_and_workers_run_as_the_app_role_and_migrate_as_the_owner():
    def user(name: str) -> str:
        return APP_SERVICES[name]["environment"]["DATABASE_URL"].split("//")[1].split(":")[0]

    owner = COMPOSE["services"]["db"]["environment"]["POSTGRES_USER"]
    assert user("migrate") == owner
    for name in ("web", "worker", "planner", "beat"):
        assert user(name) == APP_SERVICES[name]["environment"]["DATABASE_APP_ROLE"] != owner
    assert service_steps("migrate") == [
        ["python", "manage.py", "migrate_schemas"],
        ["python", "manage.py", "grant_app_role", "--create-role"],
    ]
