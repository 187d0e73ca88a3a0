"""Jobs are known by explicit names, which the beat schedule and the saved beat rows use."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from escort_portal.celery import app

OUR_APPS = ("stations", "lenders", "incidents", "escorts", "notifications", "chat")
renaming = importlib.import_module("stations.migrations.0009_beat_task_names")


def test_every_job_of_ours_has_an_explicit_name_of_its_app():
    app.loader.import_default_modules()
    ours = [task for task in app.tasks.values() if task.__module__.startswith(OUR_APPS)]
    assert ours
    for task in ours:
        assert task.name == f"{task.__module__.split('.')[0]}.{task.__wrapped__.__name__}"


def test_every_beat_entry_names_a_registered_job():
    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry


@pytest.mark.django_db
def test_the_saved_beat_rows_follow_the_renamed_jobs():
    every_minute = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    for old in renaming.RENAMED:
        PeriodicTask.objects.create(name=old, task=old, interval=every_minute)
    renaming.rename(django_apps, None)
    assert set(PeriodicTask.objects.values_list("task", flat=True)) == set(
        renaming.RENAMED.values()
    )
    renaming.rename_back(django_apps, None)
    assert set(PeriodicTask.objects.values_list("task", flat=True)) == set(renaming.RENAMED)
