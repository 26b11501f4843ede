from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    """Chapters 6–7 and the policy note: assessment, violations, rectification, projects."""

    name = "supervision"
    verbose_name = _("监督考核")

    def ready(self):
        # 我的待办 (portal.todo); an assessment run whose worker died is failed by the kernel's reaper.
        from portal import todo
        from portal.services.jobs import register_job_kind

        from .models import AssessmentRun
        from .services.assessments import revert_after_run
        from .todo import todo as supervision_todo
        from .todo_violations import todo as violations_todo

        todo.register("supervision", supervision_todo)
        todo.register("supervision.violations", violations_todo)  # reports to check, orders falling due, drafts
        register_job_kind(AssessmentRun, action="supervision.assessment.compute_failed", stale_after=600,
                          audit_object="assessment", on_reaped=revert_after_run,
                          task_name="supervision.tasks.assessment_compute_run")
