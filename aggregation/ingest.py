"""The ingestion pipeline's mechanics (R13.1): read → map → clean → validate → encrypt → COPY → set-based upsert.

Shape of a load (why it is fast and crash-safe):

1. The file is streamed (never loaded whole): CSV through the csv module over a decoding text stream, XLSX
   through openpyxl's read-only reader, JSON through an incremental array/JSON-Lines decoder.
2. Rows go in batches through `RowProcessor` — cleaning, validation, AES-GCM encryption of the subject key
   and personal items, their masked forms (Record.masked), blind index and row digest — and come back as
   ready-made COPY text plus the rejections.
   A large CSV file is read by several processes, each taking byte ranges of it (aggregation.parallel), while
   this process COPYs what they return in file order.
3. Accepted rows are COPYed into a session-local TEMP table (not WAL-logged). Duplicate keys in the file are
   removed there (the last occurrence wins).
4. One transaction (`upsert_from_stage`, called by the finishing service) runs two set-based statements: an
   UPDATE of the changed keys (picked by a join on the row digest) whose RETURNING feeds their history rows, then
   an INSERT … SELECT of the new keys whose RETURNING feeds theirs. Unchanged rows are not touched,
   so a re-run after a crash changes nothing twice; a crash before the commit leaves nothing behind.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import hmac
import io
import itertools
import json
import os
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from charset_normalizer import from_bytes
from django.conf import settings
from django.db import connection

from security.crypto import DecryptionError, FieldCipher, is_encrypted
from security.masking import item_mask_kind, mask, mask_many, sensitivity_of

from .choices import JobFormat, KeyKind
from .validation import HALF_WIDTH, converter, memoised

BATCH_ROWS = 4000
SAMPLE_BYTES = 1 << 20
STAGE_COLUMNS = "row_no, key_hash, key_enc, data, masked, row_hash"


class IngestError(Exception):
    """The file cannot be read at all (encoding, format, empty, zip bomb …); the message is for people."""


# --------------------------------------------------------------------------------------------------
# The plan: what a dataset's rows must look like (picklable: worker processes receive it)


@dataclass(frozen=True)
class ItemSpec:
    name: str
    data_type: str
    length: int | None
    is_key: bool
    encrypt: bool
    mask_kind: str | None = None  # security.masking.item_mask_kind: the stored masked form's kind


@dataclass
class Plan:
    dataset_id: int
    key_item: str
    key_kind: str
    items: list[ItemSpec]
    keys_spec: str = ""
    blind_key: str = ""

    @property
    def by_name(self) -> dict[str, ItemSpec]:
        return {i.name: i for i in self.items}


def encrypted_item_names(items: Iterable) -> list[str]:
    """The subject key plus every item judged personal by its name (security.masking.sensitivity_of)."""
    names = []
    for item in items:
        if item.is_subject_key or sensitivity_of(item.name, item.data_type):
            names.append(item.name)
    return names


def item_specs(items: Iterable, *, key_kind: str, encrypted_items: Iterable[str]) -> list[ItemSpec]:
    """The ItemSpecs of catalog data items (anything with name, data_type, length and is_subject_key)."""
    items = list(items)
    encrypted = set(encrypted_items) | set(encrypted_item_names(items))
    return [
        ItemSpec(i.name, i.data_type, i.length, bool(i.is_subject_key), i.name in encrypted,
                 item_mask_kind(i.name, i.data_type, encrypted=i.name in encrypted,
                                key_kind=key_kind if i.is_subject_key else None))
        for i in items
    ]


def plan_for(dataset) -> Plan:
    """The current data items of the dataset's entry as a Plan (the catalog is the schema, R11.1)."""
    specs = item_specs(dataset.entry.items.order_by("position"), key_kind=dataset.key_kind,
                       encrypted_items=dataset.encrypted_items)
    return Plan(
        dataset_id=dataset.pk,
        key_item=dataset.key_item_name,
        key_kind=dataset.key_kind,
        items=specs,
        keys_spec=settings.FIELD_ENCRYPTION_KEYS,
        blind_key=settings.BLIND_INDEX_KEY,
    )


def mask_kinds_of(specs: Iterable[ItemSpec]) -> dict[str, str]:
    """{item: masking kind} of the items whose masked forms the pipeline stores (Record.masked)."""
    return {i.name: i.mask_kind for i in specs if i.mask_kind}


