"""Celery tasks of the uses part (thin adapters: ids in, services called).

Not autodiscovered by name (Celery looks for `tasks.py`): aggregation/apps.py `ready()` imports this module.
Beat entries (config/settings/base.py CELERY_BEAT_SCHEDULE): "aggregation.quality_nightly" at 02:30.
"""

from celery import shared_task


@shared_task(name="aggregation.theme_build")
def theme_build_task(job_id: int) -> dict:
    from .theme import theme_build

    job = theme_build(job_id=job_id)
    return {"job": job.pk, "status": job.status, "rows": job.row_count}


@shared_task(name="aggregation.quality_nightly")
def quality_nightly_task() -> int:
    from .quality import quality_compute_all

    return quality_compute_all()
