"""What AggregationConfig.ready() registers with the lower floors: the records' key rotator (security.rotation)
and when data last arrived per catalog entry (catalog.hooks)."""

import pytest

from aggregation.ingest.rotation import rotate_records
from catalog import hooks
from security import crypto, rotation
from tests.aggregation.builders import csv_bytes, ids, person, submit

pytestmark = pytest.mark.django_db


def test_the_records_rotator_is_registered(staff, people_entry):
    assert rotation.registered()["aggregation.records"] is rotate_records
    submit(staff, people_entry, csv_bytes([person(k) for k in ids(2)]))
    counts = rotate_records(cipher=crypto.cipher(), batch=10, recompute_blind_index=True, dry_run=True)
    assert counts == {"records": 2, "history": 0}  # a dry run counts: both records' digests would be recomputed


def test_data_arrivals_tell_the_catalog_when_data_last_came(staff, people_entry, firm_entry):
    assert hooks.data_arrivals([people_entry.pk]) == {}  # no dataset yet: no data
    job = submit(staff, people_entry, csv_bytes([person(k) for k in ids(2)]))
    job.dataset.refresh_from_db()
    arrivals = hooks.data_arrivals([people_entry.pk, firm_entry.pk])
    assert arrivals == {people_entry.pk: job.dataset.last_loaded_at} and arrivals[people_entry.pk] is not None
