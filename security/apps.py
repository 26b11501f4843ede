from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


def field_keys_check(app_configs, **kwargs):
    """Refuse to start (manage.py check, migrate, runserver, gunicorn preload) with unusable field keys."""
    from django.core.exceptions import ImproperlyConfigured

    from security import crypto

    try:
        crypto.cipher()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), hint="FIELD_ENCRYPTION_KEYS / BLIND_INDEX_KEY: see .env.example",
                             id="security.E001")]
    return []


class SecurityConfig(AppConfig):
    """Chapter 5: security (R28–R32)."""

    name = "security"
    verbose_name = _("安全管理")

    def ready(self):
        checks.register(field_keys_check)
        # Connects the receivers that invalidate the signed-call client cache on every save of a department, in every
        # process (web, worker, shell), not only in those that happen to import it (the API-client model's own are
        # connected by register_client_model, called by the app that owns it); registers the OpenAPI extension.
        # The catalog asks this before making an entry shareable (secrecy review, R30); it cannot import security.
        from catalog import hooks
        from portal import todo
        from security.services.secrecy import share_refusal
        from security.signing import clients, schema  # noqa: F401
        from security.todo import todo as security_todo

        hooks.register_share_guard(share_refusal)
        todo.register("security", security_todo)
