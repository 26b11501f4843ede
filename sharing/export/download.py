"""Bulk download (批量下载, R22.1/R25.1): GET /api/v1/data/{resource}/export/?format=csv|xlsx[&bom=1].

The caller's slice — the items the grant policy allows (`fields`, default all readable), exact filters and
`since` as in the pull — streamed in constant memory:

- CSV: one `COPY (SELECT …) TO STDOUT` of the slice, read off the connection and written out 2 000 rows at a
  time (sharing.export.csv_copy), so memory does not grow with the number of rows;
- XLSX: rows of the dataset's table in keyset pages (storage.reading.rows, one short statement each), 2 000 at a
  time, rendered (storage.reading.rendered) and flagged (R14.4) through openpyxl's write-only workbook (rows go to
  its temporary XML file, not to memory)
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

Resumable downloads (HTTP Range, `ranged_response`). A plain GET streams as above: nobody knows the file's length or
digest before its last byte, so a cut connection cannot be told from the end, and a second GET is another download
(another trace id and fingerprint: other bytes). A GET with `Range: bytes=…` is served from the file written out
first (a temporary file, the file's size on disk for the request's duration; the first byte comes after the whole file
is made): 206 with `Content-Range: bytes a-b/length`, `Repr-Digest: sha-256=:…:` (RFC 9530) of the whole file and an
`ETag` naming the download (trace id, time, digest, signed with the server's key). A resume sends
`Range: bytes=<bytes held>-` and `If-Range: <that ETag>`: the file is made again under the same trace id and time —
the same trace line and fingerprint, so the same bytes while the slice has not changed — and the rest is served only
if its digest is still the ETag's; otherwise (rows changed since, a foreign ETag, any XLSX: its zip records when it
was written) the whole new file comes as 200 under a new trace id (RFC 9110 §13.1.5), and the client starts again.
A malformed, multiple or unsatisfiable range answers 416 `range_not_satisfiable` (audited as a refusal; `Content-Range:
bytes */length` when the range starts past the end). Each request, ranged or not, writes its one read event (below):
a ranged one also names the bytes it served (`range`: first-last/length; `rows` counts the rows of the file made),
and the events of one resumed download share its trace id.

One `sharing.data.read` event per download, written when the stream ends with the number of rows written
(result "failure" and `completed: false` when the stream broke off or the response was closed unread).
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import io
import re
import tempfile
import time
import uuid

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.response import Response

from portal import context
from portal.cells import csv_row, xlsx_row
from portal.choices import AuditResult
from portal.db_router import replica_reads
from portal.errors import PortalError

from ..data_api.calls import DataCall
from .csv_copy import CHUNK_ROWS, csv_body, slice_start

BLOCK_BYTES = 64 * 1024
FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
VERIFICATION_COLUMN = "核校中"
TRACE_COLUMN = "trace"


def trace_of(call: DataCall, trace_id: str, at: int | None = None) -> dict:
    """The download's trace; `at` (Unix seconds, default now) is its time — a resumed download's is its first's."""
    grant = call.permission.grant
    moment = timezone.localtime() if at is None else timezone.localtime(dt.datetime.fromtimestamp(at, dt.UTC))
    user = call.user
    return {
        "trace": trace_id,
        "user": user.get_username(),
        "department": getattr(getattr(user, "department", None), "name", ""),
        "grant": f"#{grant.pk}" if grant else _("无需授权（%(basis)s）") % {"basis": call.permission.basis},
        "grant_purpose": grant.get_purpose_display() if grant else "",
        "purpose": call.purpose,
        "resource": f"{call.entry.code} {call.entry.name}",
        "at": moment.isoformat(timespec="seconds"),
    }


def trace_line(trace: dict) -> str:
    return (
        f"焦作市大数据平台门户 批量下载 | 资源: {trace['resource']} | 下载人: {trace['user']}（{trace['department']}）"
        f" | 授权: {trace['grant']} {trace['grant_purpose']} | 用途: {trace['purpose']} | 时间: {trace['at']}"
        f" | 追踪号: {trace['trace']}"
    )


