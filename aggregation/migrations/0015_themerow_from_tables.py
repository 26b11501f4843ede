"""Issue 18: theme rows are built from the resource tables (services.themes, storage.reading.theme_sources_sql).

A row now holds its sources' clear items as canonical text and, per source with a selected encrypted item, that
source's ONE row token under "<dataset id>#token"; `key_enc` is the row token of the source that changed the subject
last and `key_dataset` that source. Rows built before (per-item tokens, `key_enc` the key's own token) are not read
in the new form: they are removed and every theme that had them becomes due for a rebuild at once (the beat's minute
sweep, services.themes.themes_rebuild_due, queues the builds).
"""

from django.db import migrations, models
from django.utils import timezone


def rows_to_rebuild(apps, schema_editor):
    ThemeDatabase = apps.get_model("aggregation", "ThemeDatabase")
    ThemeRow = apps.get_model("aggregation", "ThemeRow")
    built = list(ThemeRow.objects.values_list("theme_id", flat=True).distinct())
    ThemeRow.objects.all().delete()
    now = timezone.now()
    ThemeDatabase.objects.filter(pk__in=built).update(row_count=0)
    ThemeDatabase.objects.filter(pk__in=built, rebuild_due_at__isnull=True).update(
        rebuild_due_at=now, rebuild_reason="schedule")


class Migration(migrations.Migration):

    dependencies = [
        ('aggregation', '0014_pool_schema'),
    ]

    operations = [
        migrations.AddField(
            model_name='themerow',
            name='key_dataset',
            field=models.BigIntegerField(blank=True, null=True, verbose_name='主体标识所在来源'),
        ),
        migrations.AlterField(
            model_name='themerow',
            name='key_enc',
            field=models.TextField(verbose_name='主体标识所在来源行的密文'),
        ),
        migrations.RunPython(rows_to_rebuild, migrations.RunPython.noop, elidable=True),
    ]
