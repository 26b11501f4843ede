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

import binascii
import csv
import functools
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
    head = ("\ufeff" if bom else "") + "# " + trace_line(trace).replace("\n", " ") + "\r\n"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([*call.projection, VERIFICATION_COLUMN])
    yield (head + buffer.getvalue()).encode("utf-8")
    if call.dataset is not None:
        yield from _csv_body(call, counter)
    counter.completed = True


# --------------------------------------------------------------------------------------------- CSV body
#
# The rows come from ONE `COPY (SELECT …) TO STDOUT (FORMAT csv)` of the slice in keyset order (the pull's
# query, `records_queryset`, deleted rows left out): PostgreSQL renders the clear items — projection,
# formula-injection guard (`_cell`), quoting — so a slice with nothing to decrypt or mask is passed through as
# it comes, joined into blocks of CHUNK_ROWS rows (≈ 100–500 KiB; one CopyData message is one row, and a
# response write per row would cost more than the COPY itself). Items to decrypt (and mask) are selected as
# their stored tokens and rendered in Python on the bytes of each row: AES-GCM with the key ring resolved
# once, the masking of `RowRenderer`, then `_cell` and CSV quoting. The R14.4 flag column comes from the open
# verification cases of the dataset, read once before the stream.
#
# Same output as `csv.writer` over `_cell(value)`: both quote a field holding `,` `"` CR or LF (PostgreSQL's
# CSV quoting rule is the csv module's QUOTE_MINIMAL); an empty or missing value is an empty unquoted field
# (NULLIF(…, '')); PostgreSQL's LF line ends become CRLF (row by row when a block holds a quoted field, which
# may hold a line break of its own). Stored values are the cleaned strings of ingestion and push
# (aggregation.validation). `str.isdigit` after a leading `-` is the set of code points for which it holds.

MAX_BLOCK = 1024 * 1024  # a block is CHUNK_ROWS rows (≈ 100–500 KiB), or less when rows are wide
# `_cell` in SQL, cheapest test first: a first character from A (65) up, or one of . / 0-9 : ; < (46–60), needs
# nothing; otherwise the prefix for = + @ TAB CR, and for - unless a digit follows; '' becomes NULL (unquoted).
_GUARDED = ("CASE WHEN ascii({v}) >= 65 THEN {v} WHEN ascii({v}) BETWEEN 46 AND 60 THEN {v} ELSE NULLIF(CASE "
            "ascii({v}) WHEN 61 THEN '''' || {v} WHEN 43 THEN '''' || {v} WHEN 64 THEN '''' || {v} WHEN 9 THEN "
            "'''' || {v} WHEN 13 THEN '''' || {v} WHEN 45 THEN CASE WHEN ascii(substr({v}, 2, 1)) "
            "= ANY('{digits}'::int[]) THEN {v} ELSE '''' || {v} END ELSE {v} END, '') END")
_TOKEN_B = re.compile(rb"^[A-Za-z0-9_-]{1,16}:[A-Za-z0-9_-]{38,}={0,2}$")
_NEEDS_QUOTES = re.compile(rb'[,"\r\n]')
_FORMULA_BYTES = tuple(h.encode() for h in _FORMULA_HEAD)
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


@functools.cache
def _digits() -> str:
    """The code points `str.isdigit` accepts (ASCII and others: full-width, superscripts, …) as an SQL array."""
    return "{" + ",".join(str(i) for i in range(0x110000) if chr(i).isdigit()) + "}"


def _copy_sql(call: DataCall, python_items: set[str]) -> tuple[str, list]:
    """COPY of the slice: one column per projected item (clear ones rendered), then the R14.4 flag."""
    from django.db.models import TextField
    from django.db.models.expressions import RawSQL

    from aggregation.models_uses import VerificationCase, VerificationState

    qs = records_queryset(call)
    if call.since is not None:
        qs = qs.filter(deleted_at__isnull=True)
    aliases = {f"c{i}": RawSQL('"aggregation_record"."data" ->> %s', (name,), output_field=TextField())
               for i, name in enumerate(call.projection)}
    inner, params = qs.annotate(**aliases).values_list("id", *aliases).query.sql_with_params()
    flagged = sorted(VerificationCase.objects.filter(dataset_id=call.dataset.pk, state=VerificationState.OPEN)
                     .values_list("record_id", flat=True).distinct())
    cols = []
    for i, name in enumerate(call.projection):
        v = f's."c{i}"'
        cols.append(f"NULLIF({v}, '')" if name in python_items else _GUARDED.format(v=v, digits=_digits()))
    cols.append("CASE WHEN s.id = ANY('{" + ",".join(str(int(i)) for i in flagged) + "}'::bigint[]) THEN '是' END"
                if flagged else "NULL")
    # OFFSET 0 keeps the subquery (and its keyset order) as it is, so each item is extracted once.
    sql = f"COPY (SELECT {', '.join(cols)} FROM ({inner} OFFSET 0) s) TO STDOUT (FORMAT csv)"  # noqa: S608 — our SQL; values are params
    return sql, list(params)


