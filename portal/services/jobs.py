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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from celery import current_app
from django.apps import apps
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import audit
from portal.choices import AuditResult, JobStatus
from portal.models import Job


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


_KINDS: dict[str, JobKind] = {}


def _stale_message(stale: dt.timedelta) -> str:
    return _("处理进程中断（超过 %(s)d 秒无心跳），已标记为失败") % {"s": int(stale.total_seconds())}


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
) -> None:
    """Let `reap_stale_jobs()` mark `model`'s running jobs failed once their worker has gone quiet.

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
    )


def unregister_job_kind(model: type[Job]) -> None:
    _KINDS.pop(model._meta.label_lower, None)


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
            job.status, job.finished_at = JobStatus.FAILED, now
            job.error_code, job.error_message = kind.error_code, text[:300]
            job.log += log_line(text)
            job.save(update_fields=["status", "finished_at", "error_code", "error_message", "log"])
            audit.record(
                actor=None, action=kind.action, obj=_follow(job, kind.audit_object) or job,
                department=_follow(job, kind.department), data=kind.audit_data(job), result=kind.audit_result,
            )
            if kind.on_reaped is not None:
                kind.on_reaped(job)
    return len(jobs)


def reap_stale_jobs(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Mark the running jobs whose worker went quiet failed, for every registered kind; {model label: how many}.

    Idempotent and safe to run concurrently (each kind in its own transaction, locked rows skipped). A job whose
    worker is still alive but slow keeps running as long as it sends heartbeats (`job_heartbeat`).
    """
    now = now or timezone.now()
    return {label: _reap(kind, now) for label, kind in list(_KINDS.items())}
