from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SharingConfig(AppConfig):
    """Chapter 4: data sharing (R18–R26)."""

    name = "sharing"
    verbose_name = _("数据共享")
