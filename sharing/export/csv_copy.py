"""The CSV body of a bulk download (sharing.export.download): one COPY of the slice, finished in blocks.

The rows come from ONE `COPY (SELECT …) TO STDOUT (FORMAT csv)` of the slice off the dataset's resource table
`pool.r<id>` in keyset order (storage.reading.select_sql: the pull's order and filters, deleted rows left out), on the
read replica when one is configured (portal.db_router.replica_alias), read straight off the connection
(`_copy_blocks`: libpq's CopyData messages — one per row — appended to one buffer, CHUNK_ROWS rows a block; a response
write per row would cost more than the COPY itself). PostgreSQL selects each clear item as its canonical text and each
item read masked as its stored masked form (the m<n> column: clear text like any other), the R14.4 flag (the open
verification cases of the dataset, read once before the stream), and — when a cell has to be read from it — the row's
ONE token (all its encrypted items) last. Each block is then finished in a few passes over its bytes in C:

- CSV quoting is PostgreSQL's, which is the csv module's QUOTE_MINIMAL (a field holding `,` `"` CR or LF is
  quoted), so a block whose bytes hold no `"` has nothing quoted and no line break inside a value (empty values are
  NULL in the table: an empty unquoted field): its LF line ends become CRLF by one `bytes.replace`;
- the formula-injection guard (portal.cells, the rule of every download: `'` before a string starting with
  = + - @ TAB CR, unless it is a plain negative number like `-5`) is needed only where a field starts with one
  of those: one `bytes.translate` maps every field separator (`,` and LF) to `,` and every such first character to
  `=`, so `,=` (or `=` first) finds them all;
- a block with either (a `"` anywhere, or a field starting with a guarded character — a negative number
  included) is rendered row by row instead (`_Blocks.careful`): parsed where a row holds a quote, guarded and
  re-quoted field by field, CRLF after each row.

Cells finished in Python are marked (the marker is random per download: `\x1f` + 12 hex digits + `\x1f`, nothing CSV
quotes; storage.reading.item_sql): an encrypted item read in full is the marker alone (its value is in the row's
token), and so is an encrypted item read masked on a row without a stored form of that kind; a clear item read masked
without one comes as marker ‖ value ‖ marker (masked here). When every encrypted item is read masked, the token is sent
only on the rows holding such a cell. A block without quotes whose marker count is exactly one per encrypted item
read in full and row (`_Blocks.rendered`) is split on the marker: the tokens of its rows are opened in one frame
(storage.reading.tokens_opened: one token a row, the current key's tokens by `FieldCipher.open_many`), the values put in
the marked places, checked for the guard and quoting on the joined values; any other block goes row by row. A token
that does not authenticate reads as empty fields, as in every reader (storage.reading.rendered).

Every finished block — minimal CSV, CRLF rows — then gets the download's fingerprint (sharing.export.fingerprint:
per row, a keyed choice of one field written quoted, or none; the values a CSV reader reads are unchanged): a CRC-32
and a table lookup a row in C (`map`), and a split and join of the quarter of the rows that are marked.
"""

from __future__ import annotations

import csv
import gc
import re
import secrets
import select

from psycopg import sql

from aggregation.storage.reading import tokens_opened
from portal.cells import FORMULA_HEAD_BYTES, csv_bytes

from ..data_api.calls import DataCall
from .fingerprint import Marker, download_key

CHUNK_ROWS = 2000


MAX_BLOCK = 1024 * 1024  # a block is CHUNK_ROWS rows (≈ 100–500 KiB), or less when rows are wide
_NEEDS_QUOTES = re.compile(rb'[,"\r\n]')


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


def slice_start(call: DataCall) -> dict:
    """Where the slice starts (the pull's cursor, when a call carries one): `after_id`, or with `since` the
    (updated_at, id) cursor."""
    if not call.cursor:
        return {}
    if call.since is None:
        return {"after_id": call.cursor[0]}
    return {"after": (call.cursor[0], call.cursor[1])}


