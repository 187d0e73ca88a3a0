"""A station's copy of the admin's log keeps its users' ids without a constraint into the public
schema, like every other station table (see stations.schemas)."""

from django.db import migrations

# Whatever name Django gave it: the one foreign key of this schema's django_admin_log that
# points at the users' table in public.
DROP = """
DO $$
DECLARE
    name text;
BEGIN
    FOR name IN
        SELECT con.conname FROM pg_constraint con
        WHERE con.contype = 'f'
            AND con.conrelid = format('%I.django_admin_log', current_schema())::regclass
            AND con.confrelid = 'public.stations_user'::regclass
    LOOP
        EXECUTE format('ALTER TABLE django_admin_log DROP CONSTRAINT %I', name);
    END LOOP;
END $$;
"""

RESTORE = """
ALTER TABLE django_admin_log ADD CONSTRAINT django_admin_log_user_id_fk_stations_user_id
    FOREIGN KEY (user_id) REFERENCES public.stations_user (id) DEFERRABLE INITIALLY DEFERRED;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("admin", "0002_logentry_remove_auto_add"),
        ("lenders", "0012_user_references_without_constraint"),
    ]

    operations = [migrations.RunSQL(DROP, RESTORE)]
