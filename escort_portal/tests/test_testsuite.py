"""`make test` runs the suite as two halves side by side: together they are the whole suite,
and neither shares a database, a Redis database or a queue with the other."""

from __future__ import annotations

from django.conf import settings

from escort_portal import testsuite


def test_the_two_halves_run_every_test_once(pytestconfig):
    outside, rest = testsuite._halves()
    assert all((settings.BASE_DIR / path).is_file() for path in outside[1])
    # The second half runs the configured test paths (no paths given) without the first's files.
    assert rest[1] == [f"--ignore={path}" for path in outside[1]]
    assert all(not argument.startswith("escort_portal") for argument in rest[1])


def test_the_halves_share_no_database_redis_or_queue(monkeypatch, tmp_path):
    # A checkout of no developer's own: their .env may name the apps' Redis database.
    monkeypatch.setattr(testsuite, "BASE_DIR", tmp_path)
    monkeypatch.setenv("TEST_DATABASE_NAME", "test_mine")
    monkeypatch.setenv("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    monkeypatch.setenv("TEST_CELERY_QUEUE", "mine")
    monkeypatch.delenv("TEST_APPS_REDIS_URL", raising=False)
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "escort_portal.settings.local")
    outside, apps = testsuite._environments()
    # Both halves run with pyproject.toml's test settings, whatever the shell says.
    assert "DJANGO_SETTINGS_MODULE" not in outside and "DJANGO_SETTINGS_MODULE" not in apps
    assert outside["TEST_DATABASE_NAME"] == "test_mine"
    assert apps["TEST_DATABASE_NAME"] == "test_mine_apps"
    assert apps["TEST_REDIS_URL"] == "redis://127.0.0.1:6379/13"
    assert apps["TEST_CELERY_QUEUE"] == "mine_apps"
