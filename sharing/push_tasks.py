"""Database push jobs (R22.1): the beat sweep and one subscription's run — thin adapters over sharing.push."""

from celery import shared_task

__all__ = ["push_due_task", "push_run_task"]


@shared_task(name="sharing.tasks.push_due")
def push_due_task() -> int:
    """Every minute: claim the due subscriptions (set-based) and queue one run each."""
    from .push import push_due

    return len(push_due())


@shared_task(name="sharing.tasks.push_run")
def push_run_task(subscription_id: int, trigger: str = "schedule", actor_id: int | None = None) -> int | None:
    from .push import push_run

    run = push_run(subscription_id=subscription_id, trigger=trigger, actor_id=actor_id)
    return run.pk if run is not None else None
