"""The beat entry "aggregation.ingest_reap" is gone from CELERY_BEAT_SCHEDULE (the kernel's "portal.jobs_reap" reaps
ingest jobs now); django_celery_beat's DatabaseScheduler keeps entries it once stored, so drop the stored one — else
beat would keep sending a task no worker knows."""

from django.db import migrations


def drop_entry(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name="aggregation.ingest_reap").delete()


class Migration(migrations.Migration):

    dependencies = [
        ("aggregation", "0007_jobs_lifecycle"),
        ("django_celery_beat", "0001_initial"),
    ]

    operations = [migrations.RunPython(drop_entry, migrations.RunPython.noop)]
