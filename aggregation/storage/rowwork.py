"""The per-row work of the resource-table writer (issue 18), on polars batches: the blind index and row digest of
each row (`hashed`), one token per row, the masked forms and the CSV lines COPY takes (`csv_lines`), and a first
load's whole work on a batch (`first_load_work`). storage.writing runs it in its producer thread, storage.preparing in
worker processes — one definition, the same bytes. Nothing here touches the database.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import re
import tempfile
from dataclasses import dataclass

import polars as pl
from psycopg import sql

from security.crypto import FieldCipher, normalise
from security.masking import mask_column

from ..ingest.encryption import row_digests

# SQL types of the typed columns (storage contract: catalog data type → column type).
SQL_TYPES = frozenset({"text", "date", "timestamp", "bigint", "numeric", "boolean"})
_TABLE = re.compile(r"^pool\.r[0-9]+$")
_PLAIN_COLUMN = re.compile(r"^c[0-9]+$")
_MASK_COLUMN = re.compile(r"^m[0-9]+$")
_RESERVED = frozenset({"row_no", "id", "key_hash", "row_hash"})

@dataclass(frozen=True)
class Column:
    """One item of a resource table: its plain column c<n> (None when encrypted: the value lives in the row's
    token), its SQL type, and its masked column m<n> with the masking kind (both None when it has none)."""

    item: str
    column: str | None
    sql_type: str
    encrypted: bool
    mask: str | None = None
    mask_kind: str | None = None

    def __post_init__(self):
        if self.encrypted != (self.column is None):
            raise ValueError(f"{self.item}: an encrypted item has no plain column, a plain item has one")
        if self.column is not None and not _PLAIN_COLUMN.match(self.column):
            raise ValueError(f"{self.item}: bad column {self.column!r}")
        if self.sql_type not in SQL_TYPES:
            raise ValueError(f"{self.item}: bad SQL type {self.sql_type!r}")
        if (self.mask is None) != (self.mask_kind is None) or (self.mask and not _MASK_COLUMN.match(self.mask)):
            raise ValueError(f"{self.item}: a masked column needs its kind (and the other way round)")


@dataclass(frozen=True)
class Target:
    """Where a batch goes: the table `pool.r<dataset_id>`, the subject key's item and the items written, each with
    its column (the layout module produces it from Dataset.columns). Items of the table that are not listed here
    (retired ones) are left as stored."""

    dataset_id: int
    table: str
    key_item: str
    columns: tuple[Column, ...]

    def __post_init__(self):
        if not _TABLE.match(self.table):
            raise ValueError(f"bad table name {self.table!r}")
        names = [c.item for c in self.columns]
        if len(set(names)) != len(names) or self.key_item not in names:
            raise ValueError("items must be unique and include the key item")
        if set(names) & _RESERVED:
            raise ValueError(f"item names may not be {sorted(_RESERVED)} (the writer's own columns)")
        used = [c.column for c in self.columns if c.column] + [c.mask for c in self.columns if c.mask]
        if len(set(used)) != len(used):
            raise ValueError("a column is used twice")

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(*self.table.split("."))


def check_columns(target: Target, batch: pl.DataFrame) -> None:
    missing = [c.item for c in target.columns if c.item not in batch.columns]
    if "row_no" not in batch.columns or missing:
        raise ValueError(f"batch lacks columns: {['row_no', *missing] if 'row_no' not in batch.columns else missing}")


def hashed(target: Target, batch: pl.DataFrame, hasher: Hasher, seen: Keys) -> pl.DataFrame:
    """The batch as Utf8 columns ("" for empty) in row order, with its rows' key_hash and row_hash; a key given
    more than once keeps its last row (all occurrences are noted in `seen` for the report)."""
    check_columns(target, batch)
    # (fill_null copies a column: only where there is a null)
    batch = batch.select(pl.col("row_no").cast(pl.Int64), *(
        pl.col(c.item).cast(pl.Utf8).fill_null("") if batch[c.item].null_count() else pl.col(c.item).cast(pl.Utf8)
        for c in target.columns))
    if not batch.height:
        return batch.with_columns(pl.lit(None, dtype=pl.Binary).alias("key_hash"),
                                  pl.lit(None, dtype=pl.Binary).alias("row_hash"))
    if not batch["row_no"].is_sorted():
        batch = batch.sort("row_no")
    keys = batch[target.key_item]
    if (keys.str.strip_chars() == "").any():
        raise ValueError("a row has an empty key (validation should have rejected it)")
    batch = batch.with_columns(pl.Series("key_hash", hasher.blind(keys), dtype=pl.Binary))
    seen.add(batch)
    if batch["key_hash"].is_duplicated().any():
        batch = batch.filter(pl.col("key_hash").is_last_distinct())
    names = [c.item for c in target.columns]
    return batch.with_columns(pl.Series("row_hash", row_digests(hasher.cipher, batch.select(names)),
                                        dtype=pl.Binary))


class Hasher:
    """The blind index of many keys: normalised by polars when they are printable ASCII (where its strip and
    upper-case are Python's), and HMAC-SHA256 from the key's inner and outer states computed once (RFC 2104, the
    bytes of hmac.digest; 1.4 → 0.6 µs a key)."""

    def __init__(self, cipher: FieldCipher):
        self.cipher = cipher
        key = cipher.blind_key if len(cipher.blind_key) <= 64 else hashlib.sha256(cipher.blind_key).digest()
        key = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key)).copy
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key)).copy

    def blind(self, keys: pl.Series) -> list[bytes]:
        if keys.str.contains(r"[^\x20-\x7E]").any():
            texts = [normalise(k).encode() for k in keys.to_list()]
        else:
            texts = keys.str.strip_chars(" ").str.to_uppercase().cast(pl.Binary).to_list()
        inner, outer = self._inner, self._outer
        out = []
        append = out.append
        for text in texts:
            i = inner()
            i.update(text)
            o = outer()
            o.update(i.digest())
            append(o.digest())
        return out


class Spilled:
    """Frames written to Arrow IPC files in a temporary directory as they come and read back as one LazyFrame: state
    that grows with the file held on disk, not in memory (a load's every key hash and row number, the keys of the
    duplicate report: ≈ 110 bytes a row given together, measured as the RSS of 1 M against 2 M rows, issue 18)."""

    def __init__(self, prefix: str = "pool-spill-"):
        self._dir = tempfile.TemporaryDirectory(prefix=prefix)
        self._paths: list[str] = []

    def append(self, frame: pl.DataFrame) -> None:
        if frame.height:
            path = os.path.join(self._dir.name, f"{len(self._paths):06d}.arrow")
            frame.write_ipc(path)
            self._paths.append(path)

    def scan(self) -> pl.LazyFrame | None:
        """Every frame appended, in order (None when none was)."""
        return pl.scan_ipc(self._paths) if self._paths else None

    def close(self) -> None:
        self._dir.cleanup()

    def __enter__(self) -> Spilled:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Keys:
    """(key_hash, row_no) of every row given, to report keys given more than once — within a batch and across
    batches — and to find, after a first load, the earlier rows of a key given in two batches. In memory (`parts`,
    ≈ 50 bytes a row: a batch's, in the worker processes) or, with `spill`, on disk (a whole load's)."""

    def __init__(self, *, spill: bool = False):
        self.parts: list[pl.DataFrame] = []
        self._spilled = Spilled("pool-keys-") if spill else None
        self._given = 0

    def add(self, batch: pl.DataFrame) -> None:
        part = batch.select("key_hash", "row_no", pl.lit(self._given, dtype=pl.Int32).alias("part"))
        self._given += 1
        if self._spilled is not None:
            self._spilled.append(part)
        else:
            self.parts.append(part)

    def duplicates(self) -> tuple[list[list[int]], list[bytes]]:
        """Each key given more than once: its row numbers in order; and the keys given in more than one batch."""
        rows = self._spilled.scan() if self._spilled is not None else (
            pl.concat(self.parts).lazy() if self.parts else None)
        if rows is None:
            return [], []
        dup = rows.filter(pl.col("key_hash").is_duplicated()).collect()
        if not dup.height:
            return [], []
        groups = dup.group_by("key_hash").agg(pl.col("row_no").sort(), pl.col("part").n_unique().alias("parts"))
        groups = groups.sort(pl.col("row_no").list.first())
        return groups["row_no"].to_list(), groups.filter(pl.col("parts") > 1)["key_hash"].to_list()

    def close(self) -> None:
        if self._spilled is not None:
            self._spilled.close()


def first_load_work(target: Target, cipher: FieldCipher):
    """The per-row work of a first load's batch, as a function batch → (rows to write, the (key_hash, row_no) of
    every row given — None for an empty batch —, the CSV lines to COPY: key_hash and written_columns): the blind
    index and row digest, one token per row, the masked forms. Run by the producer thread, or by the worker processes
    of storage.preparing (the same function: the same bytes)."""
    hasher = Hasher(cipher)
    encrypt_many = cipher.bulk_encryptor().many

    def work(batch: pl.DataFrame):
        given = Keys()
        batch = hashed(target, batch, hasher, given)
        data = b""
        if batch.height:
            data = csv_lines(target, batch, encrypt_many, lead=(hex_text("key_hash"),))
        return batch.height, (given.parts[0] if given.parts else None), data

    return work


def reload_work(target: Target, cipher: FieldCipher, *, spill: str, name: str):
    """The first pass of a reload over a batch, as a function batch → (rows compared, the (key_hash, row_no) of every
    row given — None for an empty batch —, the (row_no, key_hash, row_hash) CSV lines of the digest table's COPY,
    the path of the hashed batch spilled as Arrow IPC under `spill` — None when empty). `name` makes the spill files
    of this process's batches unique. Run by the writer's producer thread or by storage.preparing's workers."""
    hasher = Hasher(cipher)
    count = itertools.count()

    def work(batch: pl.DataFrame):
        given = Keys()
        batch = hashed(target, batch, hasher, given)
        if not batch.height:
            return 0, (given.parts[0] if given.parts else None), b"", None
        path = os.path.join(spill, f"{name}-{next(count)}.arrow")
        batch.write_ipc(path)
        buf = io.BytesIO()
        batch.select("row_no", hex_text("key_hash"), hex_text("row_hash")).write_csv(buf, include_header=False)
        return batch.height, given.parts[0], buf.getvalue(), path

    return work


