"""The CSV body of a bulk download (sharing.export.download): one COPY of the slice, finished in blocks.

The rows come from ONE `COPY (SELECT …) TO STDOUT (FORMAT csv)` of the slice in keyset order (the pull's
query, `records_queryset`, deleted rows left out), read straight off the connection (`_copy_blocks`: libpq's
CopyData messages — one per row — appended to one buffer, CHUNK_ROWS rows a block; a response write per row
would cost more than the COPY itself). PostgreSQL selects each clear item as it is stored (`data ->> item`: the
raw COPY's own work), and each block is then finished in a few passes over its bytes in C:

- CSV quoting is PostgreSQL's, which is the csv module's QUOTE_MINIMAL (a field holding `,` `"` CR or LF is
  quoted), so a block whose bytes hold no `"` has nothing quoted, no empty string (PostgreSQL writes '' as `""`;
  ours, like a missing value, is an empty unquoted field) and no line break inside a value: its LF line ends
  become CRLF by one `bytes.replace`;
- the formula-injection guard (portal.cells, the rule of every download: `'` before a string starting with
  = + - @ TAB CR, unless it is a plain negative number like `-5`) is needed only where a field starts with one
  of those: one `bytes.translate` maps every field
  separator (`,` and LF) to `,` and every such first character to `=`, so `,=` (or `=` first) finds them all;
- a block with either (a `"` anywhere, or a field starting with a guarded character — a negative number
  included) is rendered row by row instead (`_Blocks.careful`): parsed where a row holds a quote, guarded and
  re-quoted field by field, CRLF after each row.

Items read masked come as their stored masked forms (`masked -> kind ->> item`, Record.masked, written with the row by
the pipeline; security.masking): clear text like any other, nothing to decrypt — unless a row has none for that kind
(stored before migration 0006 backfilled, or the item's kind changed since), whose cell then comes marked as below
and is decrypted and masked in the block's row-by-row rendering.

Items to decrypt come as stored too, each cell between two markers (`%s || value || %s`; the marker
is random per download: `\x1f` + 12 hex digits + `\x1f`, nothing CSV quotes), so a block without quotes split
on the marker holds the row-major cells at its odd positions and the clear text between them at its even ones
(a marker count other than two per cell — a value holding the marker — sends the block row by row). Each
column of cells is then rendered at once (`_Blocks.column`): when every non-empty value of the column is a token
of the current key (crypto's pattern without `=` padding: checked on the joined column by `count`, `replace`
and `translate`), the bodies go base64url → base64 in the same passes and are decrypted in one frame
(`FieldCipher.open_many`: ≈ 1 µs a value, the bulk of the work), checked for the guard and quoting on
the joined values, and put back; anything else (another key's token, plain text in an encrypted item, a value
that does not authenticate) is rendered value by value exactly as before (`_Blocks.cell`:
a token of a known key is decrypted, any other value shown as it is, a token that does not authenticate is an
empty field). PostgreSQL does no per-value work beyond the raw COPY's (a guard, a token check or a base64 step
in SQL cost more than the COPY itself: its regex ≈ 10 µs a token). The R14.4 flag column comes from the open
verification cases of the dataset, read once before the stream. Stored values are the cleaned strings of
ingestion and push (aggregation.validation).

Every finished block — minimal CSV, CRLF rows — then gets the download's fingerprint (sharing.export.fingerprint:
per row, a keyed choice of one field written quoted, or none; the values a CSV reader reads are unchanged): a CRC-32
and a table lookup a row in C (`map`), and a split and join of the quarter of the rows that are marked.
"""

from __future__ import annotations

import binascii
import csv
import re
import secrets
import select

from portal.cells import FORMULA_HEAD_BYTES, csv_bytes

from ..data_api.calls import DataCall
from ..data_api.records import records_queryset
from .fingerprint import Marker, download_key

CHUNK_ROWS = 2000


MAX_BLOCK = 1024 * 1024  # a block is CHUNK_ROWS rows (≈ 100–500 KiB), or less when rows are wide
_TOKEN_B = re.compile(rb"^[A-Za-z0-9_-]{1,16}:[A-Za-z0-9_-]{38,}={0,2}$")
_NEEDS_QUOTES = re.compile(rb'[,"\r\n]')
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def _standard_table() -> bytes:
    """base64url → standard base64 (`-_` → `+/`), any other byte → `!`; NUL (the separator of joined values) stays."""
    table = bytearray(b"!" * 256)
    for c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789\x00":
        table[c] = c
    table[ord("-")], table[ord("_")] = ord("+"), ord("/")
    return bytes(table)


