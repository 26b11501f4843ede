"""Read side of the ingest jobs: job lists, and a job's rejected-rows report as its reader may see it."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from django.db.models import QuerySet

from portal.cells import csv_row
from security.crypto import DecryptionError

from ..access import decrypt, mask
from ..models import Dataset, IngestJob

REPORT_HEADER = ["行号", "列", "值", "原因"]


def job_list(*, user, dataset: Dataset | None = None) -> QuerySet[IngestJob]:
    qs = IngestJob.objects.restrict(user, "view").select_related("dataset__entry", "created_by")
    if dataset is not None:
        qs = qs.filter(dataset=dataset)
    return qs.order_by("-id")


def report_rows(job: IngestJob, *, full: bool) -> Iterator[list]:
    """The report's rows after REPORT_HEADER: [row, column, value, reason]. Values as uploaded when `full`
    (access.report_in_full), else masked by their item's kind. A report written before values were stored as
    uploaded (a .csv file) holds them masked already and is read as it is."""
    with job.report.open("rb") as fh:
        raw = fh.read().decode("utf-8-sig")
    if job.report.name.endswith(".csv"):
        yield from list(csv.reader(io.StringIO(raw, newline="")))[1:]
        return
    for line in raw.splitlines():
        if not line:
            continue
        row_no, column, value, reason, kind = json.loads(line)
        if kind and value:
            try:
                value = decrypt(value)
            except DecryptionError:  # a retired key: nobody reads it in full any more
                value = "***"
            else:
                value = value if full else mask(value, kind)
        yield [row_no, column, value, reason]


def report_csv(job: IngestJob, *, full: bool) -> Iterator[bytes]:
    """The report as a CSV download (UTF-8 with BOM for Excel; every cell through portal.cells)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(csv_row(REPORT_HEADER))
    yield ("\ufeff" + buf.getvalue()).encode()
    for row in report_rows(job, full=full):
        buf.seek(0)
        buf.truncate()
        writer.writerow(csv_row(row))
        yield buf.getvalue().encode()
