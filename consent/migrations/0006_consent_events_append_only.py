"""Consent events are append-only (decision 0029): the foreign keys to the consent and the shopper
protect the events instead of cascading to them, and on PostgreSQL a trigger refuses UPDATE and
DELETE on the table whoever asks. SQLite has no such trigger here: the model and queryset guards
are what it has."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


TRIGGER_SQL = """
CREATE FUNCTION consent_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'consent events are append-only: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER consent_event_append_only
    BEFORE UPDATE OR DELETE ON consent_consentevent
    FOR EACH ROW EXECUTE FUNCTION consent_event_append_only();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS consent_event_append_only ON consent_consentevent;
DROP FUNCTION IF EXISTS consent_event_append_only();
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ('consent', '0005_notice_version_contact_zh_hans'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='consentevent',
            name='consent',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='events', to='consent.consent'),
        ),
        migrations.AlterField(
            model_name='consentevent',
            name='shopper',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='consent_events', to=settings.AUTH_USER_MODEL),
        ),
        migrations.RunPython(_on_postgresql(TRIGGER_SQL), _on_postgresql(DROP_SQL), elidable=False),
    ]