def masked_forms(data: dict, kinds: dict[str, str], cipher: FieldCipher) -> dict[str, dict[str, str]]:
    """A stored row's masked forms, {kind: {item: masked}} — what RowProcessor writes with the row, computed from
    the stored values (tokens decrypted; a token that does not authenticate has none): for rows stored before
    masked forms were (migration 0006), or after a catalog update changed an item's kind (`remask`)."""
    out: dict[str, dict[str, str]] = {}
    for name, kind in kinds.items():
        value = data.get(name)
        if value is None or value == "":
            continue
        text = str(value)  # as sharing.data_api.RowRenderer
        if is_encrypted(text):
            try:
                text = cipher.decrypt(text)
            except DecryptionError:
                continue
        out.setdefault(kind, {})[name] = mask(text, kind)
    return out


def remask(dataset_id: int, kinds: dict[str, str], *, batch: int = 2000) -> int:
    """Recompute the stored masked forms of a dataset's records for the items' masking `kinds` (mask_kinds_of);
    the number of rows whose forms changed. Each batch is read and written holding the dataset's row locked, as a
    load does, so no load writes a batch's rows between the read and the write."""
    from django.db import transaction

    cipher = FieldCipher(settings.FIELD_ENCRYPTION_KEYS, settings.BLIND_INDEX_KEY)
    changed = 0
    last = 0
    while True:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SELECT 1 FROM aggregation_dataset WHERE id = %s FOR UPDATE", [dataset_id])
            cur.execute("SELECT id, data, masked FROM aggregation_record WHERE dataset_id = %s AND id > %s "
                        "ORDER BY id LIMIT %s", [dataset_id, last, batch])
            rows = cur.fetchall()
            if not rows:
                return changed
            last = rows[-1][0]
            updates = []
            for rid, data, stored in rows:
                data = json.loads(data) if isinstance(data, str) else data
                stored = json.loads(stored) if isinstance(stored, str) else stored
                forms = masked_forms(data, kinds, cipher)
                if forms != stored:
                    updates.append((rid, json.dumps(forms, ensure_ascii=False)))
            if updates:
                cur.execute("UPDATE aggregation_record r SET masked = u.masked::jsonb "
                            "FROM unnest(%s::bigint[], %s::text[]) AS u(id, masked) WHERE r.id = u.id",
                            [[u[0] for u in updates], [u[1] for u in updates]])
                changed += len(updates)


def row_digest(cipher: FieldCipher, plain: dict[str, str]) -> bytes:
    """Keyed digest of a row's plain values (sorted by item name; empty values are absent)."""
    payload = "\x1e".join(f"{k}\x1f{plain[k]}" for k in sorted(plain))
    return cipher.digest(payload.encode())


# --------------------------------------------------------------------------------------------------
# Row processing


@dataclass
class BatchResult:
    copy_text: str
    accepted: int
    rejections: list[tuple[int, str, str, str]] = field(default_factory=list)  # row, column, value, reason
    rows: int = 0


_CONVERTED_TYPES = frozenset("DTNYBFIL")


def _plain_json(text: str) -> bool:
    """Whether `text` can go between JSON quotes as it is (no quote, backslash or control character)."""
    return '"' not in text and "\\" not in text and text.isprintable()


