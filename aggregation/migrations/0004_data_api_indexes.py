"""Keyset indexes of the sharing data API (pull / export, SPEC §9.2): constant time per page however deep.

- (dataset_id, id): pages of live rows in id order (`WHERE dataset_id = $1 AND (dataset_id, id) > ($1, $2)
  ORDER BY dataset_id, id LIMIT n`); the unique (dataset_id, key_hash) index has the dataset prefix but not the
  order, and the primary key would filter through other datasets' interleaved rows.
- (dataset_id, updated_at, id): incremental pages (`since`) with the row comparison
  `(dataset_id, updated_at, id) > ($1, $t, $i) ORDER BY updated_at, id`; the existing (dataset_id, updated_at)
  index cannot order ties by id.

Raw SQL (CONCURRENTLY, outside a transaction) so a live table is not locked for writes while they build;
the model state is untouched (aggregation/models.py belongs to the storage part), so makemigrations stays clean.
"""

from django.db import migrations

FORWARD = [
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS aggregation_record_ds_id_idx ON aggregation_record (dataset_id, id)",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS aggregation_record_ds_changed_id_idx "
    "ON aggregation_record (dataset_id, updated_at, id)",
]
BACKWARD = [
    "DROP INDEX CONCURRENTLY IF EXISTS aggregation_record_ds_changed_id_idx",
    "DROP INDEX CONCURRENTLY IF EXISTS aggregation_record_ds_id_idx",
]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("aggregation", "0002_uses")]

    operations = [migrations.RunSQL(sql, reverse) for sql, reverse in zip(FORWARD, reversed(BACKWARD), strict=True)]
