"""Bulk download (批量下载, R22.1/R25.1): GET /api/v1/data/{resource}/export/?format=csv|xlsx[&bom=1].

The caller's slice — the items the grant policy allows (`fields`, default all readable), exact filters and
`since` as in the pull — streamed in constant memory:

- CSV: one `COPY (SELECT …) TO STDOUT` of the slice, read off the connection and written out 2 000 rows at a
  time (sharing.export.csv_copy), so memory does not grow with the number of rows;
- XLSX: rows from a PostgreSQL server-side cursor (`QuerySet.iterator(chunk_size=…)`), 2 000 at a time, rendered
  and flagged (R14.4) through openpyxl's write-only workbook (rows go to its temporary XML file, not to memory)
  into a temporary file, which is then streamed in 64 KiB blocks.

Masking is the pull's (sharing.data_api.records: items named in the grant in full, other personal items masked).
Trace (R25.1 "bulk files carry a trace of who, which grant, when"): a trace id (also in the audit event,
`data["trace"]`), the caller, department, grant, purpose and time, written as `#` comment lines before the CSV
header, and in the XLSX document properties plus a hidden last column `trace` on every row. Beyond the header
line, every CSV row carries the download's fingerprint (sharing.export.fingerprint: a keyed choice of one field
written quoted, about one row in four; the values read are the same), so a file stripped of its first lines,
shuffled or cut still names its download (`manage.py trace_leak`, sharing.export.leaks). XLSX rows carry no
such mark (decided: an identical-looking style variant per cell would cost a style per cell and survive neither
copy-paste nor save-as-CSV, the ways rows leave a workbook; its trace is the properties and the hidden column).
`bom=1` prefixes the CSV with a UTF-8 BOM so Excel opens it as UTF-8.

One `sharing.data.read` event per download, written when the stream ends with the number of rows written
(result "failure" and `completed: false` when the stream broke off or the response was closed unread).
"""

from __future__ import annotations

import csv
import io
import itertools
import tempfile
import uuid

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import context
from portal.cells import csv_row, xlsx_row
from portal.choices import AuditResult

from ..data_api.calls import DataCall
from ..data_api.records import RowRenderer, records_queryset
from .csv_copy import CHUNK_ROWS, csv_body

BLOCK_BYTES = 64 * 1024
FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
VERIFICATION_COLUMN = "核校中"
TRACE_COLUMN = "trace"


def trace_of(call: DataCall, trace_id: str) -> dict:
    grant = call.permission.grant
    user = call.user
    return {
        "trace": trace_id,
        "user": user.get_username(),
        "department": getattr(getattr(user, "department", None), "name", ""),
        "grant": f"#{grant.pk}" if grant else _("无需授权（%(basis)s）") % {"basis": call.permission.basis},
        "grant_purpose": grant.get_purpose_display() if grant else "",
        "purpose": call.purpose,
        "resource": f"{call.entry.code} {call.entry.name}",
        "at": timezone.localtime().isoformat(timespec="seconds"),
    }


def trace_line(trace: dict) -> str:
    return (
        f"焦作市大数据平台门户 批量下载 | 资源: {trace['resource']} | 下载人: {trace['user']}（{trace['department']}）"
        f" | 授权: {trace['grant']} {trace['grant_purpose']} | 用途: {trace['purpose']} | 时间: {trace['at']}"
        f" | 追踪号: {trace['trace']}"
    )


def export_rows(call: DataCall):
    """Yield lists of rendered rows (one list per chunk of CHUNK_ROWS), read through a server-side cursor."""
    from aggregation.selectors.verification import records_under_verification

    if call.dataset is None:
        return
    renderer = RowRenderer(call)
    rows = records_queryset(call).iterator(chunk_size=CHUNK_ROWS)
    while True:
        chunk = list(itertools.islice(rows, CHUNK_ROWS))
        if not chunk:
            return
        flagged = records_under_verification([r[0] for r in chunk if r[3] is None])
        out = []
        for rid, data, _updated, deleted_at, masked in chunk:
            if deleted_at is not None:
                continue  # a download is the current slice: deleted rows are not part of it
            values = renderer.values(data, masked)
            out.append([*(values[n] for n in call.projection), "是" if rid in flagged else ""])
        yield out