_TO_STANDARD = _standard_table()
_PADDING = (b"", b"===", b"==", b"=")


def _scan_table(separators: bytes, heads: bytes, quoting: bytes = b"") -> bytes:
    """A `bytes.translate` table: field separators → `,`, guarded first characters → `=`, `quoting` → `Q`,
    everything else → `.`."""
    table = bytearray(b"." * 256)
    for c in separators:
        table[c] = ord(",")
    for c in heads:
        table[c] = ord("=")
    for c in quoting:
        table[c] = ord("Q")
    return bytes(table)


# The formula heads (portal.cells) but CR: PostgreSQL quotes it, so it never starts an unquoted field (a block with a
# quote is not scanned), and `rendered` scans rows already ending in CRLF.
_HEADS = b"".join(h for h in FORMULA_HEAD_BYTES if h != b"\r")
# PostgreSQL's CSV rows.
_ROW_SCAN = _scan_table(b",\n", _HEADS)
# Decrypted values joined by NUL (which no text holds).
_VALUE_SCAN = _scan_table(b"\x00", _HEADS, b',"\r\n')


def _copy_sql(call: DataCall, decrypted: set[str], stored_masks: dict[str, str], marker: str) -> tuple[str, list]:
    """COPY of the slice: one column per projected item, then the R14.4 flag. An item is read as stored; marked when
    it is to be decrypted in Python (`decrypted`); an item read masked (`stored_masks`: item → kind) as its stored
    masked form (Record.masked), or — a row stored without one for that kind — marked, to be masked in Python."""
    from django.db.models import TextField
    from django.db.models.expressions import RawSQL

    from aggregation.choices import VerificationState
    from aggregation.models import VerificationCase

    qs = records_queryset(call)
    if call.since is not None:
        qs = qs.filter(deleted_at__isnull=True)
    flagged = sorted(VerificationCase.objects.filter(dataset_id=call.dataset.pk, state=VerificationState.OPEN)
                     .values_list("record_id", flat=True).distinct())
    flag = ("CASE WHEN {id} = ANY('{{" + ",".join(str(int(i)) for i in flagged) + "}}'::bigint[]) THEN '是' END"
            if flagged else "NULL")
    item = '"aggregation_record"."data" ->> %s'
    marked = f"%s || COALESCE({item}, '') || %s"  # a marked cell's NULL is its empty value
    # A row without the stored form: its value marked (NULL when it has none, as `||` with NULL is NULL).
    masked = f'COALESCE("aggregation_record"."masked" -> %s ->> %s, %s || ({item}) || %s)'

    def column(name: str) -> RawSQL:
        if name in stored_masks:
            sql, params = masked, (stored_masks[name], name, marker, name, marker)
        elif name in decrypted:
            sql, params = marked, (marker, name, marker)
        else:
            sql, params = item, (name,)
        return RawSQL(sql, params, output_field=TextField())  # noqa: S611 — names and markers are parameters

    columns = {f"c{i}": column(name) for i, name in enumerate(call.projection)}
    columns["flag"] = RawSQL(flag.format(id='"aggregation_record"."id"'), (), output_field=TextField())  # noqa: S611 — ids are ints
    inner, params = qs.annotate(**columns).values_list(*columns).query.sql_with_params()
    return f"COPY ({inner}) TO STDOUT (FORMAT csv)", list(params)


def _copy_blocks(conn):
    """The COPY's rows in blocks: (bytes of up to CHUNK_ROWS rows, each ending in LF; their number).

    psycopg's `Copy.read()` costs ≈ 0.7 µs a row (a generator and a wait per CopyData message); this reads the
    messages off libpq directly (`PGconn.get_copy_data`, non-blocking, waiting on the socket only when nothing
    is buffered) and takes the COPY's final result as psycopg does. Called inside `cursor.copy(…)`, which still
    cancels and drains the COPY when the stream is closed early."""
    from psycopg import errors, pq

    pgconn = conn.pgconn
    get = pgconn.get_copy_data
    poller = select.poll()
    poller.register(pgconn.socket, select.POLLIN)
    wait = poller.poll
    consume = pgconn.consume_input
    buffer = bytearray()
    rows = 0
    held = 0
    while True:
        size, data = get(1)
        if size > 0:
            buffer += data
            rows += 1
            held += size
            if rows == CHUNK_ROWS or held >= MAX_BLOCK:
                yield bytes(buffer), rows
                buffer.clear()
                rows = held = 0
        elif size == 0:  # nothing buffered yet
            wait()
            consume()
        else:  # -1: the COPY is over; its result says how
            break
    results = []
    while True:
        while pgconn.is_busy():
            wait()
            consume()
        result = pgconn.get_result()
        if result is None:
            break
        results.append(result)
    failed = [r for r in results if r.status != pq.ExecStatus.COMMAND_OK]
    if failed:
        raise errors.error_from_result(failed[0], encoding=conn.info.encoding)
    if rows:
        yield bytes(buffer), rows


