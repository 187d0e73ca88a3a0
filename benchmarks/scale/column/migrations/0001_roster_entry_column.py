"""What Django's AddField writes for a new nullable text field on the roster entries: one column
added to the busiest station table (with its audit triggers), in every station."""

from django.db import migrations

ADD = "ALTER TABLE lenders_rosterentry ADD COLUMN scale_probe varchar(20) NULL"
DROP = "ALTER TABLE lenders_rosterentry DROP COLUMN scale_probe"


class Migration(migrations.Migration):
    dependencies = [("lenders", "0013_admin_log_without_user_constraint")]

    operations = [migrations.RunSQL(ADD, DROP)]
