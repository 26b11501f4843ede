"""Record.masked: each personal value's masked form, stored beside the encrypted value (issue 5: a masked bulk
download reads them instead of decrypting every value; security.masking). Existing rows get theirs here, each
value decrypted once (aggregation.ingest.encryption.remask)."""

from django.db import migrations, models


def backfill(apps, schema_editor):
    from aggregation.ingest.encryption import remask
    from aggregation.ingest.planning import item_specs, mask_kinds_of

    Dataset = apps.get_model("aggregation", "Dataset")
    DataItem = apps.get_model("catalog", "DataItem")
    for dataset in Dataset.objects.order_by("pk"):
        specs = item_specs(DataItem.objects.filter(entry_id=dataset.entry_id), key_kind=dataset.key_kind,
                                  encrypted_items=dataset.encrypted_items)
        kinds = mask_kinds_of(specs)
        remask(dataset.pk, kinds)
        Dataset.objects.filter(pk=dataset.pk).update(mask_kinds=kinds)


class Migration(migrations.Migration):

    dependencies = [
        ('aggregation', '0005_bulk_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='record',
            name='masked',
            field=models.JSONField(blank=True, db_default=models.Value({}, output_field=models.JSONField()), default=dict, verbose_name="脱敏形式"),
        ),
        migrations.AddField(
            model_name='dataset',
            name='mask_kinds',
            field=models.JSONField(blank=True, default=dict, verbose_name='脱敏形式的类型'),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