def export_rows(call: DataCall):
    """Yield lists of rendered rows (one list per chunk of CHUNK_ROWS): the slice's rows off the dataset's table in
    keyset pages, read and shown by the pull's own reader (storage.reading.shown, the R14.4 flag in the same
    statement) on the read replica when configured."""
    from aggregation.choices import VerificationState
    from aggregation.storage import reading

    if call.dataset is None:
        return
    names = list(call.projection)
    start = slice_start(call)
    while True:
        # The read replica when configured (portal.db_router): each page's statement by itself (these rows are read
        # while the response is sent); the trace's audit event is written on the primary.
        with replica_reads():
            batch = reading.shown(call.dataset, names, kinds=call.mask_kinds, since=call.since,
                                  filters=call.filters or None, limit=CHUNK_ROWS,
                                  open_state=VerificationState.OPEN.value, **start)
        if not batch:
            return
        yield [[*(values[n] for n in names), "是" if flagged else ""] for _id, _at, _del, flagged, values in batch]
        if len(batch) < CHUNK_ROWS:
            return
        rid, stamp = batch[-1][:2]
        start = ({"after_id": rid} if call.since is None
                 else {"after": (dt.datetime.fromisoformat(reading.api_stamp(stamp)), rid)})


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
    response["Accept-Ranges"] = "bytes"  # asked with Range, the file is made first and served in parts (module doc)
    return response


# --------------------------------------------------------------------------------------------- ranged (resumable)

_RANGE = re.compile(r"^bytes=(\d{0,18})-(\d{0,18})$")
_ETAG = re.compile(r'^"([0-9a-f]{32})\.(\d{1,12})\.([0-9a-f]{64})\.([0-9a-f]{32})"$')
_ETAG_SALT = "sharing.export.download.etag"


class RangeNotSatisfiable(PortalError):
    code = "range_not_satisfiable"
    status = 416
    default_detail = gettext_lazy("Range 须为单个字节范围（如 bytes=1024-），且起点小于文件长度")


def parse_range(header: str) -> tuple[int | None, int | None] | None:
    """(first, last) of `bytes=first-last` (either may be None: `N-`, `-suffix`); None when malformed or several."""
    match = _RANGE.match(header.strip())
    if match is None or match[1] == match[2] == "":
        return None
    first = int(match[1]) if match[1] else None
    last = int(match[2]) if match[2] else None
    if (first is not None and last is not None and last < first) or (first is None and last == 0):
        return None
    return first, last


def make_etag(trace_id: str, at: int, digest: str) -> str:
    """The download's validator: its trace id and time (what makes its bytes again) and digest, signed so a client
    can neither choose a trace id nor a time."""
    signature = salted_hmac(_ETAG_SALT, f"{trace_id}.{at}.{digest}", algorithm="sha256").hexdigest()[:32]
    return f'"{trace_id}.{at}.{digest}.{signature}"'


def read_etag(value: str | None) -> tuple[str, int, str] | None:
    """(trace id, time, digest) of an ETag this server made, or None."""
    match = _ETAG.match((value or "").strip())
    if match is None:
        return None
    trace_id, at, digest, _signature = match.groups()
    if not constant_time_compare(make_etag(trace_id, int(at), digest), match[0]):
        return None
    return trace_id, int(at), digest


