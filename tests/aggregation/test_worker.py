"""The theme rebuild and the nightly quality job run through a real Celery worker on the real Redis broker."""

import pytest

from aggregation import tasks  # imported here registers the tasks before the worker starts
from aggregation.models import QualityReport, ThemeBuildJob
from aggregation.services import themes as theme
from tests.support import wait_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_theme_rebuild_and_quality_on_the_worker(live_worker, person_dataset, person_records, staff):
    t = theme.theme_save(actor=staff, name="人口", key_kind="id_number",
                         sources=[{"dataset": person_dataset.pk, "items": ["姓名", "性别"]}])
    job = theme.theme_rebuild_request(actor=staff, theme_id=t.pk)  # enqueued on commit
    assert wait_for(lambda: ThemeBuildJob.objects.get(pk=job.pk).status == "succeeded")
    assert ThemeBuildJob.objects.get(pk=job.pk).row_count == 2
    tasks.quality_nightly_task.delay()
    assert wait_for(lambda: QualityReport.objects.filter(dataset=person_dataset).exists())
