"""The job lifecycle: the abstract Job, heartbeats, and the one reaper for every registered kind of job."""

import datetime as dt
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection, models
from django.test.utils import isolate_apps
from django.utils import timezone

from portal.choices import AuditResult, JobStatus
from portal.models import AuditEvent, Department, Job
from portal.services import jobs
from portal.services.jobs import job_heartbeat, job_kinds, reap_stale_jobs, register_job_kind, unregister_job_kind

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def job_model(db, monkeypatch):
    """A job model as an app declares one (a Job with its own relation), with a table for this test only.

    The reaper sees this kind only: the apps' own kinds (registered at start-up) are set aside for the test."""
    monkeypatch.setattr(jobs, "_KINDS", {})
    with isolate_apps("portal"):

        class ReapableJob(Job):
            department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")

            class Meta:
                app_label = "portal"
                db_table = "portal_test_reapablejob"

    with connection.schema_editor() as editor:
        editor.create_model(ReapableJob)  # rolled back with the test's transaction
    yield ReapableJob
    unregister_job_kind(ReapableJob)


def make(model, department, *, status=JobStatus.RUNNING, started=None, heartbeat=None):
    return model.objects.create(department=department, status=status, started_at=started, heartbeat_at=heartbeat,
                                log="[09:00:00] 开始\n")


def test_running_jobs_whose_worker_went_quiet_are_failed_and_audited(job_model, dept):
    register_job_kind(job_model, action="portal.job.failed", department="department", stale_after=300)
    quiet = make(job_model, dept, started=NOW - 10 * MINUTE, heartbeat=NOW - 6 * MINUTE)
    alive = make(job_model, dept, started=NOW - 10 * MINUTE, heartbeat=NOW - 4 * MINUTE)
    never_beat = make(job_model, dept, started=NOW - 6 * MINUTE)  # no heartbeat yet: its start counts
    just_started = make(job_model, dept, started=NOW - 1 * MINUTE)
    unstarted = make(job_model, dept)  # running without a start time: nothing vouches for it
    pending = make(job_model, dept, status=JobStatus.PENDING)
    done = make(job_model, dept, status=JobStatus.SUCCEEDED, started=NOW - 60 * MINUTE)

    assert reap_stale_jobs(now=NOW) == {job_model._meta.label_lower: 3}

    status = dict(job_model.objects.values_list("pk", "status"))
    assert {pk for pk, s in status.items() if s == JobStatus.FAILED} == {quiet.pk, never_beat.pk, unstarted.pk}
    assert status[alive.pk] == status[just_started.pk] == JobStatus.RUNNING
    assert (status[pending.pk], status[done.pk]) == (JobStatus.PENDING, JobStatus.SUCCEEDED)
    quiet.refresh_from_db()
    assert quiet.finished_at == NOW and quiet.error_code == "stale_heartbeat" and quiet.is_finished
    assert quiet.error_message == "处理进程中断（超过 300 秒无心跳），已标记为失败"
    assert quiet.log.startswith("[09:00:00] 开始\n[") and quiet.log.endswith("已标记为失败\n")
    events = AuditEvent.objects.filter(action="portal.job.failed").order_by("object_id")
    assert [(e.object_type, e.object_id, e.department_id, e.data, e.actor_label, e.result) for e in events] == [
        ("portal.reapablejob", str(pk), dept.pk, {"reason": "stale_heartbeat"}, "system", AuditResult.SUCCESS)
        for pk in sorted([quiet.pk, never_beat.pk, unstarted.pk], key=str)
    ]
    assert reap_stale_jobs(now=NOW) == {job_model._meta.label_lower: 0}  # idempotent