class _Made:
    """A download written out whole: its temporary file, length, SHA-256, trace and row counter."""

    def __init__(self, call: DataCall, *, fmt: str, bom: bool, trace_id: str, at: int):
        self.trace_id, self.at = trace_id, at
        self.counter = _Counter()
        trace = trace_of(call, trace_id, at)
        stream = (csv_stream(call, trace, bom=bom, counter=self.counter) if fmt == "csv"
                  else xlsx_stream(call, trace, counter=self.counter))
        self.handle = tempfile.TemporaryFile()  # noqa: SIM115 — handed to the response, which closes it
        digest = hashlib.sha256()
        try:
            for block in stream:
                self.handle.write(block)
                digest.update(block)
        except BaseException:
            stream.close()  # ends the COPY now, not when the generator is collected
            self.handle.close()
            call.record_read(self.counter.rows, result=AuditResult.FAILURE, completed=False, format=fmt,
                             trace=trace_id)
            raise
        self.length = self.handle.tell()
        self.digest = digest.hexdigest()
        self.counter.completed = False  # now: whether the response delivered its part (_FileSlice)


class _FileSlice:
    """Bytes first..last of a made download, in BLOCK_BYTES blocks; closes its file (also when never read)."""

    def __init__(self, made: _Made, first: int, last: int):
        self.made, self.first, self.last = made, first, last

    def __iter__(self):
        handle = self.made.handle
        handle.seek(self.first)
        left = self.last - self.first + 1
        try:
            while left > 0:
                block = handle.read(min(BLOCK_BYTES, left))
                if not block:
                    return
                left -= len(block)
                yield block
            self.made.counter.completed = True
        finally:
            handle.close()

    def close(self) -> None:
        self.made.handle.close()


def ranged_response(call: DataCall, *, fmt: str, bom: bool, range_header: str, if_range: str | None,
                    refuse) -> StreamingHttpResponse | Response:
    """A GET with Range (module doc): 206 with the asked bytes of the download the If-Range ETag names (made again), or
    200 with a whole new download when there is no such ETag or the file it names changed; 416 for a bad range.
    `refuse(exc)` audits a refusal (sharing.data_api.calls.refuse) and returns `exc`."""
    wanted = parse_range(range_header)
    if wanted is None:
        raise refuse(RangeNotSatisfiable())
    # An XLSX is never made again byte for byte (its zip and properties record when it was written): it restarts.
    named = read_etag(if_range) if if_range is not None and fmt == "csv" else None
    made = None
    if named is not None:
        trace_id, at, digest = named
        made = _Made(call, fmt=fmt, bom=bom, trace_id=trace_id, at=at)
        if made.digest != digest:  # the slice changed since
            made.handle.close()
            made = None
    partial = made is not None or if_range is None
    if made is None:
        made = _Made(call, fmt=fmt, bom=bom, trace_id=uuid.uuid4().hex, at=int(time.time()))
    first, last = wanted
    if first is None:  # the last `last` bytes
        first, last = max(0, made.length - last), made.length - 1
    else:
        last = made.length - 1 if last is None else min(last, made.length - 1)
    if partial and first >= made.length:
        made.handle.close()
        exc = refuse(RangeNotSatisfiable())
        return Response({"code": exc.code, "detail": str(exc.detail)}, status=exc.status,
                        headers={"Content-Range": f"bytes */{made.length}"})
    if not partial:  # If-Range did not match: the whole new file
        first, last = 0, made.length - 1
    extra = {"format": fmt, "trace": made.trace_id, "range": f"{first}-{last}/{made.length}"}
    response = StreamingHttpResponse(_AuditedStream(_FileSlice(made, first, last), call, made.counter, extra),
                                     status=206 if partial else 200, content_type=FORMATS[fmt])
    if partial:
        response["Content-Range"] = f"bytes {first}-{last}/{made.length}"
    response["Content-Length"] = str(last - first + 1)
    response["ETag"] = make_etag(made.trace_id, made.at, made.digest)
    response["Repr-Digest"] = "sha-256=:" + base64.b64encode(bytes.fromhex(made.digest)).decode() + ":"
    response["Accept-Ranges"] = "bytes"
    name = f"{call.entry.resource_key}-{timezone.localdate():%Y%m%d}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Trace-Id"] = made.trace_id
    response["Cache-Control"] = "no-store"
    return response