def _copy_sql(call: DataCall, marker: str) -> tuple[sql.Composed, list, bool]:
    """COPY of the slice off the dataset's table (storage.reading.select_sql): one column per projected item, the
    R14.4 flag, then — when a cell may have to be read from it — the row's token, only on the rows holding such a cell
    (an encrypted item read in full always does; one read masked only when the row has no stored form of that kind).
    The third result: whether the rows carry the token column."""
    from aggregation.choices import VerificationState
    from aggregation.models import VerificationCase
    from aggregation.storage import reading
    from aggregation.storage.layout import Layout

    dataset = call.dataset
    layout = Layout.stored(dataset)
    names = list(call.projection)
    kinds = {n: call.mask_kinds[n] for n in names if n in call.mask_kinds}
    inner, params = reading.select_sql(dataset, names, kinds=kinds, marker=marker, since=call.since,
                                       filters=call.filters or None, **slice_start(call))
    flagged = sorted(VerificationCase.objects.filter(dataset_id=dataset.pk, state=VerificationState.OPEN)
                     .values_list("record_id", flat=True).distinct())
    flag = (sql.SQL("CASE WHEN s.id = ANY({}::bigint[]) THEN '是' END").format(
        sql.Literal("{" + ",".join(str(int(i)) for i in flagged) + "}")) if flagged else sql.SQL("NULL"))
    cells = [sql.SQL("s.{}").format(sql.Identifier(f"v{i}")) for i in range(len(names))] or [sql.SQL("NULL")]
    secret = [n for n in names if not layout.columns[n].get("col")]
    token = sql.SQL("")
    if secret:
        if any(n not in kinds for n in secret):
            token = sql.SQL(", s.token")
        else:  # every encrypted item masked: the token only where a cell is the marker (no stored form)
            needs = sql.SQL(" OR ").join(sql.SQL("s.{} = {}").format(sql.Identifier(f"v{names.index(n)}"),
                                                                      sql.Literal(marker)) for n in secret)
            token = sql.SQL(", CASE WHEN {} THEN s.token END").format(needs)
    statement = sql.SQL("COPY (SELECT {}, {}{} FROM ({}) s) TO STDOUT (FORMAT csv)").format(
        sql.SQL(", ").join(cells), flag, token, inner)
    return statement, params, bool(secret)


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
    (sharing.export.fingerprint: a keyed choice of one field a row written quoted). Read on the data API's read
    replica when one is configured (portal.db_router.replica_alias: the rows are read while the response is sent)."""
    from django.db import connections

    from portal.db_router import replica_alias

    marker = "\x1f" + secrets.token_hex(6) + "\x1f"
    statement, params, tokens = _copy_sql(call, marker)
    database = connections[replica_alias()]
    database.ensure_connection()
    conn = database.connection
    cursor = conn.cursor()
    blocks = _Blocks(call, marker.encode(), tokens)
    render = _without_gc(blocks.rendered if tokens else blocks.passed)
    mark = Marker(download_key(trace_id), blocks.width).marked
    try:
        with cursor.copy(statement, params):
            for block, rows in _copy_blocks(conn):
                counter.rows += rows
                yield mark(render(block, rows))
    finally:
        cursor.close()


def _without_gc(render):
    """`render` run with the cyclic garbage collector paused: a block's objects (a token object, a decoded dict, a
    tuple a row) hold no cycles and go by reference counting, while the collections their allocations trigger would
    walk the whole process's heap — measured at a third of the decrypting export's time."""

    def call(block: bytes, rows: int) -> bytes:
        if not gc.isenabled():
            return render(block, rows)
        gc.disable()
        try:
            return render(block, rows)
        finally:
            gc.enable()

    return call


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
    """Turns the COPY's blocks into the download's CSV bytes (module docstring)."""

    def __init__(self, call: DataCall, marker: bytes, tokens: bool):
        from aggregation.storage.layout import Layout
        from security import crypto

        self.cipher = crypto.cipher()
        self.marker = marker
        self.tokens = tokens
        self.width = len(call.projection) + 1
        layout = Layout.stored(call.dataset)
        secret = {n for n in call.projection if not layout.columns[n].get("col")}
        kinds = call.mask_kinds
        # The encrypted items read in full: each of their cells is the marker (read from the row's token).
        self.full = [n for n in call.projection if n in secret and n not in kinds]
        # position → (item, masking kind, encrypted) of every column whose cells may be marked: those, and the masked
        # items (a row without the stored form of that kind; see `_copy_sql`).
        self.marked = {i: (name, kinds.get(name), name in secret) for i, name in enumerate(call.projection)
                       if name in secret or name in kinds}

    # ------------------------------------------------------------------ no token column

    def passed(self, block: bytes, rows: int) -> bytes:
        scan = block.translate(_ROW_SCAN)
        if b'"' in block or scan.startswith(b"=") or b",=" in scan or (self.marked and self.marker in block):
            return self.careful(block)
        return block.replace(b"\n", b"\r\n")

    # ------------------------------------------------------------------ with the token column

    def rendered(self, block: bytes, rows: int) -> bytes:
        if b'"' in block:
            return self.careful(block)
        width = len(self.full)
        if block.count(self.marker) != rows * width:  # a masked cell to finish here, or a value holding the marker
            return self.careful(block)
        if not width:  # every encrypted item masked, each row with its stored forms: no token sent
            scan = block.translate(_ROW_SCAN)
            if scan.startswith(b"=") or b",=" in scan or not block.endswith(b",\n") \
                    or block.count(b",\n") != rows:
                return self.careful(block)
            return block.replace(b",\n", b"\r\n")
        lines = block.split(b"\n")
        lines.pop()  # (after the last LF)
        pairs = [line.rpartition(b",") for line in lines]  # (head, ",", token): tokens hold no comma
        parts = (b"\r\n".join([head for head, _c, _t in pairs]) + b"\r\n").split(self.marker)
        # The clear fields are the text between the cells (each such text starts at a field separator, or at the
        # block's start).
        scan = b"".join(parts).translate(_ROW_SCAN)
        if scan.startswith(b"=") or b",=" in scan:
            return self.careful(block)
        opened = tokens_opened([t.decode() for _h, _c, t in pairs], self.cipher)
        names = self.full
        values = [(row.get(n) or "") if row else "" for row in opened for n in names]
        joined = "\x00".join(values).encode()
        scan = joined.translate(_VALUE_SCAN)
        fields = joined.split(b"\x00")
        if b"Q" in scan or scan.startswith(b"=") or b",=" in scan:
            fields = [_finished(v) for v in fields]
        out = [b""] * (2 * len(fields) + 1)
        out[0::2] = parts
        out[1::2] = fields
        return b"".join(out)

    # ------------------------------------------------------------------ row by row

    def careful(self, block: bytes) -> bytes:
        """A block holding a quote, a guarded first character, a masked item's cell to finish or a stray marker:
        field by field."""
        from security.masking import mask

        marked = self.marked
        marker = self.marker
        cut = len(marker)
        parsed = []
        for row in _rows_of(block):
            quoted = b'"' in row
            fields = [v.encode() for v in next(csv.reader([row.decode()]))] if quoted else row.split(b",")
            if len(fields) != self.width + self.tokens:  # pragma: no cover — a column count PostgreSQL does not send
                raise ValueError("unexpected COPY row")
            parsed.append(fields)
        opened = (tokens_opened([f.pop().decode() for f in parsed], self.cipher) if self.tokens
                  else [{}] * len(parsed))
        out = []
        for fields, secret in zip(parsed, opened, strict=True):
            for i, value in enumerate(fields):
                if i in marked and value.startswith(marker) and value.endswith(marker):
                    name, kind, encrypted = marked[i]
                    if value == marker and encrypted:  # read from the row's token
                        text = (secret or {}).get(name)
                    elif len(value) >= 2 * cut and not encrypted:  # a clear value to mask
                        text = value[cut:-cut].decode()
                    else:
                        fields[i] = _finished(value)
                        continue
                    if kind and text:
                        text = mask(text, kind)
                    fields[i] = _finished(text.encode()) if text else b""
                elif value:
                    fields[i] = _finished(value)
            out.append(b",".join(fields) + b"\r\n")
        return b"".join(out)
