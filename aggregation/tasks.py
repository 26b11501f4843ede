"""Celery tasks of chapter 3 (thin adapters: ids in, services called), discovered by Celery's autodiscovery.

Services enqueue them by name (portal.services.jobs.enqueue). Beat entries (config/settings/base.py
CELERY_BEAT_SCHEDULE): "aggregation.tasks.datasets_sync" every ten minutes, "aggregation.quality_nightly" at
02:30, "aggregation.themes_schedule" at 03:30 and "aggregation.themes_rebuild_due" every minute. Jobs whose worker
died are failed by the kernel (kinds registered in apps.py: at once on a lost worker, else "portal.tasks.jobs_reap").
"""

from celery import shared_task

from .services.ingest import ingest_job_run
from .services.pools import datasets_integrity_sweep, datasets_sync
from .services.quality import quality_compute_all
from .services.themes import theme_build, themes_rebuild_due, themes_schedule


@shared_task(name="aggregation.tasks.ingest_job_run", acks_late=True)
def ingest_job_run_task(job_id: int) -> str | None:
    job = ingest_job_run(job_id=job_id)
    return job.status if job else None


@shared_task(name="aggregation.integrity_sweep")
def integrity_sweep_task() -> dict:
    """Nightly: every resource table checked whole for changes made around the application (R35.5)."""
    checked, failed = datasets_integrity_sweep()
    return {"checked": checked, "failed": failed}


@shared_task(name="aggregation.tasks.datasets_sync")
def datasets_sync_task() -> int:
    return datasets_sync()


@shared_task(name="aggregation.theme_build")
def theme_build_task(job_id: int) -> dict:
    job = theme_build(job_id=job_id)
    return {"job": job.pk, "status": job.status, "rows": job.row_count}


@shared_task(name="aggregation.themes_rebuild_due")
def themes_rebuild_due_task() -> int:
    """Every minute: one build for each theme a source's load (debounced) or the schedule made due."""
    return len(themes_rebuild_due())


@shared_task(name="aggregation.themes_schedule")
def themes_schedule_task() -> int:
    """Nightly: every theme is rebuilt."""
    return len(themes_schedule())


@shared_task(name="aggregation.quality_nightly")
def quality_nightly_task() -> int:
    return quality_compute_all()