class _Counter:
    def __init__(self):
        self.rows = 0
        self.completed = False


def csv_stream(call: DataCall, trace: dict, *, bom: bool, counter: _Counter):
    """The `#` trace line, the header line, then the rows (fingerprinted: sharing.export.fingerprint)."""
    head = ("\ufeff" if bom else "") + "# " + trace_line(trace).replace("\n", " ") + "\r\n"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(csv_row([*call.projection, VERIFICATION_COLUMN]))
    yield (head + buffer.getvalue()).encode("utf-8")
    if call.dataset is not None:
        yield from csv_body(call, counter, trace["trace"])
    counter.completed = True


def xlsx_stream(call: DataCall, trace: dict, *, counter: _Counter):
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    props = workbook.properties
    props.creator = trace["user"][:100]
    props.title = trace["resource"][:200]
    props.subject = _("批量下载")
    props.description = trace_line(trace)
    props.keywords = f"trace={trace['trace']}"
    props.identifier = trace["trace"]
    props.category = trace["grant"]
    sheet = workbook.create_sheet(title="data")
    trace_col = get_column_letter(len(call.projection) + 2)
    sheet.column_dimensions[trace_col].hidden = True
    sheet.append(xlsx_row(sheet, [*call.projection, VERIFICATION_COLUMN, TRACE_COLUMN]))
    for chunk in export_rows(call):
        for row in chunk:  # every value as its text, typed as text (portal.cells: no formula, no visible quote)
            sheet.append(xlsx_row(sheet, [*("" if v is None else str(v) for v in row), trace["trace"]]))
        counter.rows += len(chunk)
    with tempfile.TemporaryFile() as handle:
        workbook.save(handle)
        handle.seek(0)
        while block := handle.read(BLOCK_BYTES):
            yield block
    counter.completed = True


class _AuditedStream:
    """The file's blocks; writes the one read event when the stream ends, breaks off or is closed unread.

    A class rather than a generator: Django calls `close()` on the response's content when the response is
    closed, also when the client went away before the first block (a generator's `finally` would not run).
    """

    def __init__(self, stream, call: DataCall, counter: _Counter, extra: dict):
        self.stream, self.call, self.counter, self.extra = stream, call, counter, extra
        self.recorded = False
        self.context = context.current()  # the request's address and id: the stream ends after the middleware

    def __iter__(self):
        try:
            yield from self.stream
        finally:
            self._record()

    def close(self) -> None:
        self.stream.close()
        self._record()

    def _record(self) -> None:
        if self.recorded:
            return
        self.recorded = True
        completed = self.counter.completed
        with context.restored(self.context):
            self.call.record_read(self.counter.rows, result=AuditResult.SUCCESS if completed else AuditResult.FAILURE,
                                  completed=completed, **self.extra)


def download_response(call: DataCall, *, fmt: str, bom: bool) -> StreamingHttpResponse:
    """The streamed file of the call's slice (`fmt` one of FORMATS), audited when the stream ends (_AuditedStream)."""
    trace_id = uuid.uuid4().hex
    trace = trace_of(call, trace_id)
    counter = _Counter()
    stream = (csv_stream(call, trace, bom=bom, counter=counter) if fmt == "csv"
              else xlsx_stream(call, trace, counter=counter))
    response = StreamingHttpResponse(
        _AuditedStream(stream, call, counter, {"format": fmt, "trace": trace_id}), content_type=FORMATS[fmt])
    name = f"{call.entry.resource_key}-{timezone.localdate():%Y%m%d}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Trace-Id"] = trace_id
    response["Cache-Control"] = "no-store"
    return response
