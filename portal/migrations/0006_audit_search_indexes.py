"""Indexes of the audit administrator's search (security.selectors.audit): by actor label, source address, grant.

Built CONCURRENTLY (so outside a transaction): the trail holds millions of rows and every data call writes to it; a
plain CREATE INDEX would block those writes for the whole build."""

import django.db.models.fields.json
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("portal", "0005_settings"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="auditevent",
            index=models.Index(fields=["actor_label"], name="portal_audit_label_idx"),
        ),
        AddIndexConcurrently(
            model_name="auditevent",
            index=models.Index(condition=models.Q(("ip__isnull", False)), fields=["ip"], name="portal_audit_ip_idx"),
        ),
        AddIndexConcurrently(
            model_name="auditevent",
            index=models.Index(django.db.models.fields.json.KeyTransform("grant", "data"),
                               condition=models.Q(("data__has_key", "grant")), name="portal_audit_grant_idx"),
        ),
    ]
