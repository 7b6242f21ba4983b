"""The one sanctioned way consent events leave the table (decision 0033): the account erasure sets
`faceconsent.erasing_shopper` for its own transaction, and the trigger lets that shopper's rows, and
only those, be deleted. UPDATE is refused as before, and so is any other DELETE."""

from django.db import migrations


ERASURE_PATH_SQL = """
CREATE OR REPLACE FUNCTION consent_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND current_setting('faceconsent.erasing_shopper', true) = OLD.shopper_id::text THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'consent events are append-only: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;
"""

APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION consent_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'consent events are append-only: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ("consent", "0006_consent_events_append_only"),
    ]

    operations = [
        migrations.RunPython(_on_postgresql(ERASURE_PATH_SQL), _on_postgresql(APPEND_ONLY_SQL), elidable=False),
    ]
