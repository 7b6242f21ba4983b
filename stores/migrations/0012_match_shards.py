import django.db.models.deletion
from django.db import migrations, models

import stores.models


def first_shard(apps, schema_editor):
    """One shard, `a`, holding every operator: what one unsharded match worker did before."""
    shard = apps.get_model("stores", "MatchShard").objects.create(name="a")
    apps.get_model("stores", "Operator").objects.update(match_shard=shard)


class Migration(migrations.Migration):
    dependencies = [("stores", "0011_operator_retention_applied")]

    operations = [
        migrations.CreateModel(
            name="MatchShard",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.SlugField(max_length=32, unique=True, verbose_name="name")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={"ordering": ["name"]},
        ),
        migrations.AddField(
            model_name="operator",
            name="match_shard",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="operators", to="stores.matchshard"
            ),
        ),
        migrations.AddField(
            model_name="operator",
            name="moving_to",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="arriving",
                to="stores.matchshard",
            ),
        ),
        migrations.RunPython(first_shard, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="operator",
            name="match_shard",
            field=models.ForeignKey(
                default=stores.models._least_loaded_shard_id,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="operators",
                to="stores.matchshard",
                verbose_name="match shard",
            ),
        ),
    ]
