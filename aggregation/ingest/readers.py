"""The three readers (CSV, XLSX, JSON): streamed, never loaded whole.

CSV through the csv module over a decoding text stream (a large file is read by several processes instead:
aggregation.ingest.parallel) — or, for a UTF-8 or GB file that polars reads exactly as the csv module does, by
polars' own reader a block of records at a time (`CsvSource.frames`); XLSX through openpyxl's read-only reader;
JSON through an incremental array/JSON-Lines decoder. Each gives `columns` (the cleaned header), `rows()` and
`position()` for progress.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl
from django.conf import settings

from ..choices import JobFormat
from .errors import IngestError
from .mapping import clean_header
from .sniffing import SAMPLE_BYTES, detect_encoding
from .validation import HALF_WIDTH


class Source:
    """An open input: `columns` (header), `rows()` (an iterator of lists), `position()` 0–1 for progress."""

    columns: list[str]
    encoding: str = ""
    notes: list[str]
    pretranslated: bool = False  # text values are already half-width (RowProcessor need not translate)

    def rows(self) -> Iterator[list]:
        raise NotImplementedError

    def position(self) -> float:
        return 0.0

    def close(self) -> None:
        pass


class _ByteCounter(io.RawIOBase):
    """Wraps a binary file so progress can be measured in bytes consumed by the decoder."""

    def __init__(self, raw):
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = self.raw.readinto(b)
        self.count += n or 0
        return n


_FULL_WIDTH = re.compile("[\u3000\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")  # what HALF_WIDTH translates


def _half_width_lines(text, block: int = 1 << 16) -> Iterator[str]:
    """The lines of a text stream (as iterating it with newline="" gives them), full-width characters translated.

    Reads 64 KB blocks; a block is cut after its last "\n" — or, in a file of bare "\r" line ends, after its last
    "\r" that is not the block's final character — so a "\r\n" pair or a line is never split, and the rest goes
    with the next block; the block is split into lines by a StringIO with the same newline handling."""
    rest = ""
    while True:
        chunk = text.read(block)
        if not chunk:
            break
        chunk = rest + chunk
        cut = chunk.rfind("\n") + 1 or chunk.rfind("\r", 0, len(chunk) - 1) + 1
        if cut == 0:
            rest = chunk
            continue
        chunk, rest = chunk[:cut], chunk[cut:]
        if _FULL_WIDTH.search(chunk):
            chunk = chunk.translate(HALF_WIDTH)
        yield from io.StringIO(chunk, newline="")
    if rest:
        if _FULL_WIDTH.search(rest):
            rest = rest.translate(HALF_WIDTH)
        yield from io.StringIO(rest, newline="")


def _text_sample(path: Path) -> tuple[int, bytes]:
    """A text file's size and first SAMPLE_BYTES (what the encoding is detected from); an empty file is refused."""
    size = path.stat().st_size
    if size == 0:
        raise IngestError("文件为空")
    with open(path, "rb") as fh:
        return size, fh.read(SAMPLE_BYTES)


def decoding_error(line: int, encoding: str) -> IngestError:
    """A CSV file that stops decoding near `line` (read by one process or by aggregation.ingest.parallel)."""
    return IngestError(f"文件在第 {line} 行附近无法按 {encoding} 解码：文件中混有不同编码的内容")


def csv_error(line: int, problem: str) -> IngestError:
    return IngestError(f"CSV 格式错误（第 {line} 行附近）：{problem}")


