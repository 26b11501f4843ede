"""Kernel beat jobs: thin adapters over services."""

from celery import shared_task

from portal import audit
from portal.services.audit_chain import audit_chain_verify
from portal.services.auth import disable_inactive_accounts
from portal.services.deadlines import deadline_sweep
from portal.services.jobs import reap_stale_jobs


@shared_task(name="portal.tasks.deadline_sweep")
def deadline_sweep_task() -> dict:
    result = deadline_sweep(request_id=f"celery:{deadline_sweep_task.request.id or '-'}")
    return {"reminded": result.reminded, "overdue": result.overdue, "notified": result.notified}


@shared_task(name="portal.tasks.audit_seal")
def audit_seal_task() -> int:
    from django.conf import settings

    total = 0
    while sealed := audit.seal_pending(batch=settings.PORTAL["AUDIT_SEAL_BATCH"]):
        total += sealed
    return total


@shared_task(name="portal.tasks.audit_verify")
def audit_verify_task(full: bool = False) -> dict:
    """The trail's verification: incremental (every 15 minutes) or `full` (nightly); a break alerts the admins."""
    from portal.errors import PortalError

    try:
        run = audit_chain_verify(actor=None, full=full, via="beat",
                                 request_id=f"celery:{audit_verify_task.request.id or '-'}")
    except PortalError as exc:  # another run holds the lock: it reports
        return {"skipped": exc.code}
    return {"ok": run.ok, "first_seq": run.first_seq, "last_seq": run.last_seq, "break_seq": run.break_seq}


@shared_task(name="portal.tasks.jobs_reap")
def jobs_reap_task() -> dict[str, int]:
    """Every registered kind of long job: running jobs whose worker went quiet are marked failed."""
    return reap_stale_jobs()


@shared_task(name="portal.tasks.disable_inactive")
def disable_inactive_task() -> int:
    """Accounts unused for the setting `inactive_disable_days` are disabled (the administrators' aside)."""
    return disable_inactive_accounts(request_id=f"celery:{disable_inactive_task.request.id or '-'}")
