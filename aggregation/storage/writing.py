"""The writer of a resource table `pool.r<dataset_id>` (issue 18; layout: the issue's storage contract):
a batch of canonical rows in, only what changed written, in one transaction.

1. Per row, in Python: the HMAC-SHA256 blind index of the upper-cased key (FieldCipher.blind_index, as today, so
   lookups keep working) and the keyed BLAKE2b row digest (encryption.row_digest: the same definition as today's
   rows). Duplicated keys: the last occurrence wins, the others are reported.
2. Digests first: the (row_no, key_hash, row_hash) of the batch go to a small temp table (binary COPY) and one
   join with the resource table keeps the keys that are new, changed or soft-deleted. An unchanged row costs its
   two hashes and its line in that comparison, nothing else: it is not encrypted, masked, staged nor written.
3. Only the rows to write are encrypted (ONE AES-GCM token per row: the compact JSON {item: value} of its non-empty
   encrypted items), masked (security.masking.mask_many per column) and COPYed into a typed temp stage — its
   columns carry the table's SQL types, so a value that does not fit fails the load loudly (the converters of
   aggregation/ingest/validation.py have checked them before: this is a bug guard, not validation).
4. Two statements: UPDATE the changed rows (version + 1, job_id, updated_at, undeleted) with one history row
   each (before/after: the stored row as JSON, {"token": …, item: value …}); INSERT the new keys with no history
   row (the row's job_id and the job's file digest prove an insert; storage contract).

The table is locked against other writers (SHARE ROW EXCLUSIVE: readers go on) for the whole transaction, so the
comparison of step 2 still holds when step 4 writes.
"""

from __future__ import annotations

import io
import json
import re
import time
from dataclasses import dataclass, field

import polars as pl
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from security.crypto import FieldCipher
from security.masking import mask_many

from ..ingest.encryption import row_digest

# SQL types of the typed columns (storage contract: catalog data type → column type).
SQL_TYPES = frozenset({"text", "date", "timestamp", "bigint", "numeric", "boolean"})
_TABLE = re.compile(r"^pool\.r[0-9]+$")
_PLAIN_COLUMN = re.compile(r"^c[0-9]+$")
_MASK_COLUMN = re.compile(r"^m[0-9]+$")
# Python-side work (hashes, tokens, CSV) is done this many rows at a time: bounds the interpreter's objects.
CHUNK_ROWS = 100_000
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


