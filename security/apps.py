from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SecurityConfig(AppConfig):
    """Chapter 5: security (R28–R32)."""

    name = "security"
    verbose_name = _("安全管理")