class RowProcessor:
    """Cleans, validates and encrypts rows of one file: `mapping` says which column holds which item.

    This is the pipeline's CPU budget (≈17 µs a row for a 12-item 人口 row with 4 encrypted values, measured):
    a batch is processed column by column, values are only translated when not ASCII, the stored JSON is
    assembled from pre-escaped names, nonces come from a counter (FieldCipher.bulk_encryptor), the row digest
    is keyed BLAKE2b.
    """

    def __init__(self, plan: Plan, columns: list[str], mapping: dict[str, str]):
        self.plan = plan
        self.cipher = FieldCipher(plan.keys_spec, plan.blind_key)
        by_name = plan.by_name
        slots = []
        key_slot = None
        for index, column in enumerate(columns):
            item_name = mapping.get(column)
            spec = by_name.get(item_name) if item_name else None
            if spec is None:
                continue
            kind = plan.key_kind if spec.is_key else None
            # Plain text items are checked inline (length only); others through their converter.
            plain_text = spec.data_type not in _CONVERTED_TYPES and not spec.is_key
            check = None if plain_text else converter(spec.data_type, spec.length, key_kind=kind)
            if check is not None and spec.data_type in ("D", "T") and not spec.is_key:
                check = memoised(check)  # pure, and dates repeat a lot
            slot = (index, column, spec.name, json.dumps(spec.name, ensure_ascii=False) + ":", check, spec.encrypt,
                    spec.length or 0, spec.mask_kind)
            if spec.is_key:
                key_slot = slot
            else:
                slots.append(slot)
        if key_slot is None:
            raise IngestError(f"未指定主体标识“{plan.key_item}”所在的列")
        # Digest order = item-name order, so it does not depend on the file's column order.
        self.key_slot = key_slot
        self.slots = sorted(slots, key=lambda s: s[2])
        self.key_position = sum(1 for s in self.slots if s[2] < key_slot[2])
        self.width = len(columns)
        self._encrypt = None
        self.pretranslated = False

    def process(self, first_row_no: int, rows: list[list]) -> BatchResult:
        """Column at a time (list comprehensions over a batch run the interpreter loop far less than a
        row-by-row loop with a dozen values each), then one pass to assemble the COPY lines."""
        if self._encrypt is None:  # created lazily: each worker process draws its own nonce field
            self._encrypt = self.cipher.bulk_encryptor()
        encrypt_many = self._encrypt.many
        blind_key = self.cipher.blind_key
        hmac_digest = hmac.digest
        blake2b = hashlib.blake2b
        half = HALF_WIDTH
        width = self.width
        rows = [r if len(r) == width else [*r[:width], *([None] * (width - len(r)))] for r in rows]
        if not rows:
            return BatchResult("", 0, [], 0)
        cols = list(zip(*rows, strict=True))
        blank = {i for i, r in enumerate(rows) if not any(r)}
        problems: list[tuple[int, int, str, str, str]] = []  # row index, column index, column, value, reason
        bad = set(blank)

        if self.pretranslated:
            def clean(col):
                return [v.strip() if v.__class__ is str else "" if v is None else _cell_text(v).strip() for v in col]
        else:
            def clean(col):
                return [
                    (v if v.isascii() else v.translate(half)).strip() if v.__class__ is str
                    else ("" if v is None else _cell_text(v).translate(half).strip())
                    for v in col
                ]

        key_index, key_column, key_name, key_json, key_check, _enc, _len, key_mask = self.key_slot
        raw_keys = cols[key_index]
        key_texts = clean(raw_keys)
        numeric_key = self.plan.key_kind != KeyKind.OTHER
        for i, (raw, text) in enumerate(zip(raw_keys, key_texts, strict=True)):
            if i in blank:
                continue
            if not text:
                problems.append((i, key_index, key_column, "", "主体标识不能为空"))
            elif numeric_key and raw.__class__ in (float, int):
                problems.append((i, key_index, key_column, text,
                                 "主体标识是数字而不是文本，可能已丢失精度或末位 X；请将该列设为文本后重新导出"))
            else:
                text, problem = key_check(text)
                key_texts[i] = text
                if problem:
                    problems.append((i, key_index, key_column, text, problem))

        piece_cols = []
        part_cols = []
        masked_cols: dict[str, list[tuple]] = {}  # masking kind → (name_json, texts, masked texts) of its items
        for index, column, name, name_json, check, enc, length, kind in self.slots:
            texts = clean(cols[index])
            if check is None:
                if length and max(map(len, texts), default=0) > length:  # one C pass; the loop only when needed
                    for i, t in enumerate(texts):
                        if len(t) > length:
                            problems.append((i, index, column, t, f"长度 {len(t)} 超过信息项长度 {length}"))
            else:
                results = [check(t) if t else None for t in texts]
                texts = [r[0] if r else "" for r in results]
                for i, r in enumerate(results):
                    if r and r[1]:
                        problems.append((i, index, column, r[0], r[1]))
            prefix = name + "\x1f"
            part_cols.append([prefix + t if t else None for t in texts])
            if kind:
                masked_cols.setdefault(kind, []).append((name_json, texts, mask_many(texts, kind)))
            if enc:
                piece_cols.append([name_json + '"' + e + '"' if e else None for e in encrypt_many(texts)])
            else:
                piece_cols.append(_json_pieces(name_json, texts, texts))
        bad.update(p[0] for p in problems)
        key_encs = encrypt_many([None if i in bad else t for i, t in enumerate(key_texts)] if bad else key_texts)
        piece_cols.append([key_json + '"' + e + '"' if e else None for e in key_encs])
        key_prefix = key_name + "\x1f"
        part_cols.insert(self.key_position, [key_prefix + t for t in key_texts])
        if key_mask:
            masked_cols.setdefault(key_mask, []).append((key_json, key_texts, mask_many(key_texts, key_mask)))
        # (`repeat` never ends: the loop below zips it with strict=False)
        masked = zip(*_masked_columns(masked_cols), strict=True) if masked_cols else itertools.repeat(())

        out: list[str] = []
        append = out.append
        rs = "\x1e"
        for i, pieces, parts, masks in zip(range(len(rows)), zip(*piece_cols, strict=True),
                                           zip(*part_cols, strict=True), masked, strict=False):
            if i in bad:
                continue
            data = "{" + ",".join(filter(None, pieces)) + "}"
            if "\\" in data:  # a JSON escape: COPY's text format doubles backslashes
                data = data.replace("\\", "\\\\")
            masks = "{" + ",".join(filter(None, masks)) + "}"
            if "\\" in masks:
                masks = masks.replace("\\", "\\\\")
            digest = blake2b(rs.join(filter(None, parts)).encode(), key=blind_key, digest_size=32).hexdigest()
            key_hash = hmac_digest(blind_key, key_texts[i].upper().encode(), "sha256").hex()
            append(f"{first_row_no + i}\t\\\\x{key_hash}\t{key_encs[i]}\t{data}\t{masks}\t\\\\x{digest}\n")
        problems.sort(key=lambda p: (p[0], p[1]))
        rejections = [(first_row_no + i, column, value, reason) for i, _c, column, value, reason in problems]
        return BatchResult("".join(out), len(out), rejections, len(rows) - len(blank))


