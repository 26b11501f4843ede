"""Parallel CSV ingestion: worker processes that each read, decode, parse and process byte ranges of the file.

Why processes of their own (`python -m aggregation.ingest.parallel`) and not a multiprocessing pool: ingest jobs run
in Celery's prefork children, which are daemonic, and Python refuses to let a daemonic process start
multiprocessing children ("daemonic processes are not allowed to have children") — the former fork pool always
fell back to one process there. A plain subprocess is not subject to that rule. And why byte ranges rather than
rows: sending parsed rows to a pool cost about what the pool saved (measured in sessions 1–2); here the parent
sends each worker only (start, end) offsets, and gets back the COPY text and the rejections.

How a file is cut, and why the result is exactly the sequential one:

- The data part of the file (after the header record) is cut into ranges of about CHUNK_BYTES, each ending just
  after a b"\\n". In UTF-8, GB18030 and GBK that byte is never part of a multi-byte character, so every range
  decodes on its own; other encodings (UTF-16 …) are read by one process.
- A b"\\n" may lie inside a quoted field. The worker of the range that ends there notices: its csv reader asks
  for a line past the end of the range while in the middle of a record. The parent then discards everything
  (`Unsplittable`) and the file is read by one process — so a cut never changes what a file means.
- Each range is decoded, made half-width and parsed exactly as `CsvSource` does (a text block at a time,
  then csv over the block's lines), and processed by the same `processing.RowProcessor`.
- Row numbers: a worker cannot know how many records precede its range, so the stage table's `row_no` is
  ((range + 1) << 32) + the record's index in its range (file order is kept, which is all the last-one-wins
  de-duplication needs), and the parent turns the rejections' row numbers into the file's record numbers as the
  ranges come back in order.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import pickle
import struct
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from django.conf import settings

from .planning import Plan
from .processing import BATCH_ROWS, BatchResult, RowProcessor
from .readers import _FULL_WIDTH, CsvSource, csv_error, decoding_error
from .sniffing import SAMPLE_BYTES
from .validation import HALF_WIDTH

CHUNK_BYTES = 4 << 20
# Encodings in which b"\n" only ever encodes the line feed (never a byte of a longer character).
SPLITTABLE = frozenset({"utf-8", "utf-8-sig", "gb18030", "gbk"})
_HEADER = struct.Struct("!Q")
_SHIFT = 32


def worker_count(size: int) -> int:
    """Processes for a CSV file of `size` bytes: AGGREGATION["INGEST_WORKERS"], 0 = one per core; files under
    AGGREGATION["INGEST_PARALLEL_MIN_BYTES"] are read by the job's own process (starting a parser process costs
    about a second)."""
    wanted = int(settings.AGGREGATION.get("INGEST_WORKERS", 0)) or os.cpu_count() or 1
    # Measured on session 5's 2-core box (read phase, 1 process vs 2): 10 MB 2.0–2.2 s vs 2.1–2.5 s, 34 MB 6.5–7.2 s
    # vs 4.9–5.6 s; hence the default of 16 MB.
    if size < settings.AGGREGATION["INGEST_PARALLEL_MIN_BYTES"] or wanted <= 1:
        return 1
    return wanted


class Unsplittable(Exception):
    """A cut fell inside a quoted field: the file must be read by one process."""


@dataclass(frozen=True)
class Layout:
    """Where a CSV file's records are: `ranges` of the data part, each (start, end) ending after a line feed."""

    encoding: str
    dialect: str
    header_lines: int  # line feeds before the data part (for the file's line numbers in error messages)
    ranges: list[tuple[int, int]]