def _csv_body(call: DataCall, counter: _Counter):
    from django.db import connection

    python_items = {n for n in call.projection if n in call.encrypted or n in call.mask_kinds}
    sql, params = _copy_sql(call, python_items)
    connection.ensure_connection()
    cursor = connection.connection.cursor()
    try:
        with cursor.copy(sql, params) as copy:
            if python_items:
                yield from _rendered_blocks(call, copy, python_items, counter)
            else:
                yield from _passed_blocks(copy, counter)
    finally:
        cursor.close()


def _crlf(rows: list) -> bytes:
    """Rows of PostgreSQL (each ending in LF) as CSV rows with CRLF line ends."""
    block = b"".join(rows)
    if b'"' not in block:
        return block.replace(b"\n", b"\r\n")  # no quoted field, so no line break inside a value
    return b"".join([bytes(row[:-1]) + b"\r\n" for row in rows])


def _passed_blocks(copy, counter: _Counter):
    rows: list = []
    append = rows.append
    size = 0
    for row in copy:
        append(row)
        size += len(row)
        if len(rows) == CHUNK_ROWS or size >= MAX_BLOCK:
            counter.rows += len(rows)
            yield _crlf(rows)
            rows = []
            append = rows.append
            size = 0
    if rows:
        counter.rows += len(rows)
        yield _crlf(rows)


def _quoted(value: bytes) -> bytes:
    if _NEEDS_QUOTES.search(value):
        return b'"' + value.replace(b'"', b'""') + b'"'
    return value


def _guarded(value: bytes) -> bytes:
    """`_cell` on UTF-8 bytes."""
    if value.startswith(_FORMULA_BYTES):
        return b"'" + value
    if value.startswith(b"-"):
        second = value[1:2]
        if second and second[0] >= 0x80:
            return _cell(value.decode()).encode()
        if not second.isdigit():
            return b"'" + value
    return value


_PADDING = (b"", b"===", b"==", b"=")


def _rendered_blocks(call: DataCall, copy, python_items: set[str], counter: _Counter):
    """Decrypt (and mask) the token columns of each row; the clear columns stay as PostgreSQL rendered them.

    A stored value of an encrypted item is decrypted when it is a token of a known key (`crypto.is_encrypted`),
    shown as it is otherwise, and empty when the token does not authenticate (as `RowRenderer.values`)."""
    from cryptography.exceptions import InvalidTag

    from security import crypto
    from security.masking import mask

    ring = {kid.encode(): aes.decrypt for kid, aes in crypto.cipher()._by_kid.items()}
    ring_get = ring.get
    a2b = binascii.a2b_base64
    token_match = _TOKEN_B.match
    from_urlsafe = _FROM_URLSAFE
    padding = _PADDING
    needs_quotes = _NEEDS_QUOTES.search
    formula = _FORMULA_BYTES
    columns = [(i, call.mask_kinds.get(name), name in call.encrypted)
               for i, name in enumerate(call.projection) if name in python_items]
    raw_columns = {i for i, _kind, _enc in columns}
    width = len(call.projection) + 1
    failures = (InvalidTag, binascii.Error, ValueError)

    def parsed(row: bytes) -> list[bytes]:
        """A row holding a quoted field: parsed; token columns unquoted, clear columns re-quoted as rendered."""
        values = next(csv.reader(io.StringIO(row.decode())))
        return [value.encode() if i in raw_columns else _quoted(value.encode()) for i, value in enumerate(values)]

    out: list[bytes] = []
    append = out.append
    size = 0
    n = 0
    for row in copy:
        row = bytes(row)
        fields = parsed(row) if b'"' in row else row[:-1].split(b",")
        if len(fields) != width:  # pragma: no cover — a column count PostgreSQL does not send
            raise ValueError("unexpected COPY row")
        for i, kind, encrypted in columns:
            value = fields[i]
            if not value:
                continue
            if encrypted:
                kid, _sep, body = value.partition(b":")
                decrypt = ring_get(kid)
                if decrypt is not None and token_match(value):
                    try:
                        raw = a2b(body.translate(from_urlsafe) + padding[len(body) & 3])
                        value = decrypt(raw[:12], raw[12:], None)
                    except failures:
                        fields[i] = b""
                        continue
            if kind:
                value = mask(value.decode(), kind).encode()
            if value.startswith(formula) or value.startswith(b"-"):
                value = _guarded(value)
            fields[i] = b'"' + value.replace(b'"', b'""') + b'"' if needs_quotes(value) else value
        line = b",".join(fields) + b"\r\n"
        append(line)
        size += len(line)
        n += 1
        if n == CHUNK_ROWS or size >= MAX_BLOCK:
            counter.rows += n
            yield b"".join(out)
            out = []
            append = out.append
            size = n = 0
    if out:
        counter.rows += n
        yield b"".join(out)


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
