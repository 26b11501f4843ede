from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    """Chapters 6–7 and the policy note: assessment, violations, rectification, projects."""

    name = "supervision"
    verbose_name = _("监督考核")

    def ready(self):
        from portal import todo

        from .todo import todo as supervision_todo

        todo.register("supervision", supervision_todo)

        # ---- violations and rectification (R35, R36): reports to check, orders falling due, notice drafts
        from .todo_violations import todo as violations_todo

        todo.register("supervision.violations", violations_todo)
