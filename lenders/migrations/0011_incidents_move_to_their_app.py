"""The incident register and SOS alerts move to the `incidents` app (its 0001_initial).

Only Django's picture of the models changes here: the tables, their rows, their audit trail's
event tables and indexes stay where they are under the same names (the moved models name them
in `Meta.db_table`), so nothing is copied in any station's schema.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('lenders', '0010_roster_no_collection'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                # The event tables first: they refer to the rows they record.
                migrations.DeleteModel(name='IncidentEvent'),
                migrations.DeleteModel(name='SosAlertEvent'),
                migrations.DeleteModel(name='SosAlert'),
                migrations.DeleteModel(name='Incident'),
            ],
            database_operations=[],
        ),
    ]