def test_a_kind_names_its_audit_object_data_result_message_and_reads_its_setting_each_sweep(job_model, dept):
    register_job_kind(
        job_model, action="portal.job.interrupted", department="department", audit_object="department",
        audit_data=lambda job: {"job": job.pk, "code": "interrupted"}, audit_result=AuditResult.FAILURE,
        message=lambda stale: f"中断（{stale.seconds // 60} 分钟）", error_code="interrupted",
        stale_after=lambda: dt.timedelta(minutes=settings.PORTAL["TEST_STALE_MINUTES"]),
    )
    job = make(job_model, dept, started=NOW - 30 * MINUTE, heartbeat=NOW - 20 * MINUTE)
    settings.PORTAL["TEST_STALE_MINUTES"] = 60
    try:
        assert reap_stale_jobs(now=NOW)[job_model._meta.label_lower] == 0
        settings.PORTAL["TEST_STALE_MINUTES"] = 15
        assert reap_stale_jobs(now=NOW)[job_model._meta.label_lower] == 1
    finally:
        del settings.PORTAL["TEST_STALE_MINUTES"]
    job.refresh_from_db()
    assert (job.error_code, job.error_message) == ("interrupted", "中断（15 分钟）")
    (event,) = AuditEvent.objects.filter(action="portal.job.interrupted")
    assert (event.object_type, event.object_id, event.result) == ("portal.department", str(dept.pk), "failure")
    assert event.data == {"job": job.pk, "code": "interrupted"}


def test_on_reaped_runs_for_each_failed_job_in_the_reapers_transaction(job_model, dept):
    seen = []

    def on_reaped(job):
        assert job.status == JobStatus.FAILED and job.finished_at == NOW
        assert AuditEvent.objects.filter(action="portal.job.failed", object_id=str(job.pk)).exists()  # after it
        Department.objects.filter(pk=job.department_id).update(name=f"reaped #{job.pk}")
        seen.append(job.pk)

    register_job_kind(job_model, action="portal.job.failed", department="department", stale_after=300,
                      on_reaped=on_reaped)
    quiet = make(job_model, dept, started=NOW - 10 * MINUTE, heartbeat=NOW - 6 * MINUTE)
    make(job_model, dept, started=NOW - 10 * MINUTE, heartbeat=NOW - 1 * MINUTE)
    assert reap_stale_jobs(now=NOW) == {job_model._meta.label_lower: 1}
    assert seen == [quiet.pk]
    dept.refresh_from_db()
    assert dept.name == f"reaped #{quiet.pk}"
    assert reap_stale_jobs(now=NOW) == {job_model._meta.label_lower: 0} and seen == [quiet.pk]


def test_registration_is_per_model_and_replaces(job_model):
    register_job_kind(job_model, action="portal.job.failed", stale_after=60)
    register_job_kind(job_model, action="portal.job.reaped", stale_after=dt.timedelta(minutes=5))
    (kind,) = [k for k in job_kinds() if k.model is job_model]
    assert (kind.action, kind.stale_after()) == ("portal.job.reaped", dt.timedelta(minutes=5))


def test_a_heartbeat_only_lands_on_a_running_job(job_model, dept):
    job = make(job_model, dept, started=timezone.now())
    assert job_heartbeat(job_model, job.pk, progress=140)
    job.refresh_from_db()
    assert job.progress == 99 and job.heartbeat_at is not None  # 100 is for the end of the job
    job_model.objects.filter(pk=job.pk).update(status=JobStatus.FAILED)  # the reaper got there first
    assert not job_heartbeat(job_model, job.pk, progress=50)
    job.refresh_from_db()
    assert job.progress == 99


def test_the_reaper_runs_as_a_beat_task(job_model, dept):
    from portal.tasks import jobs_reap_task

    register_job_kind(job_model, action="portal.job.failed", stale_after=300)
    make(job_model, dept)
    assert jobs_reap_task.name == "portal.tasks.jobs_reap"
    assert jobs_reap_task.apply().get()[job_model._meta.label_lower] == 1
    (event,) = AuditEvent.objects.filter(action="portal.job.failed")
    assert (event.object_type, event.department_id) == ("portal.reapablejob", None)  # no department path given
    assert settings.CELERY_BEAT_SCHEDULE["portal.jobs_reap"]["task"] == jobs_reap_task.name


