from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AggregationConfig(AppConfig):
    """Chapter 3: data aggregation (R11–R15)."""

    name = "aggregation"
    verbose_name = _("数据归集")

    def ready(self):
        # Lower floors learn of this chapter by registration, never by importing it: key rotation re-encrypts the
        # pool's records and history (set-based, own rotator) and the theme rows (security.rotation), the catalog's
        # responsibility list reads when data last arrived, the kernel fails the import and theme jobs whose worker
        # died (portal.services.jobs: at once when the worker's parent sees its child die, else by the reaper); an
        # approved catalog update is refused when stored values do not fit a retyped item, and migrates the
        # resource's table in its own transaction (storage.ddl).
        from django.conf import settings

        from catalog import hooks
        from portal.services.jobs import register_job_kind
        from security import rotation

        from .ingest.rotation import COVERS
        from .models import IngestJob, ThemeBuildJob, ThemeRow
        from .selectors.pools import data_arrivals
        from .services.ingest import lost_message, reaped_message
        from .services.pools import records_rotate, verification_cases_rotate
        from .services.themes import STALE_AFTER, theme_rows_rehash
        from .storage.ddl import item_change_refusal, items_changed

        rotation.register("aggregation.records", records_rotate, covers=COVERS)
        rotation.register("aggregation.verification_cases", verification_cases_rotate)
        # Theme rows are re-sealed as they are (their tokens re-encrypted), their subject index recomputed from the key
        # inside `key_enc` (services.themes.theme_rows_rehash): a token holds a row's JSON, not the key alone.
        rotation.register_column(ThemeRow, "key_enc", name="aggregation.theme_rows.key")
        rotation.register_json(ThemeRow, "data", name="aggregation.theme_rows.data")
        rotation.register("aggregation.theme_rows.key_hash", theme_rows_rehash)
        hooks.register_data_arrivals(data_arrivals)
        hooks.register_item_change_guard(item_change_refusal)
        hooks.register_items_changed(items_changed)
        register_job_kind(
            IngestJob, action="aggregation.job.failed", department="dataset__department", message=reaped_message,
            stale_after=lambda: settings.AGGREGATION["STALE_JOB_SECONDS"],
            task_name="aggregation.tasks.ingest_job_run", lost_message=lost_message,
        )
        register_job_kind(
            ThemeBuildJob, action="aggregation.theme.build_failed", audit_object="theme",
            department="theme__department", stale_after=STALE_AFTER, task_name="aggregation.theme_build",
        )