class CsvSource(Source):
    def __init__(self, path: Path, *, encoding: str | None = None):
        self.notes = []
        self.size, sample = _text_sample(path)
        detected = detect_encoding(sample)
        if encoding and encoding.lower().replace("_", "-") not in (detected, "auto", ""):
            chosen = "utf-8-sig" if encoding.lower() in ("utf-8", "utf8") and detected == "utf-8-sig" else encoding
            try:
                codecs.lookup(chosen)
                sample.decode(chosen if chosen != "utf-8-sig" else "utf-8-sig")
                detected = chosen
            except (LookupError, UnicodeDecodeError):
                self.notes.append(f"所选编码 {encoding} 无法解码该文件，已按自动识别的 {detected} 读取")
        self.encoding = detected
        self._raw = open(path, "rb")  # noqa: SIM115 — closed in close()
        self._counter = _ByteCounter(self._raw)
        buffered = io.BufferedReader(self._counter, buffer_size=1 << 20)
        self._text = io.TextIOWrapper(buffered, encoding=detected, newline="", errors="strict")
        first_line = sample[:65536].decode(detected, errors="ignore").split("\n", 1)[0]
        # Bytes a line in the first block: where a record number lies in the file, for progress only.
        self.line_bytes = max(len(sample) / max(sample.count(b"\n"), 1), 1.0)
        self.dialect = "excel-tab" if first_line.count("\t") > first_line.count(",") else "excel"
        # Full-width digits/letters/spaces become half-width before parsing, a text block at a time: one regex
        # search over 64 KB finds whether the block has any at all (str.translate with a mapping costs ≈ 4 µs a
        # line on CJK text even when it changes nothing). The translation never produces a delimiter or a quote,
        # so CSV parsing is unaffected.
        self._reader = csv.reader(_half_width_lines(self._text), self.dialect)
        self.pretranslated = True
        try:
            header = next(self._reader)
        except StopIteration as exc:
            raise IngestError("文件为空") from exc
        except UnicodeDecodeError as exc:
            raise IngestError(f"文件无法按 {detected} 解码") from exc
        self.columns = [clean_header(h) for h in header]
        if not any(self.columns):
            raise IngestError("第1行（表头）为空")

    def rows(self) -> Iterator[list]:
        try:
            yield from self._reader
        except UnicodeDecodeError as exc:
            raise decoding_error(self._reader.line_num, self.encoding) from exc
        except csv.Error as exc:
            raise csv_error(self._reader.line_num, str(exc)) from exc

    def position(self) -> float:
        return min(self._counter.count / self.size, 1.0) if self.size else 1.0

    def close(self) -> None:
        self._raw.close()

    def frames(self, path: Path, rows: int) -> Iterator[tuple[int, pl.DataFrame]]:
        """The data records as frames of up to `rows` (String columns in the file's order; the first record number
        of each, the header being 1), read by polars' own multi-threaded CSV reader — for a file it reads exactly as
        the csv module does; a GB2312/GBK/GB18030 file transcoded to UTF-8 a block at a time. Otherwise
        FastReadRefused: before the first frame when a guard sees what the two read differently (another encoding,
        a quoted header, NUL, blank lines, bare CR line ends), or mid-way when polars refuses
        a record (a ragged row, a quote inside an unquoted field, bytes that are not UTF-8): the caller then reads
        the file the csv module's way (`rows()`), which gives the error's line and words, or its rows."""
        codec = _codec_name(self.encoding)
        transcode = codec if codec in _GB_CODECS else None
        if (self.encoding not in ("utf-8", "utf-8-sig") and not transcode) or not _fast_readable(path):
            raise FastReadRefused
        width = len(self.columns)
        options = {"has_header": False, "separator": "\t" if self.dialect == "excel-tab" else ",", "quote_char": '"',
                   "schema": {f"c{i}": pl.String for i in range(width)}, "encoding": "utf8"}
        first = 2
        pending: list[pl.DataFrame] = []
        held = 0
        try:
            # Blocks of whole records parsed one at a time (each by polars' multi-threaded parser): memory is a block
            # and a batch, whatever the file's size. (pl.scan_csv reads the whole file into memory first: ≈ 250 MB
            # held for a 168 MB file by its second batch, measured.)
            for block in _record_blocks(path, READ_BLOCK_BYTES):
                if transcode:  # (strict: a byte that does not decode sends the file the csv module's way)
                    block = block.decode(transcode).encode()
                frame = pl.read_csv(block, **options)
                pending.append(frame)
                held += frame.height
                while held >= rows:
                    joined = pl.concat(pending) if len(pending) > 1 else pending[0]
                    batch, rest = joined.slice(0, rows), joined.slice(rows)
                    pending, held = [rest], rest.height
                    yield first, batch
                    first += batch.height
            if held:
                yield first, pl.concat(pending)
        except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
            raise FastReadRefused from exc


