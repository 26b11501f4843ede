"""Background work: enqueueing tasks by name, and the lifecycle of long jobs (heartbeats, one reaper).

Enqueueing: services name a task, they never import the module that defines it.

A chapter's `tasks.py` imports its services (a task is a thin adapter over a service); if services imported
the tasks back, every app would have an import circle. So a service enqueues by the task's registered name
(`@shared_task(name=...)`), after its transaction commits — a task never sees rows that were rolled back.
Looking the task up in the Celery app's registry (rather than `send_task`) keeps `task_always_eager` and a
test's `monkeypatch.setattr(task, "delay", …)` working.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from billiard.exceptions import WorkerLostError
from celery import current_app
from django.apps import apps
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import audit
from portal.choices import AuditResult, JobStatus
from portal.models import Job

log = logging.getLogger(__name__)

def _task(task_name: str):
    """The registered task. A worker imports every app's `tasks` module at start (Celery's autodiscovery); a web
    process or a management command has not, so the first look-up that misses runs the same discovery."""
    tasks = current_app.tasks
    if task_name not in tasks:
        current_app.loader.autodiscover_tasks([config.name for config in apps.get_app_configs()])
    return tasks[task_name]


def enqueue(task_name: str, *args, using: str | None = None) -> None:
    """Run the task named `task_name` with `args` (ids and JSON only) once the current transaction commits."""
    transaction.on_commit(lambda: _task(task_name).delay(*args), using=using)


def enqueue_many(task_name: str, calls: list[tuple], using: str | None = None) -> None:
    """One on_commit hook that enqueues the named task once per argument tuple in `calls`."""
    if calls:
        transaction.on_commit(lambda: [_task(task_name).delay(*args) for args in calls], using=using)


# --------------------------------------------------------------------------------------------------
# The job lifecycle (portal.models.jobs.Job): heartbeats, and one reaper for every registered kind of job


def log_line(text: str) -> str:
    """One line of a job's log as the pages show it: local time, then the text."""
    return f"[{timezone.localtime():%H:%M:%S}] {text}\n"


def job_heartbeat(model: type[Job], pk: int, *, progress: int | None = None, **fields) -> bool:
    """Record that the worker of job `pk` is alive (and its progress, capped at 99, and other `fields`).

    Only while the job is running: returns False when it no longer is (the reaper marked it failed, or it was
    cancelled), so the worker can stop instead of writing over that verdict.
    """
    if progress is not None:
        fields["progress"] = max(0, min(progress, 99))
    return bool(model.objects.filter(pk=pk, status=JobStatus.RUNNING).update(heartbeat_at=timezone.now(), **fields))


class OutOfBandHeartbeat:
    """job_heartbeat for a worker whose work runs inside one long transaction (an ingest job streaming into its
    table): the same update, through a connection of its own in autocommit, so that the job's page and the reaper
    see the progress while that transaction runs (its own writes are invisible until it commits). Called by one
    thread at a time — the one doing the work, which may not be the thread that made this object; `close()` when
    done. The connection is opened on the first beat."""

    def __init__(self, model: type[Job], pk: int):
        self.table = model._meta.db_table
        self.pk = pk
        self.params = {k: v for k, v in connection.get_connection_params().items() if k != "cursor_factory"}
        self.conn = None

    def __call__(self, *, progress: int | None = None, **fields) -> bool:
        import psycopg
        from psycopg import sql

        if progress is not None:
            fields["progress"] = max(0, min(progress, 99))
        if self.conn is None:
            self.conn = psycopg.connect(**self.params, autocommit=True)
        sets = [sql.SQL("heartbeat_at = %s")] + [sql.SQL("{} = %s").format(sql.Identifier(name)) for name in fields]
        cur = self.conn.execute(
            sql.SQL("UPDATE {} SET {} WHERE id = %s AND status = %s").format(
                sql.Identifier(self.table), sql.SQL(", ").join(sets)),
            [timezone.now(), *fields.values(), self.pk, JobStatus.RUNNING])
        return bool(cur.rowcount)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


@dataclass(frozen=True)
class JobKind:
    """How the reaper treats one job model (see `register_job_kind`)."""

    model: type[Job]
    action: str
    stale_after: Callable[[], dt.timedelta]
    department: str | None
    audit_object: str | None
    audit_data: Callable[[Job], dict[str, Any]]
    audit_result: str
    message: Callable[[dt.timedelta], str]
    error_code: str
    on_reaped: Callable[[Job], None] | None
    task_name: str | None = None
    task_jobs: Callable[[tuple, dict], Q] | None = None
    lost_code: str = "worker_lost"
    lost_message: Callable[[], str] | None = None


_KINDS: dict[str, JobKind] = {}
_TASKS: dict[str, str] = {}  # Celery task name -> model label of the kind of job that task runs


