"""Celery adapters of the storage part: run an ingestion job, reap jobs whose worker died."""

from celery import shared_task


@shared_task(name="aggregation.tasks.ingest_job_run", acks_late=True)
def ingest_job_run_task(job_id: int) -> str | None:
    from .services import ingest_job_run

    job = ingest_job_run(job_id=job_id)
    return job.status if job else None


@shared_task(name="aggregation.tasks.datasets_sync")
def datasets_sync_task() -> int:
    from .services import datasets_sync

    return datasets_sync()


@shared_task(name="aggregation.tasks.ingest_reap")
def ingest_reap_task() -> int:
    from .services import ingest_reap

    return ingest_reap()