def layout(path: Path, source: CsvSource, *, chunk: int | None = None) -> Layout | None:
    """The ranges to read in parallel, or None when the file should be read by one process."""
    chunk = chunk or CHUNK_BYTES
    try:
        encoding = codecs.lookup(source.encoding).name
    except LookupError:
        return None
    if encoding not in SPLITTABLE:
        return None
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
        if b"\r" in sample and sample.count(b"\r") != sample.count(b"\r\n"):
            return None  # bare CR line ends: the b"\n" cuts would not be line ends
        start = _header_end(sample, encoding, source.dialect)
        if start is None:
            return None
        size = os.fstat(fh.fileno()).st_size
        ranges = []
        pos = start
        while size - pos > chunk * 3 // 2:
            fh.seek(pos + chunk)
            cut = -1
            while cut < 0:
                block = fh.read(1 << 16)
                if not block:
                    break
                cut = block.find(b"\n")
                if cut >= 0:
                    cut += fh.tell() - len(block) + 1
            if cut < 0:
                break
            ranges.append((pos, cut))
            pos = cut
        if pos < size:
            ranges.append((pos, size))
    if len(ranges) < 2:
        return None
    return Layout(encoding, source.dialect, sample.count(b"\n", 0, start), ranges)


def _header_end(sample: bytes, encoding: str, dialect: str) -> int | None:
    """The byte offset just after the header record (which may span lines), or None if the sample does not hold it."""
    lines = sample.splitlines(keepends=True)
    consumed = [0]

    def feed():
        for i, raw in enumerate(lines):
            if not raw.endswith(b"\n"):
                return  # the sample ends inside this line
            consumed[0] += len(raw)
            yield raw.decode("utf-8-sig" if i == 0 and encoding == "utf-8-sig" else encoding, errors="replace")

    try:
        next(csv.reader(feed(), dialect))
    except (StopIteration, csv.Error):
        return None
    return consumed[0]


class _Lines:
    """An iterator of lines that remembers whether it was asked for one more line than it had."""

    def __init__(self, lines):
        self._it = iter(lines)
        self.past_end = False

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return next(self._it)
        except StopIteration:
            self.past_end = True
            raise


def process_range(processor: RowProcessor, path: str, encoding: str, dialect: str, index: int, start: int, end: int,
                  last: bool) -> tuple:
    """One range: ("ok", index, records, lines, BatchResult with row numbers of this range) or an error tuple."""
    with open(path, "rb") as fh:
        fh.seek(start)
        data = fh.read(end - start)
    lines = data.count(b"\n")
    try:
        text = data.decode("utf-8" if encoding == "utf-8-sig" else encoding)
    except UnicodeDecodeError as exc:
        return ("decode", index, data.count(b"\n", 0, exc.start) + 1)
    del data
    if _FULL_WIDTH.search(text):
        text = text.translate(HALF_WIDTH)
    feed = _Lines(io.StringIO(text, newline=""))
    reader = csv.reader(feed, dialect)
    rows: list[list] = []
    try:
        for row in reader:
            if feed.past_end and not last:
                return ("split", index)
            rows.append(row)
    except csv.Error as exc:
        return ("csv", index, reader.line_num, str(exc))
    del text
    base = (index + 1) << _SHIFT
    out, frames, rejections, accepted, counted = [], [], [], 0, 0
    for at in range(0, len(rows), BATCH_ROWS):
        result = processor.process(base + at, rows[at:at + BATCH_ROWS])
        out.append(result.copy_text)
        if result.frame is not None:
            frames.append(result.frame)
        rejections.extend(result.rejections)
        accepted += result.accepted
        counted += result.rows
    frame = pl.concat(frames, rechunk=True) if frames else None
    return ("ok", index, len(rows), lines, BatchResult("".join(out), accepted, rejections, counted, frame=frame))


