"""Enqueueing background work: services name a task, they never import the module that defines it.

A chapter's `tasks.py` imports its services (a task is a thin adapter over a service); if services imported
the tasks back, every app would have an import circle. So a service enqueues by the task's registered name
(`@shared_task(name=...)`), after its transaction commits — a task never sees rows that were rolled back.
Looking the task up in the Celery app's registry (rather than `send_task`) keeps `task_always_eager` and a
test's `monkeypatch.setattr(task, "delay", …)` working.
"""

from __future__ import annotations

from celery import current_app
from django.apps import apps
from django.db import transaction


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
