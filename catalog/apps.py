from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    """Chapter 2: data catalog (R7–R10, R17.1)."""

    name = "catalog"
    verbose_name = _("数据目录")

    def ready(self):
        from catalog.todo import todo as catalog_todo
        from portal import todo

        todo.register("catalog", catalog_todo)
