"""Bulk download (批量下载, R22.1/R25.1): GET /api/v1/data/{resource}/export/?format=csv|xlsx[&bom=1].

The caller's slice — the items the grant policy allows (`fields`, default all readable), exact filters and
`since` as in the pull — streamed in constant memory:

- rows come from a PostgreSQL server-side cursor (`QuerySet.iterator(chunk_size=…)`: a named cursor, WITH HOLD
  outside a transaction), 2 000 at a time; each chunk is rendered, flagged (R14.4) and written out before the
  next one is fetched, so memory does not grow with the number of rows;
- CSV is produced chunk by chunk into the response; XLSX through openpyxl's write-only workbook (rows go to
  its temporary XML file, not to memory) into a temporary file, which is then streamed in 64 KiB blocks.

Masking is the pull's (sharing.data_api: items named in the grant in full, other personal items masked).
Trace (R25.1 "bulk files carry a trace of who, which grant, when"): a trace id (also in the audit event),
the caller, department, grant, purpose and time, written as `#` comment lines before the CSV header, and in
the XLSX document properties plus a hidden last column `trace` on every row. `bom=1` prefixes the CSV with
a UTF-8 BOM so Excel opens it as UTF-8.

One `sharing.data.read` event per download, written when the stream ends with the number of rows written
(result "failure" and `completed: false` when the stream broke off or the response was closed unread).
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import tempfile
import uuid

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.views import APIView

from catalog.choices import ExchangeMethod
from portal.choices import AuditResult

from .data_api import _FIELDS, _PURPOSE, DataCall, RowRenderer, prepare_call, records_queryset, refuse

CHUNK_ROWS = 2000
BLOCK_BYTES = 64 * 1024
FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
VERIFICATION_COLUMN = "核校中"
TRACE_COLUMN = "trace"
_ILLEGAL_XLSX = re.compile(r"[\000-\010\013\014\016-\037]")
_FORMULA_HEAD = ("=", "+", "@", "\t", "\r")


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


def _cell(value) -> str:
    """A cell's text; a value Excel would read as a formula is quoted (CSV/formula injection)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text.startswith(_FORMULA_HEAD) or (text.startswith("-") and not text[1:2].isdigit()):
        return "'" + text
    return text


def export_rows(call: DataCall):
    """Yield lists of rendered rows (one list per chunk of CHUNK_ROWS), read through a server-side cursor."""
    from aggregation.verification import records_under_verification

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
        for rid, data, _updated, deleted_at in chunk:
            if deleted_at is not None:
                continue  # a download is the current slice: deleted rows are not part of it
            values = renderer.values(data)
            out.append([*(values[n] for n in call.projection), "是" if rid in flagged else ""])
        yield out


class _Counter:
    def __init__(self):
        self.rows = 0
        self.completed = False


def csv_stream(call: DataCall, trace: dict, *, bom: bool, counter: _Counter):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> bytes:
        data = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        return data

    head = "\ufeff" if bom else ""
    buffer.write(head + "# " + trace_line(trace).replace("\n", " ") + "\r\n")
    writer.writerow([*call.projection, VERIFICATION_COLUMN])
    yield flush()
    for chunk in export_rows(call):
        for row in chunk:
            writer.writerow([_cell(v) for v in row])
        counter.rows += len(chunk)
        yield flush()
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
    sheet.append([*call.projection, VERIFICATION_COLUMN, TRACE_COLUMN])
    for chunk in export_rows(call):
        for row in chunk:
            sheet.append([_ILLEGAL_XLSX.sub("", _cell(v)) for v in row] + [trace["trace"]])
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
        self.call.record_read(self.counter.rows, result=AuditResult.SUCCESS if completed else AuditResult.FAILURE,
                              completed=completed, **self.extra)


class ExportView(APIView):
    """GET /api/v1/data/{resource}/export/?format=csv|xlsx — streamed bulk download of the caller's slice."""

    def perform_content_negotiation(self, request, force=False):
        # `format` is this endpoint's own parameter (csv|xlsx), not DRF's renderer override; errors stay JSON.
        renderer = self.get_renderers()[0]
        return renderer, renderer.media_type

    @extend_schema(
        summary="批量下载：流式 CSV / XLSX", operation_id="data_export",
        description=(
            "有权读取的信息项（授权外的个人信息项脱敏），可用 fields、since 与信息项精确筛选。文件内含追踪信息"
            "（下载人、授权、时间、追踪号）：CSV 为表头前的 # 注释行，XLSX 为文档属性和隐藏的 trace 列。"
            "`bom=1` 在 CSV 前加 UTF-8 BOM 以便 Excel 打开。"
        ),
        parameters=[_PURPOSE, _FIELDS,
                    OpenApiParameter("format", str, enum=list(FORMATS), required=True),
                    OpenApiParameter("bom", bool, required=False),
                    OpenApiParameter("since", OpenApiTypes.DATETIME, required=False)],
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
    )
    def get(self, request, resource: str):
        call = prepare_call(request, resource, method=ExchangeMethod.DOWNLOAD)
        fmt = request.query_params.get("format", "")
        if fmt not in FORMATS:
            message = _("format 须为 csv 或 xlsx")
            from portal.errors import PortalError

            raise refuse(request.user, entry=call.entry, resource=resource, method=call.method, purpose=call.purpose,
                         exc=PortalError(message, code="invalid", errors={"format": [message]}),
                         items=call.projection)
        bom = request.query_params.get("bom", "") in ("1", "true", "yes")
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
