from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


def seal_key_check(app_configs, **kwargs):
    """Refuse to start (manage.py check, migrate, runserver, gunicorn preload) without a usable audit seal key: the
    sealer would fail at its first run and leave the trail unsealed."""
    from django.core.exceptions import ImproperlyConfigured

    from portal import audit

    try:
        audit.seal_public_keys()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), hint="AUDIT_SEAL_KEY / AUDIT_SEAL_PUBLIC_KEYS: see .env.example",
                             id="portal.E001")]
    return []


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("平台内核")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from axes.signals import user_locked_out
        from celery.signals import task_failure
        from django.contrib.auth import signals as auth_signals

        from portal import signals
        from portal.services.jobs import on_task_failure

        checks.register(seal_key_check)

        auth_signals.user_logged_in.connect(signals.on_logged_in, dispatch_uid="portal.audit.login")
        auth_signals.user_logged_out.connect(signals.on_logged_out, dispatch_uid="portal.audit.logout")
        auth_signals.user_login_failed.connect(signals.on_login_failed, dispatch_uid="portal.audit.login_failed")
        user_locked_out.connect(signals.on_locked_out, dispatch_uid="portal.audit.locked_out")
        # A Celery pool child that dies under a registered kind of job fails that job at once (portal.services.jobs).
        task_failure.connect(on_task_failure, dispatch_uid="portal.jobs.worker_lost", weak=False)
