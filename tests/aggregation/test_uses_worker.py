"""The theme rebuild and the nightly quality job run through a real Celery worker on the real Redis broker."""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from aggregation import theme, uses_tasks  # uses_tasks imported here registers the tasks before the worker starts
from aggregation.models_uses import QualityReport, ThemeBuildJob
from portal.celery import app
from tests.aggregation.test_uses_fixtures import *  # noqa: F403

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def worker():
    app.conf.task_always_eager = False
    with start_worker(app, perform_ping_check=False, pool="solo", concurrency=1, loglevel="WARNING") as w:
        yield w


def wait_for(predicate, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_theme_rebuild_and_quality_on_the_worker(worker, person_dataset, person_records, staff):
    t = theme.theme_save(actor=staff, name="人口", key_kind="id_number",
                         sources=[{"dataset": person_dataset.pk, "items": ["姓名", "性别"]}])
    job = theme.theme_rebuild_request(actor=staff, theme_id=t.pk)  # enqueued on commit
    assert wait_for(lambda: ThemeBuildJob.objects.get(pk=job.pk).status == "succeeded")
    assert ThemeBuildJob.objects.get(pk=job.pk).row_count == 2
    uses_tasks.quality_nightly_task.delay()
    assert wait_for(lambda: QualityReport.objects.filter(dataset=person_dataset).exists())