def _json_pieces(name_json: str, texts: list[str], values: list[str], tail: str = "") -> list[str | None]:
    """`"name":"value"` + tail for each value whose text is not empty (None for the others), JSON-escaped where
    needed."""
    if _plain_json("".join(values)):  # the whole column needs no escaping (checked in one pass)
        if values is texts and not tail:  # a clear item's own values (most columns of a load)
            return [name_json + '"' + t + '"' if t else None for t in texts]
        return [name_json + '"' + v + '"' + tail if t else None for t, v in zip(texts, values, strict=True)]
    # PostgreSQL's jsonb refuses \u0000; other control characters are escaped by dumps.
    return [(name_json + ('"' + v + '"' if _plain_json(v) else json.dumps(v.replace("\x00", ""), ensure_ascii=False))
             + tail) if t else None for t, v in zip(texts, values, strict=True)]


def _masked_columns(columns: dict[str, list[tuple]]) -> list[list[str | None]]:
    """The stored masked forms (Record.masked, {kind: {item: masked}}) as one column of `"kind":{…}` pieces per
    kind (None where a row has no value of that kind), from each kind's (name_json, texts, masked texts)."""
    out = []
    for kind, items in columns.items():
        head = json.dumps(kind) + ":{"
        if len(items) == 1:  # the usual case: one piece per value
            name_json, texts, values = items[0]
            out.append(_json_pieces(head + name_json, texts, values, "}"))
        else:
            pieces = [_json_pieces(*item) for item in items]
            out.append([head + ",".join(filter(None, ps)) + "}" if any(ps) else None
                        for ps in zip(*pieces, strict=True)])
    return out


