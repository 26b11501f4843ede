from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SharingConfig(AppConfig):
    """Chapter 4: data sharing (R18–R26)."""

    name = "sharing"
    verbose_name = _("数据共享")

    def ready(self):
        # Security sits below sharing and never names its models: the API clients of signed calls are registered
        # with it (request signing reads them, and their saves invalidate its per-process cache).
        from security.signing.clients import register_client_model

        register_client_model(self.get_model("ApiClient"))
