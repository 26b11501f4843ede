"""Jobs through a real Celery worker, and a worker killed mid-job (nothing half-written, re-run idempotent)."""

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection
from django.utils import timezone

from aggregation.choices import JobStatus
from aggregation.demo import POPULATION_ITEMS, generated_rows
from aggregation.models import IngestJob, RecordHistory
from aggregation.services import ingest as services
from config.celery import app
from portal.services.jobs import reap_stale_jobs
from tests.aggregation.builders import csv_bytes, ids, make_entry, person, upload
from tests.support import TableLock, live_count, load_inserts, stored_count, wait_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
ROOT = Path(__file__).resolve().parents[2]
INGEST = IngestJob._meta.label_lower  # the kind of job the kernel's reaper counts


def test_upload_runs_on_the_worker(staff, people_entry):
    app.conf.task_always_eager = False
    with start_worker(app, perform_ping_check=False, pool="solo", concurrency=1, loglevel="WARNING"):
        job = services.ingest_job_create(actor=staff, entry=people_entry,
                                         upload=upload(csv_bytes([person(k) for k in ids(5)])))
        assert wait_for(lambda: IngestJob.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED)
    assert live_count(job.dataset) == 5


def _parallel_children(media_root: str) -> list[int]:
    """Live `python -m aggregation.ingest.parallel` processes started for this test (recognised by its MEDIA_ROOT)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if b"aggregation.ingest.parallel" in cmdline and f"MEDIA_ROOT={media_root}".encode() in environ.split(b"\0"):
            found.append(int(pid))
    return found


@pytest.mark.parametrize("workers", ["1", "2"])
def test_killed_worker_leaves_nothing_and_rerun_does_not_double(staff, dept, monkeypatch, workers, settings,
                                                                 tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"  # its own: parser processes are recognised by it (xdist runs both cases)
    entry = make_entry(dept, "户籍人口信息", [(i["name"], i["data_type"], i.get("length"),
                                          i.get("is_subject_key", False), i.get("is_base_item", False))
                                         for i in POPULATION_ITEMS])
    header = [i["name"] for i in POPULATION_ITEMS]
    rows = list(generated_rows(POPULATION_ITEMS, 60_000, seed=5))
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    monkeypatch.setattr(services, "_enqueue", lambda job: None)  # the job runs in the child below
    job = services.ingest_job_create(actor=staff, entry=entry, upload=upload(buf.getvalue().encode()))
    assert job.status == JobStatus.PENDING and job.mapping

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "MEDIA_ROOT": str(settings.MEDIA_ROOT),
           "DATABASE_URL": f"postgres://{connection.settings_dict['USER']}@{connection.settings_dict['HOST']}:"
                           f"{connection.settings_dict['PORT']}/{connection.settings_dict['NAME']}",
           "AGGREGATION_INGEST_WORKERS": workers, "AGGREGATION_INGEST_PARALLEL_MIN_BYTES": "0",
           "AGGREGATION_INGEST_CSV_READER": "csv",  # the csv module's way: the parser processes are the point here
           "PYTHONPATH": str(ROOT)}
    code = ("import django; django.setup(); from aggregation.services.ingest import ingest_job_run; "
            f"ingest_job_run(job_id={job.pk})")
    # The job's resource table is held by another session: the job, once it has read its first batch, waits there
    # to write it — caught mid-way whatever the machine's speed (the load got too fast to catch by its progress).
    with TableLock(f"pool.r{job.dataset_id}") as lock:
        child = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT)  # noqa: S603
        try:
            seen: set[int] = set()  # parser processes seen while the job runs

            def running() -> bool:
                seen.update(_parallel_children(str(settings.MEDIA_ROOT)))
                return lock.waiting()

            assert wait_for(running, timeout=60)
            assert len(seen) == (2 if workers == "2" else 0)
            os.kill(child.pid, signal.SIGKILL)  # the worker dies mid-job
        finally:
            child.wait(timeout=30)
    # Its parser processes (2 workers: any file size) end too: their next write finds the pipe closed.
    assert wait_for(lambda: not _parallel_children(str(settings.MEDIA_ROOT)), timeout=60)
    job.refresh_from_db()
    # Killed while running, before the job's one commit: every row may already be parsed and staged
    # (the parser got fast), but none may be in the pool.
    assert job.status == JobStatus.RUNNING and job.total_rows <= 60_000
    assert stored_count() == 0 and RecordHistory.objects.count() == 0  # nothing half-written

    # The dead worker's server backend keeps its row locks until PostgreSQL notices the lost client
    # (at the end of the statement it was running); the reaper skips locked jobs and gets it next round.
    assert wait_for(lambda: reap_stale_jobs(now=timezone.now() + timedelta(minutes=10))[INGEST] == 1, timeout=60)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    services.ingest_job_rerun(actor=staff, job_id=job.pk)
    job = services.ingest_job_run(job_id=job.pk)
    assert job.status == JobStatus.SUCCEEDED and job.inserted_rows == 60_000
    assert stored_count() == 60_000 and RecordHistory.objects.count() == load_inserts(60_000)