def _stale_message(stale: dt.timedelta) -> str:
    return _("处理进程中断（超过 %(s)d 秒无心跳），已标记为失败") % {"s": int(stale.total_seconds())}


def lost_message() -> str:
    """The log line and error of a job whose worker process died under it (the default of `register_job_kind`)."""
    return _("处理进程意外退出（worker lost），已标记为失败")


def _first_arg_is_the_job(args: tuple, kwargs: dict) -> Q:
    job_id = args[0] if args else next(iter(kwargs.values()), None) if len(kwargs) == 1 else None
    return Q(pk=job_id) if isinstance(job_id, int) else Q(pk__in=[])


def register_job_kind(
    model: type[Job],
    *,
    action: str,
    stale_after: dt.timedelta | int | Callable[[], dt.timedelta | int],
    department: str | None = None,
    audit_object: str | None = None,
    audit_data: Callable[[Job], dict[str, Any]] | None = None,
    audit_result: str = AuditResult.SUCCESS,
    message: Callable[[dt.timedelta], str] | None = None,
    error_code: str = "stale_heartbeat",
    on_reaped: Callable[[Job], None] | None = None,
    task_name: str | None = None,
    task_jobs: Callable[[tuple, dict], Q] | None = None,
    lost_code: str = "worker_lost",
    lost_message: Callable[[], str] | None = None,
) -> None:
    """Let `reap_stale_jobs()` mark `model`'s running jobs failed once their worker has gone quiet — and, with
    `task_name`, `worker_lost()` mark them failed at once when the process running that Celery task dies.

    Called from the app's `AppConfig.ready()`. A running job is stale when its last heartbeat (or, before the
    first one, its start) is older than `stale_after` (a timedelta, seconds, or a callable returning either, read
    at every sweep so a setting can change it). The reaper then sets status "failed", `finished_at`,
    `error_code`, `error_message` and appends `message(stale_after)` to the log, and writes one audit event
    `action` per job (actor: the system) about the job — or about the object at the relation path
    `audit_object` (e.g. "subscription") — with the department at the path `department` (e.g.
    "dataset__department"), `audit_data(job)` (default {"reason": "stale_heartbeat"}) and `audit_result`.
    `on_reaped(job)`, if given, runs for each failed job in the same transaction, after its audit event (e.g. to
    update the object the job worked on as the job's own end would have). Registering a model again replaces
    its entry.

    `task_name` is the Celery task that runs jobs of this kind; `task_jobs(args, kwargs)` the Q selecting the job
    that task's call works on (default: the first argument is the job's id). When the pool child running that task
    dies (SIGKILL, the OOM killer, a segfault), the worker's parent process fails its running job at once (see
    `worker_lost`): `lost_code` and `lost_message()` (default "处理进程意外退出（worker lost）…") instead of the
    reaper's code and message, the same audit event and `on_reaped`, audit data with "reason": "worker_lost".
    """
    if callable(stale_after):
        read = stale_after
    else:
        def read():
            return stale_after
    _KINDS[model._meta.label_lower] = JobKind(
        model=model,
        action=action,
        stale_after=lambda: _as_timedelta(read()),
        department=department,
        audit_object=audit_object,
        audit_data=audit_data or (lambda job: {"reason": "stale_heartbeat"}),
        audit_result=audit_result,
        message=message or _stale_message,
        error_code=error_code,
        on_reaped=on_reaped,
        task_name=task_name,
        task_jobs=task_jobs or _first_arg_is_the_job,
        lost_code=lost_code,
        lost_message=lost_message,
    )
    if task_name:
        _TASKS[task_name] = model._meta.label_lower


def unregister_job_kind(model: type[Job]) -> None:
    kind = _KINDS.pop(model._meta.label_lower, None)
    if kind is not None and kind.task_name:
        _TASKS.pop(kind.task_name, None)


def job_kinds() -> list[JobKind]:
    """The registered kinds of job, in registration order."""
    return list(_KINDS.values())


def _as_timedelta(value: dt.timedelta | int) -> dt.timedelta:
    return value if isinstance(value, dt.timedelta) else dt.timedelta(seconds=value)


def _follow(obj, path: str | None):
    """The object at the relation path `path` ("dataset__department") from `obj`; None without a path."""
    if not path:
        return None
    for name in path.split("__"):
        obj = getattr(obj, name)
    return obj


def _reap(kind: JobKind, now: dt.datetime) -> int:
    stale = kind.stale_after()
    cutoff = now - stale
    quiet = (
        Q(heartbeat_at__lt=cutoff)
        | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
        | Q(heartbeat_at__isnull=True, started_at__isnull=True)
    )
    related = [path for path in (kind.department, kind.audit_object) if path]
    text = kind.message(stale)
    with transaction.atomic():
        # SKIP LOCKED: a job whose worker is finishing it right now (holding its row) is not stale.
        jobs = list(
            kind.model.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related(*related)
            .filter(quiet, status=JobStatus.RUNNING)
            .order_by("pk")
        )
        for job in jobs:
            _fail(kind, job, now, kind.error_code, text, kind.audit_data(job))
    return len(jobs)


