"""Celery tasks of chapter 3 (thin adapters: ids in, services called), discovered by Celery's autodiscovery.

Services enqueue them by name (portal.services.jobs.enqueue). Beat entries (config/settings/base.py
CELERY_BEAT_SCHEDULE): "aggregation.tasks.datasets_sync" every ten minutes, "aggregation.quality_nightly" at
02:30. Jobs whose worker died are failed by the kernel's "portal.tasks.jobs_reap" (kinds registered in apps.py).
"""

from celery import shared_task

from .services.ingest import ingest_job_run
from .services.pools import datasets_sync
from .services.quality import quality_compute_all
from .services.themes import theme_build


@shared_task(name="aggregation.tasks.ingest_job_run", acks_late=True)
def ingest_job_run_task(job_id: int) -> str | None:
    job = ingest_job_run(job_id=job_id)
    return job.status if job else None


@shared_task(name="aggregation.tasks.datasets_sync")
def datasets_sync_task() -> int:
    return datasets_sync()


@shared_task(name="aggregation.theme_build")
def theme_build_task(job_id: int) -> dict:
    job = theme_build(job_id=job_id)
    return {"job": job.pk, "status": job.status, "rows": job.row_count}


@shared_task(name="aggregation.quality_nightly")
def quality_nightly_task() -> int:
    return quality_compute_all()