def test_a_fresh_web_process_finds_every_task_it_enqueues_by_name():
    """A web process never imports the apps' tasks modules (only a worker does): the first by-name look-up runs
    Celery's discovery, so a service's enqueue works there too. Run in a new interpreter, as gunicorn would be."""
    script = (
        "import django; django.setup()\n"
        "from celery import current_app\n"
        "names = ['aggregation.tasks.ingest_job_run', 'aggregation.theme_build', 'sharing.tasks.push_run']\n"
        "assert not any(n in current_app.tasks for n in names), 'tasks already imported'\n"
        "from portal.services.jobs import _task\n"
        "print(sorted(_task(n).name for n in names))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    argv = [sys.executable, "-c", script]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=False,  # noqa: S603 — our own script
                         cwd=settings.BASE_DIR)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(sorted(["aggregation.tasks.ingest_job_run", "aggregation.theme_build",
                                             "sharing.tasks.push_run"]))


def test_a_lost_worker_fails_the_running_job_of_its_task_at_once(job_model, dept):
    from billiard.exceptions import WorkerLostError

    register_job_kind(job_model, action="portal.job.failed", department="department", stale_after=300,
                      task_name="portal.tests.run_job")
    running = make(job_model, dept, started=timezone.now(), heartbeat=timezone.now())  # its heartbeat is fresh
    other = make(job_model, dept, started=timezone.now())

    class Task:
        name = "portal.tests.run_job"

    jobs.on_task_failure(sender=Task, task_id="t1", exception=ValueError("an ordinary failure"), args=(running.pk,))
    assert job_model.objects.get(pk=running.pk).status == JobStatus.RUNNING  # the task's own end handles that
    jobs.on_task_failure(sender=Task, task_id="t1", exception=WorkerLostError("signal 9"), args=(running.pk,))
    running.refresh_from_db()
    assert (running.status, running.error_code) == (JobStatus.FAILED, "worker_lost")
    assert running.error_message == "处理进程意外退出（worker lost），已标记为失败" and "worker lost" in running.log
    assert job_model.objects.get(pk=other.pk).status == JobStatus.RUNNING
    (event,) = AuditEvent.objects.filter(action="portal.job.failed")
    assert (event.object_id, event.department_id, event.data) == (str(running.pk), dept.pk, {"reason": "worker_lost"})
    assert jobs.worker_lost("portal.tests.run_job", (running.pk,), {}) == 0  # once
    assert jobs.worker_lost("portal.tests.unknown", (other.pk,), {}) == 0
    unregister_job_kind(job_model)
    assert jobs.worker_lost("portal.tests.run_job", (other.pk,), {}) == 0  # the task is forgotten with its kind


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_out_of_band_heartbeat_is_seen_while_the_workers_transaction_runs():
    """A load streaming into its table runs in one long transaction: its progress must still reach the job's page
    and the reaper (jobs.OutOfBandHeartbeat: a connection of its own)."""
    import psycopg
    from django.db import transaction

    with isolate_apps("portal"):

        class StreamingJob(Job):
            class Meta:
                app_label = "portal"
                db_table = "portal_test_streamingjob"

    with connection.schema_editor() as editor:
        editor.create_model(StreamingJob)
    try:
        job = StreamingJob.objects.create(status=JobStatus.RUNNING, started_at=timezone.now(), log="")
        beat = jobs.OutOfBandHeartbeat(StreamingJob, job.pk)
        params = {k: v for k, v in connection.get_connection_params().items() if k != "cursor_factory"}
        with transaction.atomic(), psycopg.connect(**params, autocommit=True) as page:
            StreamingJob.objects.create(status=JobStatus.PENDING, log="written by the worker's transaction")
            assert beat(progress=140)
            seen = page.execute("SELECT progress, heartbeat_at IS NOT NULL, (SELECT count(*) FROM "
                                "portal_test_streamingjob) FROM portal_test_streamingjob WHERE id = %s",
                                [job.pk]).fetchone()
            assert seen == (99, True, 1)  # the beat is visible, the transaction's own row is not
        StreamingJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED)  # the reaper got there first
        assert not beat(progress=50)
        beat.close()
        job.refresh_from_db()
        assert job.progress == 99
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(StreamingJob)
