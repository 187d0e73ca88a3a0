"""The incident register and SOS alerts, moved from `lenders` with their tables.

Every station already has the tables (`lenders_incident`, `lenders_sosalert` and their audit
trail's `lenders_incidentevent`, `lenders_sosalertevent`), rows included: the models name them
in `Meta.db_table`, so this migration creates them in Django's picture only and copies nothing.

Two things in the database do follow the app's name, and move here:
- the audit triggers: pgtrigger names each one after "<app>.<Model>:<trigger>", and
  `pgtrigger.ignore` (the retention job) finds them by that name. Each old trigger is dropped
  and the same trigger installed under its new name, in the same transaction: no change to
  these tables goes unrecorded in between.
- the content types (`django_content_type`, in the public schema and in each station's), so
  permissions and admin log entries stay attached to the models.
"""

import hashlib

import django.db.models.deletion
import pghistory.utils
import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations, models


MOVED = {'incident': 'Incident', 'incidentevent': 'IncidentEvent', 'sosalert': 'SosAlert', 'sosalertevent': 'SosAlertEvent'}


def _old_pgid(model_name, trigger_name):
    """The name pgtrigger gave the trigger while the model was `lenders.<Model>`."""
    uri = f"lenders.{MOVED[model_name]}:{trigger_name}"
    return f"pgtrigger_{trigger_name}_{hashlib.sha1(uri.encode()).hexdigest()[:5]}"


def _renamed_triggers(operations):
    """SQL that drops each moved trigger under its old name and installs it under its new one,
    and SQL that does the reverse."""
    forwards, backwards = [], []
    for operation in operations:
        if not isinstance(operation, pgtrigger.migrations.AddTrigger):
            continue
        new = operation.trigger
        old_pgid = _old_pgid(operation.model_name, new.name)
        old = pgtrigger.compiler.Trigger(
            name=new.name,
            sql=pgtrigger.compiler.UpsertTriggerSql(**{**new.sql.kwargs, 'pgid': old_pgid}),
        )
        forwards += [old.uninstall_sql, f'DROP FUNCTION IF EXISTS {old_pgid}();', new.install_sql]
        backwards += [new.uninstall_sql, f'DROP FUNCTION IF EXISTS {new.sql.pgid}();', old.install_sql]
    return forwards, backwards