def csv_body(call: DataCall, counter, trace_id: str):
    """The CSV rows of the slice, in blocks, each row fingerprinted for the download `trace_id`
    (sharing.export.fingerprint: a keyed choice of one field a row written quoted)."""
    from django.db import connection

    stored_masks = {n: call.mask_kinds[n] for n in call.projection if n in call.mask_kinds}
    decrypted = {n for n in call.projection if n in call.encrypted and n not in stored_masks}
    marker = "\x1f" + secrets.token_hex(6) + "\x1f"
    sql, params = _copy_sql(call, decrypted, stored_masks, marker)
    connection.ensure_connection()
    conn = connection.connection
    cursor = conn.cursor()
    blocks = _Blocks(call, decrypted, stored_masks, marker.encode())
    render = blocks.rendered if decrypted else blocks.passed
    mark = Marker(download_key(trace_id), blocks.width).marked
    try:
        with cursor.copy(sql, params):
            for block, rows in _copy_blocks(conn):
                counter.rows += rows
                yield mark(render(block, rows))
    finally:
        cursor.close()


def _quoted(value: bytes) -> bytes:
    if _NEEDS_QUOTES.search(value):
        return b'"' + value.replace(b'"', b'""') + b'"'
    return value


def _finished(value: bytes) -> bytes:
    """A value's CSV field: guarded (portal.cells), then quoted if needed."""
    return _quoted(csv_bytes(value))


def _rows_of(block: bytes) -> list[bytes]:
    """The rows of a block (each without its LF): lines joined again where a LF sits inside a quoted field (odd
    number of quotes so far — PostgreSQL doubles a quote inside a field, so the parity says where one is)."""
    rows: list[bytes] = []
    pending = b""
    inside = False
    for line in block.split(b"\n")[:-1]:
        pending = pending + b"\n" + line if inside else line
        if line.count(b'"') & 1:
            inside = not inside
        if not inside:
            rows.append(pending)
    if inside:  # pragma: no cover — PostgreSQL closes its quotes
        raise ValueError("unexpected COPY row")
    return rows


