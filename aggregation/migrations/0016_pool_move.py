"""Issue 18, the contract step: from here on the writers write the resource tables `pool.r<id>` only
(AGGREGATION["WRITE_RECORDS"] off by default). Every dataset's `aggregation_record` rows are moved into its table under
their ids — a table that already mirrors its records (every writer mirrored since the expand step) is verified
instead — and the switch refuses to go on if a dataset was refused or differs (storage.moving.move_all).

Non-atomic: one transaction per dataset. It runs the current models' code (storage.moving), so it must stay the
migration at which they are current: squash it away, with aggregation_record, once it has run everywhere."""

from django.db import migrations


def move(apps, schema_editor):
    if not apps.get_model("aggregation", "Record").objects.exists():
        return  # a new installation, or nothing was ever loaded
    from aggregation.storage.moving import move_all

    move_all(apps, schema_editor)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("aggregation", "0015_themerow_from_tables")]
    operations = [migrations.RunPython(move, migrations.RunPython.noop, elidable=False)]
