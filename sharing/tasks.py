"""Sharing jobs: thin adapters over services (found by Celery's autodiscovery; services enqueue them by name)."""

from celery import shared_task

from .push.run import push_run
from .services.grants import grant_expire_due
from .services.push import push_due


@shared_task(name="sharing.tasks.grant_expire")
def grant_expire_task() -> int:
    return grant_expire_due(request_id=f"celery:{grant_expire_task.request.id or '-'}")


@shared_task(name="sharing.tasks.push_due")
def push_due_task() -> int:
    """Every minute (R22.1 database push): claim the due subscriptions (set-based) and queue one run each."""
    return len(push_due())


@shared_task(name="sharing.tasks.push_run")
def push_run_task(subscription_id: int, trigger: str = "schedule", actor_id: int | None = None) -> int | None:
    run = push_run(subscription_id=subscription_id, trigger=trigger, actor_id=actor_id)
    return run.pk if run is not None else None
