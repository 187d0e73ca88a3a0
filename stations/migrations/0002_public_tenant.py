from django.db import migrations


def create_public_tenant(apps, schema_editor):
    # django-tenants routes every non-station request to the tenant row of the public schema.
    Station = apps.get_model("stations", "Station")
    Station.objects.get_or_create(
        schema_name="public", defaults={"slug": "public", "name": "Public"}
    )


class Migration(migrations.Migration):
    dependencies = [("stations", "0001_initial")]

    operations = [migrations.RunPython(create_public_tenant, migrations.RunPython.noop)]
