from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


def export_trace_key_check(app_configs, **kwargs):
    """Refuse to start without a usable EXPORT_TRACE_KEY: every CSV download would fail at its first block."""
    from django.core.exceptions import ImproperlyConfigured

    from .export.fingerprint import download_key

    try:
        download_key("check")
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), hint="EXPORT_TRACE_KEY: see .env.example", id="sharing.E001")]
    return []


class SharingConfig(AppConfig):
    """Chapter 4: data sharing (R18–R26)."""

    name = "sharing"
    verbose_name = _("数据共享")

    def ready(self):
        # Security sits below sharing and never names its models: the API clients of signed calls are registered
        # with it (request signing reads them, and their saves invalidate its per-process cache).
        # Its columns under the field keys (client secrets, push-target DSNs) are registered with key rotation.
        # The kernel fails the push runs whose worker died (at once, or by its reaper: portal.services.jobs), as the
        # run's own end with the code "interrupted" would: same receipt, audit event and subscription state.
        from django.conf import settings

        from portal import todo
        from portal.choices import AuditResult
        from portal.services.jobs import register_job_kind
        from security import rotation
        from security.signing.clients import register_client_model

        from .models import ApiClient, PushRun, PushSubscription
        from .push.run import interrupted_close, interrupted_message, interrupted_receipt, lost_message, lost_runs
        from .todo import todo as sharing_todo

        checks.register(export_trace_key_check)

        register_job_kind(
            PushRun, action="sharing.push.failed", audit_object="subscription", department="subscription__consumer",
            audit_data=interrupted_receipt, audit_result=AuditResult.FAILURE, message=interrupted_message,
            error_code="interrupted", on_reaped=interrupted_close,
            stale_after=lambda: settings.PORTAL["PUSH_STALE_SECONDS"],
            task_name="sharing.tasks.push_run", task_jobs=lost_runs, lost_code="interrupted", lost_message=lost_message,
        )
        register_client_model(self.get_model("ApiClient"))
        # The leak monitor (security, R28.4) suspends a client whose anomaly calls for it, through this app's service.
        from security.services.leaks import register_suspender

        from .services.clients import api_client_suspend_by_monitor

        register_suspender(api_client_suspend_by_monitor)
        rotation.register_column(ApiClient, "secret_enc", name="sharing.api_clients.secret")
        rotation.register_column(PushSubscription, "target_dsn_enc", name="sharing.push_subscriptions.dsn")
        todo.register("sharing", sharing_todo)
