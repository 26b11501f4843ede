from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AggregationConfig(AppConfig):
    """Chapter 3: data aggregation (R11–R15)."""

    name = "aggregation"
    verbose_name = _("数据归集")

    def ready(self):
        # Celery autodiscovers only `tasks.py`; the verification/quality/theme jobs live beside it.
        from . import uses_tasks  # noqa: F401
