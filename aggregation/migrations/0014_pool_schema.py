"""Issue 18: the schema of the resource tables (`pool.r<dataset id>`, aggregation.storage) and its one row-id sequence,
and Dataset.columns (item name → column).

The sequence starts above today's record ids: a pool row id shares one id space with aggregation_record ids (history
rows, verification cases and corrections point at either while the readers move), so the rows moved over keep theirs.
"""

from django.db import migrations, models

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS pool;
CREATE SEQUENCE IF NOT EXISTS pool.row_id_seq AS bigint CACHE 1000;
SELECT setval('pool.row_id_seq', (SELECT coalesce(max(id), 0) + 1 FROM aggregation_record), false);
"""

# Not CASCADE: a database holding resource tables keeps them (and refuses the reversal).
SCHEMA_REVERSE = "DROP SEQUENCE IF EXISTS pool.row_id_seq; DROP SCHEMA IF EXISTS pool;"


class Migration(migrations.Migration):

    dependencies = [
        ('aggregation', '0013_ingest_file_sha256'),
    ]

    operations = [
        migrations.AddField(
            model_name='dataset',
            name='columns',
            field=models.JSONField(blank=True, default=dict, verbose_name='资源表的列'),
        ),
        migrations.RunSQL(SCHEMA, SCHEMA_REVERSE),
    ]
