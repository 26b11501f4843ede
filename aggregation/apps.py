from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AggregationConfig(AppConfig):
    """Chapter 3: data aggregation (R11–R15)."""

    name = "aggregation"
    verbose_name = _("数据归集")

    def ready(self):
        # Lower floors learn of this chapter by registration, never by importing it: key rotation re-encrypts the
        # pool's records (security.rotation), the catalog's responsibility list reads when data last arrived.
        from catalog import hooks
        from security import rotation

        from .ingest.rotation import rotate_records
        from .selectors.pools import data_arrivals

        rotation.register("aggregation.records", rotate_records)
        hooks.register_data_arrivals(data_arrivals)
