"""The fingerprint of a bulk CSV download (R25.1 leak tracing beyond the header line) and the reading of a leaked file.

A download's `#` trace line and header are gone as soon as someone deletes two lines; its rows carry a second
trace that survives that, shuffling and cutting out rows. Design:

- **Key.** Per download K = HMAC-SHA256(settings.EXPORT_TRACE_KEY, trace id). The trace id is in the download's
  `sharing.data.read` audit event (`data["trace"]`, beside `format: "csv"`, `method: "download"`, `items`); the
  server secret is not in the database, so someone who reads or rewrites the audit trail can neither forge another
  download's fingerprint nor strip it selectively.
- **Mark.** Every data row is written in minimal CSV (the csv module's QUOTE_MINIMAL: only a field holding `,` `"`
  CR or LF is quoted; sharing.export.csv_copy writes nothing else). For each row, a keyed function of its canonical
  bytes (the row as written, without its CRLF) picks one of its fields — with probability 1/MARK_ONE_IN in all,
  uniformly over the row's fields — or none; the picked field is written between quotes. A CSV reader (the csv
  module, Excel, LibreOffice, pandas, PostgreSQL's COPY FROM) reads the same value quoted or not, so the data is
  unchanged; the raw bytes say which rows were marked where. Empty fields (quoted, PostgreSQL's COPY would read ''
  instead of NULL) and fields quoted anyway carry no mark: a pick that lands on one writes the row unmarked.
- **Keyed function.** `table[crc32(row) & 0xFFFF]`, where `table` is 65 536 choices drawn from SHAKE-256(K): a random
  function of the row (a CRC-32 bucket) that nobody without K can compute. Not the blake2b-per-row of the first
  design: a keyed blake2b is ≈ 2.4 µs a row in Python (the clear export itself is ≈ 2 µs a row), the CRC and the
  table lookup are ≈ 0.25 µs a row and run as `map` in C; only the marked quarter of the rows is split and joined
  (bench/README.md has the figures).
- **What survives.** Deleting the `#` line and the header, any order of the rows, any subset of whole rows,
  concatenation with other files, a change of line ends (CRLF → LF) or of the encoding (UTF-8 → GB18030, as Excel
  users in China save). **What does not:** anything that re-writes the CSV (Excel open-and-save, pandas `to_csv`,
  copy into another program) drops the marks, and a changed value or a removed column changes the row's canonical
  bytes (that row no longer counts for any download). Those leaks are traced by content only (which rows, which
  items, which masking), outside this module.

Tracing (`trace_rows`, used by `manage.py trace_leak`): the leaked file is read from its raw bytes by this module's
own tokenizer (a parser that normalises quoting first would lose the marks); each data row gives its canonical bytes
(its values re-written minimally) and the set of fields quoted without need. A candidate download (its key and
width) *matches* a row when the row's expected marks under its key are exactly the observed ones. A row is
*informative* when it has at least one field that could carry a mark. Under the hypothesis "this row did not come
from that download" a row matches with probability p = 1/(MARK_ONE_IN·fields) when it shows a mark and
1 − m/(MARK_ONE_IN·fields) when it shows none (m: its fields that could carry one). A download is named when

    score = matching / informative rows ≥ MIN_SCORE  and  candidates × P(≥ matching rows by chance) ≤ MAX_FALSE_NAME,

P bounded by Chernoff's bound over the rows' p (exact when every row matches). Each matching row divides the chance by
≈ 2.3 (6 fields) to 2.9 (12 fields): 30 rows name their download (chance ≈ 1e-11 … 1e-14 per candidate), 5 rows do
not (≈ 1e-2); with 100 candidates the threshold is passed from ≈ 18–22 rows on. A file of several downloads mixed
scores each below MIN_SCORE: the command then prints the candidates' scores and names none.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
import sys
import zlib
from array import array
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import and_

MARK_ONE_IN = 4  # one row in four carries a mark (more marks cost more: each marked row is split and joined)
MAX_FIELDS = 254  # fields beyond this position are never picked (a choice is one byte; 255 = none)
NONE = 255
BUCKETS = 1 << 16
MIN_SCORE = 0.9
MAX_FALSE_NAME = 1e-6
MAX_ROWS = 20_000  # rows of a leaked file read (a few hundred are plenty)
_IS_MARK = bytes(0 if b == NONE else 1 for b in range(256))
_NEEDS_QUOTES = re.compile(rb'[,"\r\n]')
_RAW_FIELD = re.compile(rb'"(?:[^"]|"")*"|[^,]*')


def _secret() -> bytes:
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    text = settings.EXPORT_TRACE_KEY or ""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured("EXPORT_TRACE_KEY is not base64url") from exc
    if len(raw) != 32:
        raise ImproperlyConfigured("EXPORT_TRACE_KEY must be 32 bytes (base64url)")
    return raw


def download_key(trace_id: str) -> bytes:
    """K of one download: HMAC-SHA256(EXPORT_TRACE_KEY, trace id)."""
    return hmac.new(_secret(), b"export-fingerprint\x00" + trace_id.encode(), hashlib.sha256).digest()


def choice_table(key: bytes, width: int) -> bytes:
    """65 536 choices, one per CRC-32 bucket: a field position (< width, at most MAX_FIELDS; together with
    probability 1/MARK_ONE_IN, uniform among them) or NONE."""
    fields = max(1, min(width, MAX_FIELDS))
    span = fields * MARK_ONE_IN
    values = array("H", hashlib.shake_256(key + b"\x00table").digest(2 * BUCKETS))
    if sys.byteorder == "big":  # pragma: no cover — the table must not depend on the machine
        values.byteswap()
    return bytes(c if (c := v % span) < fields else NONE for v in values)


def raw_fields(row: bytes) -> list[bytes]:
    """The fields of one CSV row as written (a quoted field keeps its quotes)."""
    fields = []
    pos, end = 0, len(row)
    while True:
        m = _RAW_FIELD.match(row, pos)
        fields.append(m.group())
        pos = m.end()
        if pos >= end:
            return fields
        pos += 1  # the comma (a stray quote after a closing one ends up in the next field: not our output)


def _csv_rows(block: bytes) -> list[bytes]:
    """The CRLF-ended rows of a block (without their CRLF), rejoined where a CRLF sits inside a quoted field."""
    rows: list[bytes] = []
    pending = b""
    inside = False
    for line in block.split(b"\r\n")[:-1]:
        pending = pending + b"\r\n" + line if inside else line
        if line.count(b'"') & 1:
            inside = not inside
        if not inside:
            rows.append(pending)
    return rows


class Marker:
    """Marks the rows of one download (see the module docstring); `marked(block)` takes and returns CRLF rows."""

    def __init__(self, key: bytes, width: int):
        self.table = choice_table(key, width)

    def marked(self, block: bytes) -> bytes:
        rows = block.split(b"\r\n")
        rows.pop()  # after the last CRLF
        quotes = b'"' in block
        if quotes and any(map(and_, map(bytes.count, rows, repeat(b'"')), repeat(1))):
            return self.careful(block)  # a line break inside a quoted field: the lines are not the rows
        table = self.table
        choices = bytes(map(table.__getitem__, map(and_, map(zlib.crc32, rows), repeat(0xFFFF))))
        for i in compress(range(len(rows)), choices.translate(_IS_MARK)):
            row = rows[i]
            fields = raw_fields(row) if quotes and b'"' in row else row.split(b",")
            j = choices[i]
            if j < len(fields) and fields[j] and fields[j][0] != 34:  # not empty, not quoted anyway
                fields[j] = b'"' + fields[j] + b'"'
                rows[i] = b",".join(fields)
        rows.append(b"")
        return b"\r\n".join(rows)

    def careful(self, block: bytes) -> bytes:
        """A block with a line break inside a quoted field: row by row (a quoted field carries no mark)."""
        table = self.table
        out = []
        for row in _csv_rows(block):
            j = table[zlib.crc32(row) & 0xFFFF]
            if j != NONE:
                fields = raw_fields(row) if b'"' in row else row.split(b",")
                if j < len(fields) and fields[j] and not fields[j].startswith(b'"'):
                    fields[j] = b'"' + fields[j] + b'"'
                    row = b",".join(fields)
            out.append(row)
        out.append(b"")
        return b"\r\n".join(out)


# ------------------------------------------------------------------------------------------------ tracing


@dataclass(frozen=True)
class LeakedRow:
    canonical: bytes  # the row's values written minimally (UTF-8), as the download hashed them
    width: int
    marks: tuple[int, ...]  # positions of fields quoted without need
    free: frozenset[int]  # positions of the fields that could carry a mark (non-empty, no quotes needed, < MAX_FIELDS)

    @property
    def carriers(self) -> int:
        return len(self.free)

    def chance(self) -> float:
        """Probability that a download this row did not come from expects exactly its marks."""
        fields = min(self.width, MAX_FIELDS)
        if len(self.marks) > 1:
            return 0.0
        if self.marks:
            return 1 / (MARK_ONE_IN * fields)
        return 1 - self.carriers / (MARK_ONE_IN * fields)


_TEXT_FIELD = re.compile(r'"((?:[^"]|"")*)"|([^,"\r\n]*)')
_LINE_END = re.compile(r"\r\n|\n|\r")


def _decoded(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="replace")  # saved by Excel in a Chinese locale


def _records(text: str):
    """(values, quoted flags) of each well-formed CSV record of `text`, from its raw characters (quotes seen)."""
    pos, end = 0, len(text)
    while pos < end:
        values: list[str] = []
        quoted: list[bool] = []
        good = True
        while True:
            m = _TEXT_FIELD.match(text, pos)
            q = m.group(1) is not None
            values.append(m.group(1).replace('""', '"') if q else m.group(2))
            quoted.append(q)
            pos = m.end()
            if pos < end and text[pos] == ",":
                pos += 1
                continue
            if pos >= end:
                break
            line_end = _LINE_END.match(text, pos)
            if line_end:
                pos = line_end.end()
                break
            good = False  # not CSV as written by a CSV writer: skip the rest of the line
            line_end = _LINE_END.search(text, pos)
            pos = line_end.end() if line_end else end
            break
        if good:
            yield values, quoted


def leaked_rows(raw: bytes, *, header_last: str, limit: int = MAX_ROWS) -> list[LeakedRow]:
    """The data rows of a leaked CSV file, read from its raw bytes: a `#` line, the header line (its last field
    `header_last`, the verification column's name) and empty lines are left out."""
    rows = []
    text = _decoded(raw)
    if text.startswith("#"):  # the trace line is not CSV-escaped (a purpose may hold `,"`): cut it off first
        text = text.partition("\n")[2]
    for values, quoted in _records(text):
        if values == [""] or (not rows and values[0].startswith("#")) or values[-1] == header_last:
            continue
        fields = [v.encode() for v in values]
        needs = [bool(_NEEDS_QUOTES.search(f)) for f in fields]
        pairs = list(zip(fields, needs, strict=True))
        canonical = b",".join(b'"' + f.replace(b'"', b'""') + b'"' if n else f for f, n in pairs)
        marks = tuple(i for i, (q, n) in enumerate(zip(quoted, needs, strict=True)) if q and not n)
        free = frozenset(i for i, (f, n) in enumerate(pairs) if f and not n and i < MAX_FIELDS)
        rows.append(LeakedRow(canonical, len(fields), marks, free))
        if len(rows) >= limit:
            break
    return rows


@dataclass
class Candidate:
    """One download that might be the source: its trace id, its width (projected items + the flag column)."""

    trace: str
    width: int
    info: dict = field(default_factory=dict)  # what to print: who, when, grant … (the caller's)
    matched: int = 0
    informative: int = 0
    chance: float = 1.0  # P(at least `matched` rows by chance), Chernoff-bounded

    @property
    def score(self) -> float:
        return self.matched / self.informative if self.informative else 0.0


def _tail_bound(chances: dict[float, int], matched: int) -> float:
    """Chernoff's bound on P(X ≥ matched), X a sum of independent Bernoulli(p) with `chances` = {p: how many}."""
    n = sum(chances.values())
    if matched <= sum(p * c for p, c in chances.items()):
        return 1.0
    if matched >= n:  # every row matched: the exact probability
        return math.exp(sum(c * math.log(p) if p > 0 else -math.inf for p, c in chances.items())) \
            if all(p > 0 for p in chances) else 0.0

    def log_bound(t: float) -> float:
        return -t * matched + sum(c * math.log1p(p * math.expm1(t)) for p, c in chances.items())

    lo, hi = 0.0, 80.0
    for _ in range(200):  # convex in t: ternary search
        a, b = lo + (hi - lo) / 3, hi - (hi - lo) / 3
        if log_bound(a) <= log_bound(b):
            hi = b
        else:
            lo = a
    return min(1.0, math.exp(log_bound((lo + hi) / 2)))


def trace_rows(rows: list[LeakedRow], candidates: list[Candidate]) -> list[Candidate]:
    """Score every candidate against the leaked rows (see the module docstring); best first."""
    informative = [r for r in rows if r.carriers]
    buckets = [zlib.crc32(r.canonical) & 0xFFFF for r in informative]
    chances: dict[float, int] = {}
    row_chance = [r.chance() for r in informative]
    for c in row_chance:
        chances[c] = chances.get(c, 0) + 1
    for cand in candidates:
        same = [r.width == cand.width for r in informative]
        if not any(same):
            cand.matched, cand.informative, cand.chance = 0, len(informative), 1.0
            continue
        table = choice_table(download_key(cand.trace), cand.width)
        matched = 0
        for row, bucket, fits in zip(informative, buckets, same, strict=True):
            if not fits or len(row.marks) > 1:
                continue
            j = table[bucket]
            expected = (j,) if j in row.free else ()
            matched += expected == row.marks
        cand.matched, cand.informative = matched, len(informative)
        cand.chance = _tail_bound(chances, matched) if informative else 1.0
    return sorted(candidates, key=lambda c: (-c.score, c.chance))


def named(ranked: list[Candidate]) -> Candidate | None:
    """The download the rows name, or None below the threshold (MIN_SCORE, MAX_FALSE_NAME over all candidates)."""
    if not ranked:
        return None
    best = ranked[0]
    if best.score >= MIN_SCORE and best.chance * len(ranked) <= MAX_FALSE_NAME:
        return best
    return None
