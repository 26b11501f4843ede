"""Supervision jobs: thin adapters over services, taking ids (found by Celery's autodiscovery)."""

from celery import shared_task

from .services import assessments
from .services.orders import notices_draft_overdue
from .services.projects import project_catalog_check
from .services.violations import violations_detect


@shared_task(name="supervision.tasks.project_catalog_check")
def project_catalog_check_task() -> dict:
    """Daily (RP.2): flag completed projects whose declared resources are not in the catalog; tell each department
    once; clear the flag when the resources are published."""
    return project_catalog_check(request_id=f"celery:{project_catalog_check_task.request.id or '-'}")


@shared_task(name="supervision.tasks.assessment_compute_run")
def assessment_compute_run(run_id: int) -> None:
    assessments.assessment_run_execute(run_id=run_id)


@shared_task(name="supervision.tasks.violations_detect")
def violations_detect_task() -> dict:
    """Daily (R35, R0.4): file the violations the platform's evidence shows, each cause once."""
    result = violations_detect(request_id=f"celery:{violations_detect_task.request.id or '-'}")
    return {"filed": result.filed, **result.by_detector}


@shared_task(name="supervision.tasks.notices_draft_overdue")
def notices_draft_overdue_task() -> int:
    """After the deadline sweep (R36): one notice-of-criticism draft per overdue rectification order."""
    return notices_draft_overdue(request_id=f"celery:{notices_draft_overdue_task.request.id or '-'}")