class MoveContentTypes(migrations.operations.base.Operation):
    """Give the moved models' content types the new app label, in the schema being migrated.

    Unlike RunPython it runs in the public schema too, where django-tenants' router would skip
    a station app's migration: the permissions (public) point at the public rows. A schema that
    already has the new rows keeps them and its old rows stay, unused.
    """

    reversible = True

    def __init__(self, old_label, new_label):
        self.old_label, self.new_label = old_label, new_label

    def deconstruct(self):
        return self.__class__.__name__, [self.old_label, self.new_label], {}

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._move(schema_editor, self.old_label, self.new_label)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._move(schema_editor, self.new_label, self.old_label)

    def _move(self, schema_editor, old_label, new_label):
        schema_editor.execute(
            'UPDATE django_content_type AS moved SET app_label = %s '
            'WHERE moved.app_label = %s AND moved.model = ANY(%s) AND NOT EXISTS ('
            'SELECT 1 FROM django_content_type AS taken '
            'WHERE taken.app_label = %s AND taken.model = moved.model)',
            [new_label, old_label, list(MOVED), new_label],
        )

    def describe(self):
        return f"Move the content types of {', '.join(MOVED.values())} to {self.new_label}"


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('lenders', '0011_incidents_move_to_their_app'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    state_operations = [
        migrations.CreateModel(
            name='Incident',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('occurred_at', models.DateTimeField(verbose_name='when')),
                ('kind', models.CharField(choices=[('snatching', 'Snatching'), ('attempt', 'Attempted snatching'), ('suspicious', 'Suspicious person or vehicle'), ('sos', 'SOS from a field agent'), ('other', 'Other')], max_length=12, verbose_name='kind')),
                ('place', models.CharField(blank=True, max_length=255, verbose_name='place')),
                ('cash_band', models.CharField(blank=True, choices=[('lt50k', 'Under Rs 50,000'), ('50k-1l', 'Rs 50,000 to 1 lakh'), ('1l-2l', 'Rs 1 to 2 lakh'), ('gt2l', 'Over Rs 2 lakh')], max_length=10, verbose_name='cash band')),
                ('fir_number', models.CharField(blank=True, max_length=200, verbose_name='FIR number')),
                ('narrative', models.TextField(blank=True, verbose_name='what happened')),
                ('status', models.CharField(choices=[('reported', 'Reported by a branch, to be confirmed'), ('open', 'Open'), ('closed', 'Closed')], max_length=10, verbose_name='status')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                ('agent', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to='lenders.fieldagent', verbose_name='agent')),
                ('area', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to='lenders.collectionarea', verbose_name='area')),
                ('branch', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to='lenders.lenderbranch', verbose_name='branch')),
                ('confirmed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='confirmed by')),
                ('reported_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='reported by')),
            ],
            options={
                'verbose_name': 'incident',
                'verbose_name_plural': 'incidents',
                'db_table': 'lenders_incident',
                'ordering': ['-occurred_at'],
            },
        ),
        migrations.CreateModel(
            name='IncidentEvent',
            fields=[
                ('pgh_id', models.AutoField(primary_key=True, serialize=False)),
                ('pgh_created_at', models.DateTimeField(auto_now_add=True)),
                ('pgh_label', models.TextField(help_text='The event label.')),
                ('pgh_context', pghistory.utils.JSONField(null=True)),
                ('pgh_context_id', models.UUIDField(null=True)),
                ('id', models.BigIntegerField()),
                ('occurred_at', models.DateTimeField(verbose_name='when')),
                ('kind', models.CharField(choices=[('snatching', 'Snatching'), ('attempt', 'Attempted snatching'), ('suspicious', 'Suspicious person or vehicle'), ('sos', 'SOS from a field agent'), ('other', 'Other')], max_length=12, verbose_name='kind')),
                ('place', models.CharField(blank=True, max_length=255, verbose_name='place')),
                ('cash_band', models.CharField(blank=True, choices=[('lt50k', 'Under Rs 50,000'), ('50k-1l', 'Rs 50,000 to 1 lakh'), ('1l-2l', 'Rs 1 to 2 lakh'), ('gt2l', 'Over Rs 2 lakh')], max_length=10, verbose_name='cash band')),
                ('fir_number', models.CharField(blank=True, max_length=200, verbose_name='FIR number')),
                ('narrative', models.TextField(blank=True, verbose_name='what happened')),
                ('status', models.CharField(choices=[('reported', 'Reported by a branch, to be confirmed'), ('open', 'Open'), ('closed', 'Closed')], max_length=10, verbose_name='status')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                ('agent', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to='lenders.fieldagent', verbose_name='agent')),
                ('area', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to='lenders.collectionarea', verbose_name='area')),
                ('branch', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to='lenders.lenderbranch', verbose_name='branch')),
                ('confirmed_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to=settings.AUTH_USER_MODEL, verbose_name='confirmed by')),
                ('pgh_obj', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='events', to='incidents.incident')),
                ('reported_by', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to=settings.AUTH_USER_MODEL, verbose_name='reported by')),
            ],
            options={
                'db_table': 'lenders_incidentevent',
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='SosAlert',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('raised_at', models.DateTimeField(auto_now_add=True, verbose_name='raised at')),
                ('latitude', models.DecimalField(blank=True, decimal_places=6, max_digits=9, null=True, verbose_name='latitude')),
                ('longitude', models.DecimalField(blank=True, decimal_places=6, max_digits=9, null=True, verbose_name='longitude')),
                ('accuracy_m', models.PositiveIntegerField(blank=True, null=True, verbose_name='accuracy (metres)')),
                ('located_at', models.DateTimeField(blank=True, null=True, verbose_name='located at')),
                ('acknowledged_at', models.DateTimeField(blank=True, null=True, verbose_name='acknowledged at')),
                ('acknowledged_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='acknowledged by')),
                ('entry', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='sos_alerts', to='lenders.rosterentry', verbose_name='entry')),
                ('incident', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='sos', to='incidents.incident', verbose_name='incident')),
                ('raised_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='raised by')),
            ],
            options={
                'db_table': 'lenders_sosalert',
                'ordering': ['-raised_at'],
            },
        ),
        migrations.CreateModel(
            name='SosAlertEvent',
            fields=[
                ('pgh_id', models.AutoField(primary_key=True, serialize=False)),
                ('pgh_created_at', models.DateTimeField(auto_now_add=True)),
                ('pgh_label', models.TextField(help_text='The event label.')),
                ('pgh_context', pghistory.utils.JSONField(null=True)),
                ('pgh_context_id', models.UUIDField(null=True)),
                ('id', models.BigIntegerField()),
                ('raised_at', models.DateTimeField(auto_now_add=True, verbose_name='raised at')),
                ('latitude', models.DecimalField(blank=True, decimal_places=6, max_digits=9, null=True, verbose_name='latitude')),
                ('longitude', models.DecimalField(blank=True, decimal_places=6, max_digits=9, null=True, verbose_name='longitude')),
                ('accuracy_m', models.PositiveIntegerField(blank=True, null=True, verbose_name='accuracy (metres)')),
                ('located_at', models.DateTimeField(blank=True, null=True, verbose_name='located at')),
                ('acknowledged_at', models.DateTimeField(blank=True, null=True, verbose_name='acknowledged at')),
                ('acknowledged_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to=settings.AUTH_USER_MODEL, verbose_name='acknowledged by')),
                ('entry', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to='lenders.rosterentry', verbose_name='entry')),
                ('incident', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to='incidents.incident', verbose_name='incident')),
                ('pgh_obj', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='events', to='incidents.sosalert')),
                ('raised_by', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to=settings.AUTH_USER_MODEL, verbose_name='raised by')),
            ],
            options={
                'db_table': 'lenders_sosalertevent',
                'abstract': False,
            },
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='incident',
            trigger=pgtrigger.compiler.Trigger(name='insert_insert', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "lenders_incidentevent" ("agent_id", "area_id", "branch_id", "cash_band", "confirmed_by_id", "created_at", "fir_number", "id", "kind", "narrative", "occurred_at", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "place", "reported_by_id", "status", "updated_at") VALUES (NEW."agent_id", NEW."area_id", NEW."branch_id", NEW."cash_band", NEW."confirmed_by_id", NEW."created_at", NEW."fir_number", NEW."id", NEW."kind", NEW."narrative", NEW."occurred_at", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'insert\', NEW."id", NEW."place", NEW."reported_by_id", NEW."status", NEW."updated_at"); RETURN NULL;', hash='424a65aa123a39655a8f6d4d5da8eb10ea91b22d', operation='INSERT', pgid='pgtrigger_insert_insert_edffb', table='lenders_incident', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='incident',
            trigger=pgtrigger.compiler.Trigger(name='update_update', sql=pgtrigger.compiler.UpsertTriggerSql(condition='WHEN (OLD.* IS DISTINCT FROM NEW.*)', func='INSERT INTO "lenders_incidentevent" ("agent_id", "area_id", "branch_id", "cash_band", "confirmed_by_id", "created_at", "fir_number", "id", "kind", "narrative", "occurred_at", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "place", "reported_by_id", "status", "updated_at") VALUES (NEW."agent_id", NEW."area_id", NEW."branch_id", NEW."cash_band", NEW."confirmed_by_id", NEW."created_at", NEW."fir_number", NEW."id", NEW."kind", NEW."narrative", NEW."occurred_at", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'update\', NEW."id", NEW."place", NEW."reported_by_id", NEW."status", NEW."updated_at"); RETURN NULL;', hash='a4e0c4951cf8729564047bb63200749df82b47de', operation='UPDATE', pgid='pgtrigger_update_update_41444', table='lenders_incident', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='incident',
            trigger=pgtrigger.compiler.Trigger(name='delete_delete', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "lenders_incidentevent" ("agent_id", "area_id", "branch_id", "cash_band", "confirmed_by_id", "created_at", "fir_number", "id", "kind", "narrative", "occurred_at", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "place", "reported_by_id", "status", "updated_at") VALUES (OLD."agent_id", OLD."area_id", OLD."branch_id", OLD."cash_band", OLD."confirmed_by_id", OLD."created_at", OLD."fir_number", OLD."id", OLD."kind", OLD."narrative", OLD."occurred_at", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'delete\', OLD."id", OLD."place", OLD."reported_by_id", OLD."status", OLD."updated_at"); RETURN NULL;', hash='48a1ea27025be42bbe9c65065e21526b5562b32b', operation='DELETE', pgid='pgtrigger_delete_delete_2fefa', table='lenders_incident', when='AFTER')),
        ),
        migrations.AddIndex(
            model_name='incidentevent',
            index=models.Index(fields=['pgh_created_at', 'pgh_id'], name='lenders_inc_pgh_cre_5196d3_idx'),
        ),
        migrations.AddIndex(
            model_name='incidentevent',
            index=models.Index(models.F('pgh_context__user'), name='pgh_who_incident'),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='incidentevent',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='b626bde581668efcd173eb897b9f763887b253d8', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_7b202', table='lenders_incidentevent', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='sosalert',
            trigger=pgtrigger.compiler.Trigger(name='insert_insert', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "lenders_sosalertevent" ("accuracy_m", "acknowledged_at", "acknowledged_by_id", "entry_id", "id", "incident_id", "latitude", "located_at", "longitude", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "raised_at", "raised_by_id") VALUES (NEW."accuracy_m", NEW."acknowledged_at", NEW."acknowledged_by_id", NEW."entry_id", NEW."id", NEW."incident_id", NEW."latitude", NEW."located_at", NEW."longitude", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'insert\', NEW."id", NEW."raised_at", NEW."raised_by_id"); RETURN NULL;', hash='8f661f8cdbeb75709e3128eb69c59468f62a3efd', operation='INSERT', pgid='pgtrigger_insert_insert_c8f5b', table='lenders_sosalert', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='sosalert',
            trigger=pgtrigger.compiler.Trigger(name='update_update', sql=pgtrigger.compiler.UpsertTriggerSql(condition='WHEN (OLD.* IS DISTINCT FROM NEW.*)', func='INSERT INTO "lenders_sosalertevent" ("accuracy_m", "acknowledged_at", "acknowledged_by_id", "entry_id", "id", "incident_id", "latitude", "located_at", "longitude", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "raised_at", "raised_by_id") VALUES (NEW."accuracy_m", NEW."acknowledged_at", NEW."acknowledged_by_id", NEW."entry_id", NEW."id", NEW."incident_id", NEW."latitude", NEW."located_at", NEW."longitude", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'update\', NEW."id", NEW."raised_at", NEW."raised_by_id"); RETURN NULL;', hash='c92c0b6fb5d8bceea69aa71981b832ee47902ed8', operation='UPDATE', pgid='pgtrigger_update_update_424d2', table='lenders_sosalert', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='sosalert',
            trigger=pgtrigger.compiler.Trigger(name='delete_delete', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "lenders_sosalertevent" ("accuracy_m", "acknowledged_at", "acknowledged_by_id", "entry_id", "id", "incident_id", "latitude", "located_at", "longitude", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "raised_at", "raised_by_id") VALUES (OLD."accuracy_m", OLD."acknowledged_at", OLD."acknowledged_by_id", OLD."entry_id", OLD."id", OLD."incident_id", OLD."latitude", OLD."located_at", OLD."longitude", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'delete\', OLD."id", OLD."raised_at", OLD."raised_by_id"); RETURN NULL;', hash='42dab08e7cc38ce22e1c270796bdb32bcda6a8b2', operation='DELETE', pgid='pgtrigger_delete_delete_53190', table='lenders_sosalert', when='AFTER')),
        ),
        migrations.AddIndex(
            model_name='sosalertevent',
            index=models.Index(fields=['pgh_created_at', 'pgh_id'], name='lenders_sos_pgh_cre_d3ed6b_idx'),
        ),
        migrations.AddIndex(
            model_name='sosalertevent',
            index=models.Index(models.F('pgh_context__user'), name='pgh_who_sosalert'),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='sosalertevent',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='2162cb660a35212c832d179d362b0331e75b87e4', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_c305c', table='lenders_sosalertevent', when='BEFORE')),
        ),
    ]
    forwards, backwards = _renamed_triggers(state_operations)

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=state_operations,
            database_operations=[migrations.RunSQL(sql=forwards, reverse_sql=backwards)],
        ),
        MoveContentTypes('lenders', 'incidents'),
    ]
