from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    """Chapters 6–7 and the policy note: assessment, violations, rectification, projects."""

    name = "supervision"
    verbose_name = _("监督考核")

    def ready(self):
        # --- assessments (R33) ---
        from portal.services.jobs import register_job_kind

        from .models import AssessmentRun
        from .services.assessments import revert_after_run

        register_job_kind(AssessmentRun, action="supervision.assessment.compute_failed", stale_after=600,
                          audit_object="assessment", on_reaped=revert_after_run)
