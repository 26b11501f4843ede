"""Formula injection through the rejected-rows report of an ingest job (portal.cells): every rejected value, also
a formula, is written with one `'` before it, and the report holds no live formula."""

from __future__ import annotations

import csv
import io

import pytest

from aggregation.choices import JobStatus
from tests.aggregation.builders import csv_bytes, ids, person, submit
from tests.support import HOSTILE_CELLS, unquoted_csv_cell

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", HOSTILE_CELLS)
def test_rejected_values_are_quoted_in_the_report(value, staff, people_entry):
    job = submit(staff, people_entry, csv_bytes([person(ids(1)[0], 出生日期=value, 家庭人口=value)]))
    assert job.status == JobStatus.REJECTED
    with job.report.open("rb") as fh:
        report = list(csv.reader(io.StringIO(fh.read().decode("utf-8-sig"), newline="")))
    fields = {r[1]: [unquoted_csv_cell(f) for f in r] for r in report[1:]}  # no live formula anywhere
    if "\r" not in value:  # (a CR in a CSV upload ends its line: the row is rejected, but for other reasons)
        assert "出生日期" in fields and all(r[2] in (value, value.strip()) for r in fields.values())
