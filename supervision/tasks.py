"""Celery tasks of the supervision chapter: thin adapters taking ids, calling services."""

from celery import shared_task

from .services import assessments


@shared_task(name="supervision.tasks.assessment_compute_run")
def assessment_compute_run(run_id: int) -> None:
    assessments.assessment_run_execute(run_id=run_id)