class _Blocks:
    """Turns the COPY's blocks into the download's CSV bytes (see the comment above `MAX_BLOCK`)."""

    def __init__(self, call: DataCall, decrypted: set[str], stored_masks: dict[str, str], marker: bytes):
        from security import crypto

        cipher = crypto.cipher()
        self.open_many = cipher.open_many
        self.ring = {kid.encode(): dec for kid, dec in cipher.raw_decryptors().items()}
        self.prefix = cipher.current_kid.encode() + b":"
        self.marker = marker
        self.width = len(call.projection) + 1
        # The columns to decrypt (each of their cells is marked), by position in the row.
        self.columns = [i for i, name in enumerate(call.projection) if name in decrypted]
        # position → (masking kind, encrypted) of every column whose cells may be marked: those, and the masked
        # items (a row stored without the masked form; see `_copy_sql`).
        self.marked = {i: (stored_masks.get(name), name in call.encrypted) for i, name in enumerate(call.projection)
                       if name in decrypted or name in stored_masks}

    # ------------------------------------------------------------------ clear items only

    def passed(self, block: bytes, rows: int) -> bytes:
        scan = block.translate(_ROW_SCAN)
        if b'"' in block or scan.startswith(b"=") or b",=" in scan or (self.marked and self.marker in block):
            return self.careful(block)
        return block.replace(b"\n", b"\r\n")

    # ------------------------------------------------------------------ with items to decrypt or mask

    def rendered(self, block: bytes, rows: int) -> bytes:
        if b'"' in block:
            return self.careful(block)
        parts = block.replace(b"\n", b"\r\n").split(self.marker)
        width = len(self.columns)
        if len(parts) != 2 * rows * width + 1:  # a masked cell to mask here, or a value holding the marker
            return self.careful(block)
        # The clear fields are the text between the cells (each such text starts at a field separator, or at the
        # block's start): scanned without the cells, which are most of the bytes.
        scan = b"".join(parts[0::2]).translate(_ROW_SCAN)
        if scan.startswith(b"=") or b",=" in scan:
            return self.careful(block)
        cells = parts[1::2]
        for j in range(width):
            cells[j::width] = self.column(cells[j::width])
        parts[1::2] = cells
        return b"".join(parts)

    def column(self, values: list[bytes]) -> list[bytes]:
        """The CSV fields of one decrypted column's stored values in a block: tokens of the current key decrypted in
        bulk when every non-empty value is one, value by value (`cell`) otherwise."""
        from security import crypto

        present = values if b"" not in values else [v for v in values if v]
        bodies = self.bodies(present) if present else None
        if bodies is None:
            return [self.cell(v, None, True) for v in values]
        try:
            plain = self.open_many(bodies)
        except crypto.DecryptionError:
            return [self.cell(v, None, True) for v in values]
        scan = b"\x00".join(plain).translate(_VALUE_SCAN)
        if b"Q" in scan or scan.startswith(b"=") or b",=" in scan:
            plain = [_finished(v) for v in plain]
        if present is values:
            return plain
        fields = iter(plain)
        return [next(fields) if v else b"" for v in values]

    def bodies(self, values: list[bytes]) -> list[bytes] | None:
        """The bodies of `values` as standard base64 (`==` appended, which decoding tolerates) when every value is a
        token of the current key (crypto's token pattern, without `=` padding), else None — in a few passes in C:
        each value starts with "<current kid>:" and holds it once, the rest is base64url of ≥ 38 characters."""
        prefix = self.prefix
        joined = b"\x00".join(values)
        if not joined.startswith(prefix) or joined.count(b"\x00" + prefix) != len(values) - 1:
            return None
        rest = joined.replace(prefix, b"")
        if len(rest) != len(joined) - len(values) * len(prefix):
            return None
        standard = rest.translate(_TO_STANDARD)
        if b"!" in standard:
            return None
        bodies = (standard.replace(b"\x00", b"==\x00") + b"==").split(b"\x00")
        return bodies if min(map(len, bodies)) >= 38 + 2 else None

    def cell(self, value: bytes, kind: str | None, encrypted: bool) -> bytes:
        """One stored value's CSV field. A value of an encrypted item is decrypted when it is a token of a known
        key (`crypto.is_encrypted`), shown as it is otherwise, and empty when the token does not authenticate (as
        `RowRenderer.values`); masked items are masked after."""
        from cryptography.exceptions import InvalidTag

        from security.masking import mask

        if not value:
            return b""
        if encrypted:
            kid, _sep, body = value.partition(b":")
            decrypt = self.ring.get(kid)
            if decrypt is not None and _TOKEN_B.match(value):  # (`$` also matches before a final LF)
                body = body.strip()  # as crypto.decrypt
                try:
                    raw = binascii.a2b_base64(body.translate(_FROM_URLSAFE) + _PADDING[len(body) & 3])
                    value = decrypt(raw[:12], raw[12:], None)
                except (InvalidTag, binascii.Error, ValueError):
                    return b""
        if kind:
            value = mask(value.decode(), kind).encode()
        return _finished(value)

    # ------------------------------------------------------------------ row by row

    def careful(self, block: bytes) -> bytes:
        """A block holding a quote, a guarded first character, a masked item's cell to mask or a stray marker: field
        by field."""
        marked = self.marked
        marker = self.marker
        cut = len(marker)
        out = []
        for row in _rows_of(block):
            quoted = b'"' in row
            fields = [v.encode() for v in next(csv.reader([row.decode()]))] if quoted else row.split(b",")
            if len(fields) != self.width:  # pragma: no cover — a column count PostgreSQL does not send
                raise ValueError("unexpected COPY row")
            for i, value in enumerate(fields):
                if i in marked and len(value) >= 2 * cut and value.startswith(marker) and value.endswith(marker):
                    fields[i] = self.cell(value[cut:-cut], *marked[i])
                elif value:
                    fields[i] = _finished(value)
            out.append(b",".join(fields) + b"\r\n")
        return b"".join(out)