def _fail(kind: JobKind, job: Job, now: dt.datetime, code: str, text: str, data: dict[str, Any]) -> None:
    """Mark one locked running job failed, with its audit event and the kind's `on_reaped` (caller's transaction)."""
    job.status, job.finished_at = JobStatus.FAILED, now
    job.error_code, job.error_message = code, text[:300]
    job.log += log_line(text)
    job.save(update_fields=["status", "finished_at", "error_code", "error_message", "log"])
    audit.record(
        actor=None, action=kind.action, obj=_follow(job, kind.audit_object) or job,
        department=_follow(job, kind.department), data=data, result=kind.audit_result,
    )
    if kind.on_reaped is not None:
        kind.on_reaped(job)


def reap_stale_jobs(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Mark the running jobs whose worker went quiet failed, for every registered kind; {model label: how many}.

    Idempotent and safe to run concurrently (each kind in its own transaction, locked rows skipped). A job whose
    worker is still alive but slow keeps running as long as it sends heartbeats (`job_heartbeat`).
    """
    now = now or timezone.now()
    return {label: _reap(kind, now) for label, kind in list(_KINDS.items())}


# --------------------------------------------------------------------------------------------------
# A worker process that dies under its job: failed at once (the reaper above stays the safety net)
#
# Celery's prefork pool runs each task in a child process. When that child dies (SIGKILL, the OOM killer, a
# segfault), the worker's parent process sees it and fails the task with billiard's WorkerLostError: the
# `task_failure` signal fires there, with the task's name and arguments. `on_task_failure` (connected in
# portal.apps) hands it to `worker_lost`, which fails the running job of the kind registered for that task.
#
# Delivery (config/settings/base.py): tasks are acks_late (a message is acknowledged when its task ends, so a
# worker that vanishes whole — host crash, kill of the parent — leaves its messages to be delivered again), and
# task_reject_on_worker_lost stays False: a lost child's message is acknowledged, not requeued, so a job is never run
# twice behind the user's back; the user re-runs a failed import, a theme build is requested again, a push
# subscription runs at its next interval. A redelivered message is a no-op or a clean restart by each job's state
# machine: an ingest job and a theme build start only from "pending" (a job already running or failed is left as
# it is), a push run is a new receipt resuming from the subscription's acknowledged watermark (idempotent upserts).

LOCK_WAIT = "5s"  # a dead child's session may still hold the job's row until PostgreSQL notices it is gone


def worker_lost(task_name: str, args: tuple, kwargs: dict, *, now: dt.datetime | None = None) -> int:
    """Fail the running job(s) of the registered kind that the task `task_name` called with `args`/`kwargs` was
    working on, because its worker process died; returns how many. Idempotent (only running jobs change).

    The dead process's database session may still hold the job's row (a theme build locks it while it builds):
    PostgreSQL ends such a session within `client_connection_check_interval` (config/settings/base.py), so the
    lock is waited for up to LOCK_WAIT; past that the job is left to the reaper.
    """
    label = _TASKS.get(task_name)
    kind = _KINDS.get(label) if label else None
    if kind is None:
        return 0
    now = now or timezone.now()
    text = (kind.lost_message or lost_message)()
    related = [path for path in (kind.department, kind.audit_object) if path]
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
        jobs = list(
            kind.model.objects.select_for_update(of=("self",)).select_related(*related)
            .filter(kind.task_jobs(tuple(args or ()), dict(kwargs or {})), status=JobStatus.RUNNING)
            .order_by("pk")
        )
        for job in jobs:
            _fail(kind, job, now, kind.lost_code, text, {**kind.audit_data(job), "reason": "worker_lost"})
    return len(jobs)


def on_task_failure(sender=None, task_id=None, exception=None, args=None, kwargs=None, **extra) -> None:
    """Celery's `task_failure` receiver: a WorkerLostError (sent in the worker's parent process) fails the job.

    Never raises into the worker: an error is logged and the job left to the reaper. The database connection the
    parent opened is closed again (the parent forks the next child; the child must not inherit a live session)."""
    if not isinstance(exception, WorkerLostError):
        return
    name = getattr(sender, "name", None) or ""
    try:
        failed = worker_lost(name, args or (), kwargs or {})
        log.warning("task %s[%s]: worker lost, %d job(s) failed", name, task_id, failed)
    except Exception:
        log.exception("task %s[%s]: worker lost, its job could not be failed (the reaper will)", name, task_id)
    finally:
        if not connection.in_atomic_block:  # (a test calling this inside its transaction keeps its connection)
            connection.close()
