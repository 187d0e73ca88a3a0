"""The jobs got explicit names; the beat rows saved under the old, module-derived ones follow."""

from django.db import migrations

RENAMED = {
    "stations.tasks.heartbeat_all_stations": "stations.heartbeat_all_stations",
    "stations.tasks.sdpo_summaries_send": "notifications.sdpo_summaries_send",
    "escorts.tasks.tick_all_stations": "escorts.tick_all_stations",
    "lenders.tasks.roster_reminders_all_stations": "lenders.roster_reminders_all_stations",
    "lenders.tasks.retention_all_stations": "lenders.retention_all_stations",
    "notifications.tasks.message_sweep_all_stations": "notifications.message_sweep_all_stations",
}


def rename(apps, schema_editor, names=RENAMED):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for old, new in names.items():
        PeriodicTask.objects.filter(task=old).update(task=new)


def rename_back(apps, schema_editor):
    rename(apps, schema_editor, names={new: old for old, new in RENAMED.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("stations", "0008_trail_person_index"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(rename, rename_back)]