@dataclass
class WriteResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    # Each key given more than once: its row numbers in batch order; the last one was written.
    duplicates: list[list[int]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # phase → seconds (the job's log, the bench)

    @property
    def dropped(self) -> int:
        """Rows not written because a later row had the same key."""
        return sum(len(rows) - 1 for rows in self.duplicates)


def open_token(cipher: FieldCipher, token: str) -> dict[str, str]:
    """The encrypted items of a row, {item: value}, from its token (DecryptionError when it does not
    authenticate)."""
    return json.loads(cipher.decrypt(token))


def write_batch(target: Target, batch: pl.DataFrame, *, cipher: FieldCipher, job_id: int | None = None,
                actor_id: int | None = None, reason: str = "", now=None) -> WriteResult:
    """Write a batch into its resource table: new keys inserted, changed ones updated (with history), unchanged ones
    untouched; all or nothing (one transaction, a savepoint inside the caller's).

    `batch`: `row_no` (the number the load reports rows by) and one Utf8 column per item of `target` holding the
    canonical text of aggregation/ingest/validation.py's converters ("" or null: empty). The key may not be empty.
    """
    missing = [c.item for c in target.columns if c.item not in batch.columns]
    if "row_no" not in batch.columns or missing:
        raise ValueError(f"batch lacks columns: {['row_no', *missing] if 'row_no' not in batch.columns else missing}")
    now = now or timezone.now()
    result = WriteResult()
    if not batch.height:
        return result
    clock = _Clock(result.seconds)
    # (fill_null copies a column: only where there is a null)
    batch = batch.select(pl.col("row_no").cast(pl.Int64), *(
        pl.col(c.item).cast(pl.Utf8).fill_null("") if batch[c.item].null_count() else pl.col(c.item).cast(pl.Utf8)
        for c in target.columns))
    if not batch["row_no"].is_sorted():
        batch = batch.sort("row_no")
    if (batch[target.key_item].str.strip_chars() == "").any():
        raise ValueError("a row has an empty key (validation should have rejected it)")

    # 1. Blind index and digest of each row; duplicated keys: the last one wins.
    blind = cipher.blind_index
    keys = batch[target.key_item]
    batch = batch.with_columns(pl.concat([
        pl.Series("key_hash", [blind(k) for k in keys.slice(i, CHUNK_ROWS).to_list()], dtype=pl.Binary)
        for i in range(0, batch.height, CHUNK_ROWS)]))
    dup = batch.filter(pl.col("key_hash").is_duplicated())
    if dup.height:
        groups = dup.group_by("key_hash").agg(pl.col("row_no").sort()).sort(pl.col("row_no").list.first())
        result.duplicates = groups["row_no"].to_list()
        batch = batch.filter(pl.col("key_hash").is_last_distinct())
    names = [c.item for c in target.columns]
    digests = [  # (zipped column lists: faster than iter_rows)
        pl.Series("row_hash", [row_digest(cipher, {n: v for n, v in zip(names, row, strict=True) if v})
                               for row in zip(*(chunk[n].to_list() for n in names), strict=True)], dtype=pl.Binary)
        for chunk in batch.select(names).iter_slices(CHUNK_ROWS)]
    batch = batch.with_columns(pl.concat(digests))
    del digests
    clock.lap("hash")

    kept = batch.height
    # Django's error classes for the raw psycopg cursor too (COPY needs the raw one).
    with transaction.atomic(), connection.wrap_database_errors:
        connection.ensure_connection()
        with connection.connection.cursor() as cur:
            cur.execute("SELECT set_config('work_mem', %s, true), set_config('DateStyle', 'ISO, YMD', true)",
                        [settings.AGGREGATION.get("INGEST_WORK_MEM", "256MB")])  # (DateStyle: see _row_json)
            # Other writers wait (a second load of the same resource); readers do not.
            cur.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(target.ident))
            # 2. What to write: every row into an empty table, else what the digests say is new or changed.
            cur.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(target.ident))
            holds_rows = cur.fetchone()[0]
            if holds_rows:
                batch = batch.join(_changed_rows(cur, target, batch), on="row_no", how="inner")
            else:
                batch = batch.with_columns(pl.lit(None, dtype=pl.Int64).alias("id"))
            result.unchanged = kept - batch.height
            clock.lap("compare")
            if not batch.height:
                return result
            # 3. Tokens, masks, the typed stage; 4. update + history, insert. (A first load COPYing straight into
            # the empty table was measured no faster than stage + INSERT … ORDER BY key_hash: 10.1–12.2 s against
            # 9.0–13.4 s per million on the loaded box; one path is kept.)
            _stage_create(cur, target)
            _copy_rows(cur, target, batch, cipher, clock)
            cur.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(_STAGE)))
            clock.lap("stage")
            if holds_rows:
                result.updated = _update(cur, target, job_id=job_id, actor_id=actor_id, reason=reason, now=now)
                clock.lap("update")
            result.inserted = _insert(cur, target, job_id=job_id, now=now)
            clock.lap("insert")
            cur.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(_STAGE)))
    return result


class _Clock:
    def __init__(self, into: dict[str, float]):
        self.into = into
        self.t = time.perf_counter()

    def lap(self, name: str) -> None:
        t = time.perf_counter()
        self.into[name] = self.into.get(name, 0.0) + t - self.t
        self.t = t


# --------------------------------------------------------------------------------------------------
# Step 2: the digest comparison


_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_BINARY_TRAILER = b"\xff\xff"


