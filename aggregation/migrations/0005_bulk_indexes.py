"""Fewer indexes on the two bulk tables (issue 4: every index is maintained for every row a load writes).

- aggregation_record_changed_idx (dataset_id, updated_at): a prefix of 0004's (dataset_id, updated_at, id), which
  serves every query it served.
- aggregation_history_ds_idx (dataset_id, changed_at): nothing reads history by dataset and time.
- the FK index on recordhistory.record_id: a duplicate of aggregation_history_rec_idx (record_id), which stays.

Measured on 1 M first-load rows: the history indexes alone cost ≈ 1.8 s of the write.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('aggregation', '0004_data_api_indexes'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='record',
            name='aggregation_record_changed_idx',
        ),
        migrations.RemoveIndex(
            model_name='recordhistory',
            name='aggregation_history_ds_idx',
        ),
        migrations.AlterField(
            model_name='recordhistory',
            name='record',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='history', to='aggregation.record', verbose_name='记录'),
        ),
    ]