def serve() -> None:
    """Worker process: read one pickled task from stdin, write one pickled result per range to stdout.

    Without django.setup(): parsing and checking use no model, and the app registry costs each process ≈ 1.5 s of
    start-up that a load waits for. Translation is off instead (it needs the registry): the reasons are Chinese
    source strings (portal.validators), which is what the portal's language gives them anyway."""
    # The results go through the original stdout; anything else printed (by Django, a library, a warning) goes to
    # stderr instead, where it cannot corrupt them.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    settings.USE_I18N = False
    task = pickle.load(sys.stdin.buffer)  # noqa: S301 — written by the parent job, through a pipe
    processor = RowProcessor(task["plan"], task["columns"], task["mapping"], frames=task.get("frames", False))
    processor.pretranslated = True
    for index, start, end in task["ranges"]:
        payload = pickle.dumps(
            process_range(processor, task["path"], task["encoding"], task["dialect"], index, start, end,
                          index == task["last"]), protocol=pickle.HIGHEST_PROTOCOL)
        out.write(_HEADER.pack(len(payload)))
        out.write(payload)
        out.flush()


@dataclass
class Chunk:
    """A processed range, back in the parent: the file's record numbers in `result.rejections`."""

    result: BatchResult
    end: int
    shift: int = 0  # stage row_no + shift = the file's record number (0: row_no is the record number already)
    part: int = 0  # the stage row numbers' high part (row_no >> 32) of this range: index + 1 (0: one process)


def results(path: Path, source: CsvSource, the_layout: Layout, plan: Plan, mapping: dict[str, str],
            workers: int, *, frames: bool = False) -> Iterator[Chunk]:
    """Process the ranges in `workers` processes; yield them in file order. Raises Unsplittable or IngestError.

    `frames`: the processors give canonical frames (RowProcessor(frames=True)), their row numbers turned into the
    file's record numbers here."""
    ranges = the_layout.ranges
    workers = min(workers, len(ranges))
    procs = []
    # manage.py, wsgi.py and the Celery app all set the variable; settings.SETTINGS_MODULE is None under overrides.
    settings_module = os.environ.get("DJANGO_SETTINGS_MODULE") or settings.SETTINGS_MODULE
    try:
        for _w in range(workers):
            procs.append(subprocess.Popen(  # our own interpreter and module, no shell
                [sys.executable, "-m", "aggregation.ingest.parallel"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                cwd=settings.BASE_DIR,
                # one polars thread each: the workers already are the parallelism (one per core)
                env={**os.environ, "DJANGO_SETTINGS_MODULE": settings_module, "POLARS_MAX_THREADS": "1"}))
        for w, proc in enumerate(procs):  # after starting them all: a task larger than a pipe waits for its reader
            task = {"plan": plan, "columns": source.columns, "mapping": mapping, "path": str(path), "frames": frames,
                    "encoding": the_layout.encoding, "dialect": the_layout.dialect, "last": len(ranges) - 1,
                    "ranges": [(i, *ranges[i]) for i in range(w, len(ranges), workers)]}
            proc.stdin.write(pickle.dumps(task, protocol=pickle.HIGHEST_PROTOCOL))
            proc.stdin.close()
        first_row = 2  # the header is record 1
        line = the_layout.header_lines
        for index in range(len(ranges)):
            message = _receive(procs[index % workers])
            kind = message[0]
            if kind == "split":
                raise Unsplittable
            if kind == "decode":
                raise decoding_error(line + message[2], source.encoding)
            if kind == "csv":
                raise csv_error(line + message[2], message[3])
            _ok, _index, records, lines, result = message
            base = (index + 1) << _SHIFT
            shift = first_row - base
            result.rejections = [(row + shift, *rest) for row, *rest in result.rejections]
            if result.frame is not None:
                result.frame = result.frame.with_columns(pl.col("row_no") + shift)
                shift = 0
            first_row += records
            line += lines
            yield Chunk(result, ranges[index][1], shift, index + 1)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stdout.close()


def _receive(proc: subprocess.Popen):
    head = proc.stdout.read(_HEADER.size)
    if len(head) < _HEADER.size:
        proc.wait()
        raise RuntimeError(f"ingest worker process ended unexpectedly (exit code {proc.returncode})")
    return pickle.loads(proc.stdout.read(_HEADER.unpack(head)[0]))  # noqa: S301 — our own child's output


if __name__ == "__main__":
    serve()
