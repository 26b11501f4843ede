"""What AggregationConfig.ready() registers with the lower floors: the records' key rotator (security.rotation),
when data last arrived per catalog entry (catalog.hooks), and its kinds of long job (portal.services.jobs)."""

import datetime as dt

import pytest

from aggregation.models import IngestJob, ThemeBuildJob
from aggregation.services.pools import records_rotate
from aggregation.services.themes import STALE_AFTER
from catalog import hooks
from portal.services.jobs import job_kinds
from security import crypto, rotation
from tests.aggregation.builders import csv_bytes, ids, person, submit

pytestmark = pytest.mark.django_db


def test_the_records_rotator_is_registered(staff, people_entry):
    assert rotation.registered()["aggregation.records"] is records_rotate
    submit(staff, people_entry, csv_bytes([person(k) for k in ids(2)]))
    counts = records_rotate(cipher=crypto.cipher(), batch=10, recompute_blind_index=True, dry_run=True)
    assert counts == {"records": 2, "history": 0}  # a dry run counts: both records' digests would be recomputed


def test_data_arrivals_tell_the_catalog_when_data_last_came(staff, people_entry, firm_entry):
    assert hooks.data_arrivals([people_entry.pk]) == {}  # no dataset yet: no data
    job = submit(staff, people_entry, csv_bytes([person(k) for k in ids(2)]))
    job.dataset.refresh_from_db()
    arrivals = hooks.data_arrivals([people_entry.pk, firm_entry.pk])
    assert arrivals == {people_entry.pk: job.dataset.last_loaded_at} and arrivals[people_entry.pk] is not None


def test_import_and_theme_jobs_are_reaped_by_the_kernel(settings):
    kinds = {kind.model: kind for kind in job_kinds()}
    ingest, themes = kinds[IngestJob], kinds[ThemeBuildJob]
    assert (ingest.action, ingest.department, ingest.audit_object) == ("aggregation.job.failed", "dataset__department",
                                                                       None)
    settings.AGGREGATION = {**settings.AGGREGATION, "STALE_JOB_SECONDS": 42}
    assert ingest.stale_after() == dt.timedelta(seconds=42)  # the setting, read at each sweep
    assert "可重新运行" in ingest.message(ingest.stale_after())
    assert (themes.action, themes.audit_object, themes.department) == ("aggregation.theme.build_failed", "theme",
                                                                       "theme__department")
    assert themes.stale_after() == STALE_AFTER