def hex_text(name: str) -> pl.Expr:
    """A bytea column as COPY's text form (hex)."""
    return (pl.lit("\\x") + pl.col(name).bin.encode("hex")).alias(name)


def csv_lines(target: Target, batch: pl.DataFrame, encrypt_many, *, lead=()) -> bytes:
    """The CSV lines of the rows to write: `lead` columns, then written_columns (token, plain, masked, row_hash);
    tokens encrypted and masks made here.

    CSV made by polars: as fast as psycopg's binary `write_row` (bench/writer.py --formats) without turning each
    value into a Python date or number first. Empty values are NULL (unquoted empty fields), bytea in hex."""
    plain = [c for c in target.columns if c.column]
    masked = [c for c in target.columns if c.mask]
    encrypted = [c for c in target.columns if c.encrypted]
    # {item: value} of the non-empty encrypted items, compact JSON built column-wise: each item's `"name":"value"`
    # is the JSON of a one-field struct without its braces (polars escapes the value).
    if encrypted:
        payload = pl.concat_str([pl.when(pl.col(c.item) != "").then(_json_member(batch, c.item)) for c in encrypted],
                                separator=",", ignore_nulls=True)
        payload = pl.when(payload != "").then(pl.lit("{") + payload + pl.lit("}"))  # null: no token
        tokens = encrypt_many(batch.select(payload.alias("p"))["p"].to_list())
    else:
        tokens = [None] * batch.height
    masks = [mask_column(batch[c.item], c.mask_kind).alias(c.mask) for c in masked]

    def empty_null(expr: pl.Expr) -> pl.Expr:
        return pl.when(expr != "").then(expr)

    frame = batch.select(
        *lead,
        pl.Series("token", tokens, dtype=pl.Utf8),
        *(empty_null(pl.col(c.item)).alias(c.column) for c in plain),
        *(empty_null(pl.lit(m)).alias(m.name) for m in masks),
        hex_text("row_hash"),
    )
    del tokens, masks
    buf = io.BytesIO()
    frame.write_csv(buf, include_header=False, null_value="")
    return buf.getvalue()


# What JSON must escape in a string: the quote, the backslash, control characters.
_JSON_SPECIAL = r'["\\\x00-\x1f]'


def _json_member(batch: pl.DataFrame, item: str) -> pl.Expr:
    """`"item":"value"` of a column, as compact JSON: the JSON of a one-field struct without its braces (polars
    escapes the value), or — when no value of the batch has a character JSON escapes, the common case — the value
    between quotes as it is (a third of the cost)."""
    if batch[item].str.contains(_JSON_SPECIAL).any():
        return pl.struct(pl.col(item)).struct.json_encode().str.strip_prefix("{").str.strip_suffix("}")
    return pl.lit(json.dumps(item, ensure_ascii=False) + ':"') + pl.col(item) + pl.lit('"')


def written_columns(target: Target) -> list[str]:
    return ["token", *(c.column for c in target.columns if c.column), *(c.mask for c in target.columns if c.mask),
            "row_hash"]
