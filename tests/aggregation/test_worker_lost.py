"""A Celery pool child killed in the middle of an import or a theme build: the job is failed at once, with the
reason, by the worker's parent process (portal.services.jobs.worker_lost) — not minutes later by the reaper, which
does not run here at all."""

import os
import signal

import pytest

from aggregation.models import IngestJob, Record, ThemeBuildJob
from aggregation.services import ingest as ingest_services
from aggregation.services import themes
from aggregation.services.pools import dataset_ensure
from tests.aggregation.builders import csv_bytes, ids, person, upload
from tests.support import TableLock, pool_children, stored_count, wait_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def an_import(request, staff):
    """-> (the dataset, a function starting the job (called while the pool's tables are held))."""
    entry = request.getfixturevalue("people_entry")
    return dataset_ensure(entry=entry), lambda: ingest_services.ingest_job_create(actor=staff, entry=entry,
                                                     upload=upload(csv_bytes([person(k) for k in ids(5)])))


def a_theme_build(request, staff):
    dataset = request.getfixturevalue("person_dataset")
    request.getfixturevalue("person_records")
    theme = themes.theme_save(actor=staff, name="人口", key_kind="id_number",
                              sources=[{"dataset": dataset.pk, "items": ["姓名", "性别"]}])
    return dataset, lambda: themes.theme_rebuild_request(actor=staff, theme_id=theme.pk)


@pytest.mark.parametrize(("start", "action", "reason"), [
    (an_import, "aggregation.job.failed", "处理进程意外退出（worker lost），已标记为失败；未导入任何数据，可重新运行"),
    (a_theme_build, "aggregation.theme.build_failed", "处理进程意外退出（worker lost），已标记为失败"),
], ids=["ingest", "theme"])
def test_a_job_whose_worker_process_is_killed_is_failed_at_once_with_the_reason(
        prefork_worker, request, staff, audit_log, start, action, reason):
    dataset, go = start(request, staff)
    # The pool's tables (the records and the dataset's resource table, whichever the job reads or writes) are held by
    # other sessions: the job, once running, waits there in the worker's child.
    with TableLock(Record._meta.db_table) as records, TableLock(f"pool.r{dataset.pk}") as rows:
        job = go()  # queued on commit, picked up by the real worker
        assert wait_for(lambda: records.waiting() or rows.waiting(), timeout=120)
        model = type(job)
        assert model.objects.get(pk=job.pk).status == "running"
        (child,) = pool_children(prefork_worker.pid)
        os.kill(child, signal.SIGKILL)
        # Failed while the table is still held: nothing waits for the dead child's statement to end.
        assert wait_for(lambda: model.objects.get(pk=job.pk).status == "failed", timeout=30)
    job = model.objects.get(pk=job.pk)
    assert (job.error_code, job.error_message) == ("worker_lost", reason)
    assert job.log.endswith(f"{reason}\n") and job.finished_at is not None
    event = audit_log(action)[-1]
    assert event.data["reason"] == "worker_lost" and event.actor_label == "system"
    if isinstance(job, IngestJob):
        assert job.inserted_rows == 0 and stored_count() == 0
    else:
        assert isinstance(job, ThemeBuildJob) and not job.theme.rows.exists()