def _changed_rows(cur, target: Target, batch: pl.DataFrame) -> pl.DataFrame:
    """(row_no, id) of the batch rows to write: keys the table does not hold (id null), keys whose stored digest
    differs, and soft-deleted keys (id of the stored row). The batch's hashes go to the server in COPY's binary
    format (fixed-width fields, assembled without per-value conversion)."""
    cur.execute("CREATE TEMP TABLE pool_digests (row_no bigint NOT NULL, key_hash bytea NOT NULL, "
                "row_hash bytea NOT NULL) ON COMMIT DROP")
    head = b"\x00\x03\x00\x00\x00\x08"
    length = b"\x00\x00\x00\x20"
    with cur.copy("COPY pool_digests FROM STDIN (FORMAT binary)") as copy:
        copy.write(_BINARY_HEADER)
        for chunk in batch.select("row_no", "key_hash", "row_hash").iter_slices(CHUNK_ROWS):
            copy.write(b"".join([head + n.to_bytes(8, "big") + length + k + length + h
                                 for n, k, h in chunk.iter_rows()]))
        copy.write(_BINARY_TRAILER)
    cur.execute("ANALYZE pool_digests")
    cur.execute(sql.SQL(
        "SELECT s.row_no, t.id FROM pool_digests s LEFT JOIN {} t ON t.key_hash = s.key_hash "
        "WHERE t.id IS NULL OR t.row_hash <> s.row_hash OR t.deleted_at IS NOT NULL").format(target.ident))
    rows = cur.fetchall()
    cur.execute("DROP TABLE pool_digests")
    return pl.DataFrame(rows, schema={"row_no": pl.Int64, "id": pl.Int64}, orient="row")


# --------------------------------------------------------------------------------------------------
# Step 3: the typed stage

_STAGE = "pool_stage"


def _stage_create(cur, target: Target) -> None:
    """The typed temp stage: row_no, id (the stored row's; null for a new key), key_hash, token, the plain columns
    in their SQL types, the masked columns, row_hash."""
    defs = [sql.SQL("row_no bigint NOT NULL, id bigint, key_hash bytea NOT NULL, token text")]
    defs += [sql.SQL("{} {}").format(sql.Identifier(c.column), sql.SQL(c.sql_type))
             for c in target.columns if c.column]
    defs += [sql.SQL("{} text").format(sql.Identifier(c.mask)) for c in target.columns if c.mask]
    defs += [sql.SQL("row_hash bytea NOT NULL")]
    cur.execute(sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
        sql.Identifier(_STAGE), sql.SQL(", ").join(defs)))


def _copy_rows(cur, target: Target, batch: pl.DataFrame, cipher: FieldCipher, clock: _Clock) -> None:
    """Encrypt and mask the rows and COPY them into the stage.

    CSV made by polars: as fast as psycopg's binary `write_row` (bench/writer.py --formats) without turning each
    value into a Python date or number first. Empty values are NULL (unquoted empty fields), bytea in hex."""
    plain = [c for c in target.columns if c.column]
    masked = [c for c in target.columns if c.mask]
    encrypted = [c for c in target.columns if c.encrypted]
    names = ["row_no", "id", "key_hash", *_written_columns(target)]
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        sql.Identifier(_STAGE), sql.SQL(", ").join(map(sql.Identifier, names)))
    encrypt_many = cipher.bulk_encryptor().many
    # {item: value} of the non-empty encrypted items, compact JSON built column-wise: each item's `"name":"value"`
    # is the JSON of a one-field struct without its braces (polars escapes the value).
    payload = pl.concat_str(
        [pl.when(pl.col(c.item) != "").then(
            pl.struct(pl.col(c.item)).struct.json_encode().str.strip_prefix("{").str.strip_suffix("}"))
         for c in encrypted], separator=",", ignore_nulls=True) if encrypted else pl.lit("")

    def empty_null(expr: pl.Expr) -> pl.Expr:
        return pl.when(expr != "").then(expr)

    for chunk in batch.iter_slices(CHUNK_ROWS):
        texts = chunk.select(payload.alias("p"))["p"].to_list()
        tokens = encrypt_many(["{" + t + "}" if t else None for t in texts])
        del texts
        masks = [pl.Series(c.mask, mask_many(chunk[c.item].to_list(), c.mask_kind), dtype=pl.Utf8) for c in masked]
        clock.lap("encrypt+mask")
        frame = chunk.select(
            "row_no", "id",
            (pl.lit("\\x") + pl.col("key_hash").bin.encode("hex")).alias("key_hash"),
            pl.Series("token", tokens, dtype=pl.Utf8),
            *(empty_null(pl.col(c.item)).alias(c.column) for c in plain),
            *(empty_null(pl.lit(m)).alias(m.name) for m in masks),
            (pl.lit("\\x") + pl.col("row_hash").bin.encode("hex")).alias("row_hash"),
        )
        buf = io.BytesIO()
        frame.write_csv(buf, include_header=False, null_value="")
        del frame, tokens, masks
        with cur.copy(copy_sql) as copy:
            copy.write(buf.getbuffer())
        clock.lap("stage")


