"""Per-client source networks (R28 / 等保). Clients registered before this migration keep working from any address
(`any_network` true) until the security admin names their networks; new clients must name at least one."""

import django.contrib.postgres.fields
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sharing", "0003_pushrun_lifecycle"),
    ]

    operations = [
        migrations.AddField(
            model_name="apiclient",
            name="allowed_networks",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(max_length=43), blank=True, default=list, size=None,
                verbose_name="允许的来源网段",
            ),
        ),
        # Added true (every existing row is flagged), then the default for new rows becomes false.
        migrations.AddField(
            model_name="apiclient",
            name="any_network",
            field=models.BooleanField(default=True, verbose_name="不限来源地址（升级前登记）"),
        ),
        migrations.AlterField(
            model_name="apiclient",
            name="any_network",
            field=models.BooleanField(default=False, verbose_name="不限来源地址（升级前登记）"),
        ),
    ]
