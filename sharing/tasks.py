"""Sharing beat jobs: thin adapters over services."""

from celery import shared_task

from .services import grant_expire_due


@shared_task(name="sharing.tasks.grant_expire")
def grant_expire_task() -> int:
    return grant_expire_due(request_id=f"celery:{grant_expire_task.request.id or '-'}")
from .push_tasks import push_due_task, push_run_task  # noqa: E402, F401  (R22.1 database push)