# --------------------------------------------------------------------------------------------------
# Step 4: the writes


def _row_json(target: Target, alias: str) -> sql.Composable:
    """The stored row as JSON, {"token": …, item: value …} (empty values absent): a history row's before/after.
    Values as text: PostgreSQL's text output of date, timestamp, numeric, bigint and boolean (DateStyle ISO) is the
    canonical text the converters produce and the row digest is computed over, so a history row can be checked
    against its digest as it is. jsonb_build_object takes at most 100 arguments, so the pairs go in groups."""
    a = sql.Identifier(alias)
    pairs = [sql.SQL("'token', {}.token").format(a)] + [
        sql.SQL("{}, {}.{}::text").format(sql.Literal(c.item), a, sql.Identifier(c.column))
        for c in target.columns if c.column]
    groups = [sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(pairs[i:i + 40]))
              for i in range(0, len(pairs), 40)]
    return sql.SQL("jsonb_strip_nulls({})").format(sql.SQL(" || ").join(groups))


def _written_columns(target: Target) -> list[str]:
    return ["token", *(c.column for c in target.columns if c.column), *(c.mask for c in target.columns if c.mask),
            "row_hash"]


# The changed rows (stage rows with the stored row's id): updated from the stage, their history written from the
# UPDATE's RETURNING, the before read in the same statement (all its parts see the table as it was before it).
# The digest test is repeated as a guard: under the table lock it lets through exactly what step 2 selected.
_UPDATE = """
WITH chg AS MATERIALIZED (
    SELECT s.*, {before} AS prior
      FROM {stage} s JOIN {table} t ON t.id = s.id
     WHERE t.row_hash <> s.row_hash OR t.deleted_at IS NOT NULL
), up AS (
    UPDATE {table} t
       SET {assign}, job_id = %(job)s, version = t.version + 1, updated_at = %(now)s, deleted_at = NULL
      FROM chg c
     WHERE t.id = c.id
    RETURNING t.id, c.prior, {after} AS after
), hist AS (
    INSERT INTO aggregation_recordhistory (record_id, dataset_id, op, before, after, actor_id, job_id, reason,
                                           changed_at)
    SELECT id, %(ds)s, 'update', prior, after, %(actor)s, %(job)s, %(reason)s, %(now)s FROM up
    RETURNING 1
)
SELECT count(*) FROM hist
"""

# The new keys, in key-hash order (the unique index's pages fill one after the other); no history row.
_INSERT = """
INSERT INTO {table} (key_hash, {columns}, job_id, version, created_at, updated_at)
SELECT key_hash, {columns}, %(job)s, 1, %(now)s, %(now)s FROM {stage} WHERE id IS NULL ORDER BY key_hash
"""


def _update(cur, target: Target, *, job_id, actor_id, reason: str, now) -> int:
    columns = _written_columns(target)
    cur.execute(sql.SQL(_UPDATE).format(
        stage=sql.Identifier(_STAGE), table=target.ident, before=_row_json(target, "t"), after=_row_json(target, "t"),
        assign=sql.SQL(", ").join(sql.SQL("{0} = c.{0}").format(sql.Identifier(c)) for c in columns),
    ), {"job": job_id, "now": now, "ds": target.dataset_id, "actor": actor_id, "reason": reason})
    return int(cur.fetchone()[0])


def _insert(cur, target: Target, *, job_id, now) -> int:
    cur.execute(sql.SQL(_INSERT).format(
        stage=sql.Identifier(_STAGE), table=target.ident,
        columns=sql.SQL(", ").join(map(sql.Identifier, _written_columns(target)))), {"job": job_id, "now": now})
    return cur.rowcount
