"""Supervision jobs: thin adapters over services, taking ids (found by Celery's autodiscovery)."""

from celery import shared_task

from .services import assessments
from .services.projects import project_catalog_check


@shared_task(name="supervision.tasks.project_catalog_check")
def project_catalog_check_task() -> dict:
    """Daily (RP.2): flag completed projects whose declared resources are not in the catalog; tell each department
    once; clear the flag when the resources are published."""
    return project_catalog_check(request_id=f"celery:{project_catalog_check_task.request.id or '-'}")


@shared_task(name="supervision.tasks.assessment_compute_run")
def assessment_compute_run(run_id: int) -> None:
    assessments.assessment_run_execute(run_id=run_id)