def _cell_text(value) -> str:
    """An XLSX/JSON cell as text: dates ISO, whole floats without ".0", booleans 是/否."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def batched(rows: Iterator[list], *, first_row_no: int, size: int = BATCH_ROWS) -> Iterator[tuple[int, list[list]]]:
    batch: list[list] = []
    start = first_row_no
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield start, batch
            start += len(batch)
            batch = []
    if batch:
        yield start, batch


# --------------------------------------------------------------------------------------------------
# Reading files


_GB_FAMILY = {"gbk", "gb2312", "gb18030", "cp936", "hz", "hz_gb_2312", "hz-gb-2312", "euc_cn", "big5", "cp950"}


def detect_encoding(sample: bytes) -> str:
    """utf-8-sig when there is a BOM, utf-8 when the sample decodes, else charset-normalizer's guess.

    GBK and GB2312 guesses become GB18030 (their superset: what Excel in China writes, plus rare characters
    in names). UTF-16 with BOM is honoured (Excel's "Unicode text").
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is not an error.
        if exc.start >= len(sample) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"
    try:
        sample.decode("gb18030")
        return "gb18030"  # Chinese office files: prefer GB18030 whenever it decodes cleanly
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 1:
            return "gb18030"
    best = from_bytes(sample[:65536]).best()
    if best is None:
        raise IngestError("无法识别文件编码（不是文本文件？）")
    name = best.encoding.lower()
    return "gb18030" if name in _GB_FAMILY or name.startswith("gb") else name


def sniff_format(path: Path, original_name: str) -> str:
    """csv / xlsx / json by content (a renamed file is judged by what it is), falling back to the name."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    suffix = Path(original_name).suffix.lower()
    if head.startswith(b"PK\x03\x04"):
        return JobFormat.XLSX
    if suffix == ".xlsx":
        if not head:
            raise IngestError("文件为空")
        raise IngestError("文件扩展名为 .xlsx，但内容不是 XLSX 工作簿")
    if suffix == ".json" or suffix == ".jsonl":
        return JobFormat.JSON
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"[", b"{")):
        return JobFormat.JSON
    return JobFormat.CSV


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


def decoding_error(line: int, encoding: str) -> IngestError:
    """A CSV file that stops decoding near `line` (read by one process or by aggregation.parallel)."""
    return IngestError(f"文件在第 {line} 行附近无法按 {encoding} 解码：文件中混有不同编码的内容")


def csv_error(line: int, problem: str) -> IngestError:
    return IngestError(f"CSV 格式错误（第 {line} 行附近）：{problem}")


class CsvSource(Source):
    def __init__(self, path: Path, *, encoding: str | None = None):
        self.notes = []
        self.size = path.stat().st_size
        if self.size == 0:
            raise IngestError("文件为空")
        with open(path, "rb") as fh:
            sample = fh.read(SAMPLE_BYTES)
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
        self.size = path.stat().st_size
        if self.size == 0:
            raise IngestError("文件为空")
        with open(path, "rb") as fh:
            sample = fh.read(SAMPLE_BYTES)
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


_HEADER_NOISE = re.compile(r"[\s\ufeff*＊:：]+")


def clean_header(value) -> str:
    if value is None:
        return ""
    return _HEADER_NOISE.sub("", str(value).translate(HALF_WIDTH)).strip()


def _loose(name: str) -> str:
    return re.sub(r"[\s()（）\[\]【】_\-—·.]", "", name).lower()


def auto_mapping(columns: list[str], item_names: list[str]) -> dict[str, str]:
    """Columns whose header names an item (exactly, or ignoring brackets, spaces and case) → that item."""
    exact = {n: n for n in item_names}
    loose = {_loose(n): n for n in item_names}
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for col in columns:
        name = exact.get(col) or loose.get(_loose(col))
        if name and name not in used:
            mapping[col] = name
            used.add(name)
    return mapping


def read_header(path: Path, fmt: str, *, encoding: str | None = None) -> tuple[list[str], str, list[str]]:
    """(columns, encoding, notes) of a file, or IngestError."""
    source = open_source(path, fmt, encoding=encoding)
    try:
        return source.columns, source.encoding, source.notes
    finally:
        source.close()


# --------------------------------------------------------------------------------------------------
# Staging and the set-based upsert


_IDENT = re.compile(r"^agg_[a-z]+_[0-9a-f]+$")


def stage_create(cursor, name: str, *, on_commit_drop: bool = False) -> None:
    """The stage table. `data` is the row's JSON as text: it is parsed into jsonb by the UPDATE/INSERT, i.e. only for
    the rows that are written — a daily re-load whose rows are mostly unchanged no longer parses them all."""
    if not _IDENT.match(name):
        raise ValueError(f"bad stage table name {name!r}")
    cursor.execute(f"DROP TABLE IF EXISTS {name}")
    cursor.execute(
        f"CREATE TEMP TABLE {name} (row_no bigint NOT NULL, key_hash bytea NOT NULL, key_enc text NOT NULL, "
        f"data text NOT NULL, masked text NOT NULL, row_hash bytea NOT NULL)"
        + (" ON COMMIT DROP" if on_commit_drop else "")
    )


def stage_dedupe(cursor, name: str) -> int:
    """Remove all but the last occurrence of each key; returns how many rows were dropped."""
    cursor.execute(f"ANALYZE {name}")
    # `name` is our own identifier (stage_create checks it).
    dups = f"SELECT key_hash, max(row_no) AS keep FROM {name} GROUP BY key_hash HAVING count(*) > 1"  # noqa: S608
    delete = f"WITH dups AS ({dups}) DELETE FROM {name} s USING dups d WHERE s.key_hash = d.key_hash"  # noqa: S608
    cursor.execute(delete + " AND s.row_no <> d.keep")
    return cursor.rowcount or 0


# Two statements in the caller's transaction (the caller holds the dataset row locked, so no other writer can
# slip in between; a racing INSERT without that lock would hit the unique index and fail the whole job):
#
# 1. UPDATE_SQL — keys that exist and changed (or were soft-deleted): the changed rows are picked by a join on
#    the row digest first (unchanged rows are never locked, dirtied or WAL-logged), updated, and their history row
#    (before = prior data, after = new data, both as stored) is written from the UPDATE's RETURNING.
# 2. INSERT_SQL — keys that do not exist yet: a plain INSERT … SELECT … WHERE NOT EXISTS, whose RETURNING id feeds
#    the history INSERT. A bulk load's insert history row does not copy the row (`after` is NULL): it references the
#    inserted version, which is the record's version 1 — the `before` of the record's next history row, or the
#    record itself while there is none (selectors.history_rows resolves it; record_integrity checks it against the
#    keyed row digest written in the same statement). That halves what a first load writes. Small upserts
#    (records_upsert: pushes, corrections) still copy it (`copy_inserts`).
#
# Measured on 1 M staged rows (first load): the former single INSERT … ON CONFLICT … RETURNING r.data → JOIN src →
# history statement took 29.6 s (materialised 1 M-row CTE joined back to a 1 M-row RETURNING with each row's
# JSONB); these two take ≈ 11 s, of which ≈ 7 s is the record INSERT into its indexes.
UPDATE_SQL = """
WITH chg AS MATERIALIZED (
    SELECT r.id, r.data AS prior_data, s.key_enc, s.data::jsonb AS data, s.masked::jsonb AS masked, s.row_hash
      FROM {stage} s
      JOIN aggregation_record r ON r.dataset_id = %(ds)s AND r.key_hash = s.key_hash
     WHERE r.row_hash IS DISTINCT FROM s.row_hash OR r.deleted_at IS NOT NULL
), up AS (
    UPDATE aggregation_record r
       SET key_enc = c.key_enc, data = c.data, masked = c.masked, row_hash = c.row_hash, version = r.version + 1,
           updated_at = %(now)s, deleted_at = NULL
      FROM chg c
     WHERE r.id = c.id
    RETURNING r.id, c.prior_data, r.data
), hist AS (
    INSERT INTO aggregation_recordhistory (record_id, dataset_id, op, before, after, actor_id, job_id, reason,
                                           changed_at)
    SELECT id, %(ds)s, 'update', prior_data, data, %(actor)s, %(job)s, %(reason)s, %(now)s FROM up
    RETURNING record_id, id, op
)
{select}
"""

INSERT_SQL = """
WITH ins AS (
    INSERT INTO aggregation_record (dataset_id, key_hash, key_enc, data, masked, row_hash, version, created_at,
                                    updated_at)
    SELECT %(ds)s, s.key_hash, s.key_enc, s.data::jsonb, s.masked::jsonb, s.row_hash, 1, %(now)s, %(now)s
      FROM {stage} s
    {new_keys_only}
     ORDER BY s.key_hash  -- in index order: the unique index's pages fill one after the other, not at random
    RETURNING id{ins_data}
), hist AS (
    INSERT INTO aggregation_recordhistory (record_id, dataset_id, op, before, after, actor_id, job_id, reason,
                                           changed_at)
    SELECT id, %(ds)s, 'insert', NULL, {ins_after}, %(actor)s, %(job)s, %(reason)s, %(now)s FROM ins
    RETURNING record_id, id, op
)
{select}
"""

# Keys of the stage that the dataset does not hold yet; left out when the dataset holds no record at all (a first
# load): the anti-join then finds nothing and cost ≈ 14 % of a first load's write (2.8 of 20.3 s per million rows).
_NEW_KEYS_ONLY = (
    "WHERE NOT EXISTS (SELECT 1 FROM aggregation_record r WHERE r.dataset_id = %(ds)s AND r.key_hash = s.key_hash)"
)
_COUNT = "SELECT count(*) FROM hist"
_CHANGES = "SELECT record_id, id, op FROM hist"


def upsert_from_stage(cursor, stage: str, *, dataset_id: int, actor_id, job_id, reason: str, now,
                      changes: bool = False, copy_inserts: bool = False):
    """(inserted, updated) — or, with `changes`, the list of (record_id, history_id, op) ordered by record id.

    Two statements (UPDATE_SQL, then INSERT_SQL; into a dataset that holds no record yet, the INSERT alone and without
    its anti-join); run them inside the caller's transaction, with the dataset locked.
    `copy_inserts`: an insert's history row copies the row into `after` (small upserts: pushes, corrections);
    without it, it references the inserted version (bulk loads; see above).
    """
    if not _IDENT.match(stage):
        raise ValueError(f"bad stage table name {stage!r}")
    cursor.execute("SELECT set_config('work_mem', %s, true)", [settings.AGGREGATION.get("INGEST_WORK_MEM", "256MB")])
    params = {"ds": dataset_id, "actor": actor_id, "job": job_id, "reason": reason, "now": now}
    select = _CHANGES if changes else _COUNT
    cursor.execute("SELECT EXISTS (SELECT 1 FROM aggregation_record WHERE dataset_id = %s)", [dataset_id])
    holds_records = cursor.fetchone()[0]

    def run(sql: str):
        cursor.execute(sql.format(stage=stage, select=select, ins_data=", data" if copy_inserts else "",
                                  ins_after="data" if copy_inserts else "NULL",
                                  new_keys_only=_NEW_KEYS_ONLY if holds_records else ""), params)
        return cursor.fetchall() if changes else int(cursor.fetchone()[0])

    updated = run(UPDATE_SQL) if holds_records else ([] if changes else 0)  # nothing to update in an empty dataset
    inserted = run(INSERT_SQL)
    if changes:
        return sorted(updated + inserted)
    return inserted, updated


def copy_into(cursor, stage: str):
    """A COPY context for the stage table (text format), writing what RowProcessor produced."""
    return cursor.copy(f"COPY {stage} ({STAGE_COLUMNS}) FROM STDIN")


class StageWriter:
    """COPY into the stage table in segments: `pause()` ends the running COPY so the same connection can
    write the job's progress between segments (a connection in COPY mode accepts nothing else)."""

    def __init__(self, cursor, stage: str):
        self.cursor = cursor
        self.stage = stage
        self._cm = None
        self._copy = None

    def write(self, text: str) -> None:
        if self._copy is None:
            self._cm = copy_into(self.cursor, self.stage)
            self._copy = self._cm.__enter__()
        self._copy.write(text)

    def pause(self) -> None:
        if self._cm is not None:
            cm, self._cm, self._copy = self._cm, None, None
            cm.__exit__(None, None, None)

    def abort(self, exc: BaseException) -> None:
        if self._cm is not None:
            cm, self._cm, self._copy = self._cm, None, None
            cm.__exit__(type(exc), exc, exc.__traceback__)


def raw_cursor():
    """The psycopg cursor under Django's connection (COPY needs it)."""
    connection.ensure_connection()
    return connection.connection.cursor()


def worker_count(size: int) -> int:
    """Processes for a CSV file of `size` bytes (aggregation.parallel): AGGREGATION["INGEST_WORKERS"], 0 = one per
    core; files under AGGREGATION["INGEST_PARALLEL_MIN_BYTES"] are read by the job's own process (starting a
    parser process costs about a second)."""
    wanted = int(settings.AGGREGATION.get("INGEST_WORKERS", 0)) or os.cpu_count() or 1
    # Measured on session 5's 2-core box (read phase, 1 process vs 2): 10 MB 2.0–2.2 s vs 2.1–2.5 s, 34 MB 6.5–7.2 s
    # vs 4.9–5.6 s; hence the default of 16 MB.
    if size < settings.AGGREGATION["INGEST_PARALLEL_MIN_BYTES"] or wanted <= 1:
        return 1
    return wanted