# Bytes read at a time by CsvSource.frames (cut back to the last whole record), and the most it holds looking for a
# record's end.
READ_BLOCK_BYTES = 16 << 20
MAX_RECORD_BYTES = 64 << 20

# The GB encodings CsvSource.frames transcodes a block at a time: in them a line end or a quote byte is never part of
# a multi-byte character (their second and later bytes are ≥ 0x30), so blocks are cut on the raw bytes as in UTF-8.
_GB_CODECS = frozenset({"gb2312", "gbk", "gb18030"})


def _codec_name(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return ""


def _record_blocks(path: Path, size: int) -> Iterator[bytes]:
    """The data records of a CSV file (after its one-line header) in blocks of about `size` bytes, each cut after
    the last line end that lies outside quotes: where the number of quote characters since the block's start — a
    record's start — is even (a quoted field's quotes, "" inside it included, come in pairs; a line end inside one
    is data). A record longer than a block makes the block grow until it ends — up to MAX_RECORD_BYTES: beyond,
    FastReadRefused (no real record is that long; a stray quote early in a file would otherwise have the rest of the
    file read into memory)."""
    with open(path, "rb") as fh:
        fh.readline()
        carry = b""
        while chunk := fh.read(size):
            data = carry + chunk
            cut = _last_record_end(data)
            carry = data[cut:]
            if cut:
                yield data[:cut]
            elif len(carry) > MAX_RECORD_BYTES:
                raise FastReadRefused
        if carry:
            yield carry


def _last_record_end(data: bytes) -> int:
    """The offset just after the last line end of `data` outside quotes (0: none), `data` starting a record."""
    before = data.count(b'"')  # quotes before `end`, counted down as the search moves back
    end = len(data)
    while (at := data.rfind(b"\n", 0, end)) >= 0:
        before -= data.count(b'"', at, end)
        if before % 2 == 0:
            return at + 1
        end = at
    return 0


class FastReadRefused(Exception):
    """A CSV file polars' reader does not read exactly as the csv module does (CsvSource.frames)."""


def _fast_readable(path: Path, block: int = 4 << 20) -> bool:
    """Whether nothing in the file makes polars' CSV reader and the csv module disagree on what the records are: a
    header record on one line (no quote), no NUL, no blank line (the csv module counts it as a record, polars skips
    it: the rows' numbers would differ) and no bare CR line end. One pass over the bytes."""
    with open(path, "rb") as fh:
        head = fh.readline()
        if b'"' in head or not head.endswith(b"\n"):
            return False
        context, carry = b"\n", b""  # (the header's line end; a CR that ends a block waits for its LF)
        while chunk := fh.read(block):
            data, carry = carry + chunk, b""
            if data.endswith(b"\r"):
                data, carry = data[:-1], b"\r"
            if b"\x00" in data or data.count(b"\r") != data.count(b"\r\n"):
                return False
            joined = context + data
            if b"\n\n" in joined or b"\n\r\n" in joined:
                return False
            context = joined[-2:]
        if carry:
            return False
    return True


class XlsxSource(Source):
    def __init__(self, path: Path):
        import openpyxl

        self.notes = []
        conf = settings.AGGREGATION
        try:
            with zipfile.ZipFile(path) as zf:
                infos = zf.infolist()
        except zipfile.BadZipFile as exc:
            raise IngestError("不是有效的 XLSX 文件（压缩包损坏）") from exc
        packed = max(sum(i.compress_size for i in infos), 1)
        unpacked = sum(i.file_size for i in infos)
        if unpacked > conf["MAX_XLSX_UNPACKED_BYTES"] or unpacked / packed > conf["MAX_XLSX_RATIO"]:
            raise IngestError(
                f"XLSX 解压后约 {unpacked // (1 << 20)} MB，压缩比 {unpacked // packed}:1，疑似压缩炸弹，已拒绝"
            )
        if not any(i.filename.startswith("xl/worksheets/") for i in infos):
            raise IngestError("不是有效的 XLSX 文件（没有工作表）")
        self.encoding = ""
        try:
            self._wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for broken files
            raise IngestError(f"无法打开 XLSX 文件：{exc.__class__.__name__}") from exc
        sheet = self._wb.worksheets[0]
        self._max_row = sheet.max_row or 0
        self._iter = sheet.iter_rows(values_only=True)
        try:
            header = next(self._iter)
        except StopIteration as exc:
            raise IngestError("文件为空（工作表没有数据）") from exc
        self.columns = [clean_header(h) for h in header]
        while self.columns and not self.columns[-1]:
            self.columns.pop()
        if not any(self.columns):
            raise IngestError("第1行（表头）为空")
        self._seen = 1
        self.notes.append("公式单元格按 Excel 最后保存的计算结果导入；未计算过的公式按空值处理")

    def rows(self) -> Iterator[list]:
        for row in self._iter:
            self._seen += 1
            yield list(row)

    def position(self) -> float:
        return min(self._seen / self._max_row, 1.0) if self._max_row else 0.0

    def close(self) -> None:
        self._wb.close()


class JsonSource(Source):
    """A JSON array of objects or JSON Lines, decoded incrementally (memory flat in file size)."""

    def __init__(self, path: Path, *, encoding: str | None = None):
        self.notes = []
        self.size, sample = _text_sample(path)
        self.encoding = detect_encoding(sample)
        self._fh = open(path, encoding=self.encoding, newline="")  # noqa: SIM115 — closed in close()
        self._objects = self._iter_objects()
        head = []
        for obj in self._objects:
            head.append(obj)
            if len(head) >= 100:
                break
        if not head:
            raise IngestError("JSON 中没有数据行")
        columns: list[str] = []
        for obj in head:
            for k in obj:
                if k not in columns:
                    columns.append(k)
        self.columns = [clean_header(c) for c in columns]
        self._raw_columns = columns
        self._head = head

    def _iter_objects(self) -> Iterator[dict]:
        decoder = json.JSONDecoder()
        buf = ""
        pos = 0
        started = False
        eof = False
        while True:
            # Skip whitespace and separators.
            while True:
                while pos < len(buf) and buf[pos] in " \t\r\n,\ufeff":
                    pos += 1
                if pos < len(buf) or eof:
                    break
                chunk = self._fh.read(1 << 20)
                if not chunk:
                    eof = True
                buf, pos = buf[pos:] + chunk, 0
            if pos >= len(buf):
                return
            if not started and buf[pos] == "[":
                started = True
                pos += 1
                continue
            if buf[pos] == "]":
                return
            try:
                obj, end = decoder.raw_decode(buf, pos)
            except json.JSONDecodeError as exc:
                if eof:
                    raise IngestError(f"JSON 格式错误：{exc.msg}") from exc
                chunk = self._fh.read(1 << 20)
                if not chunk:
                    eof = True
                buf, pos = buf[pos:] + chunk, 0
                continue
            if not isinstance(obj, dict):
                raise IngestError("JSON 的每一行数据应为对象（{\"信息项\": 值}）")
            pos = end
            if pos > (1 << 20):
                buf, pos = buf[pos:], 0
            yield obj

    def rows(self) -> Iterator[list]:
        cols = self._raw_columns
        for obj in self._head:
            yield [obj.get(c) for c in cols]
        self._head = []
        for obj in self._objects:
            yield [obj.get(c) for c in cols]

    def position(self) -> float:
        try:
            return min(self._fh.buffer.tell() / self.size, 1.0)
        except (OSError, ValueError):
            return 0.0

    def close(self) -> None:
        self._fh.close()


def open_source(path: Path, fmt: str, *, encoding: str | None = None) -> Source:
    if fmt == JobFormat.XLSX:
        return XlsxSource(path)
    if fmt == JobFormat.JSON:
        return JsonSource(path, encoding=encoding)
    return CsvSource(path, encoding=encoding)


def read_header(path: Path, fmt: str, *, encoding: str | None = None) -> tuple[list[str], str, list[str]]:
    """(columns, encoding, notes) of a file, or IngestError."""
    source = open_source(path, fmt, encoding=encoding)
    try:
        return source.columns, source.encoding, source.notes
    finally:
        source.close()
