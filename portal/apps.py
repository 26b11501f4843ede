from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("平台内核")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from axes.signals import user_locked_out
        from django.contrib.auth import signals as auth_signals

        from portal import signals

        auth_signals.user_logged_in.connect(signals.on_logged_in, dispatch_uid="portal.audit.login")
        auth_signals.user_logged_out.connect(signals.on_logged_out, dispatch_uid="portal.audit.logout")
        auth_signals.user_login_failed.connect(signals.on_login_failed, dispatch_uid="portal.audit.login_failed")
        user_locked_out.connect(signals.on_locked_out, dispatch_uid="portal.audit.locked_out")
