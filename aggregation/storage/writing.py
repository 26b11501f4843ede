"""The writer of a resource table `pool.r<dataset_id>` (issue 18; layout: the issue's storage contract):
batches of canonical rows in (write_batches: a stream, memory bounded by a batch; write_batch: one), only what
changed written, in one transaction.

1. Per row: the HMAC-SHA256 blind index of the upper-cased key (the bytes of FieldCipher.blind_index, so lookups
   keep working) and the keyed BLAKE2b row digest (encryption.row_digests: row_digest's definition, payloads
   built by polars). Duplicated keys, within a batch or across batches: the last occurrence wins, all reported.
2. Into an EMPTY table (a first load): every row encrypted (ONE AES-GCM token per row: the compact JSON
   {item: value} of its non-empty encrypted items), masked (security.masking.mask_many per column) and COPYed
   straight into the table — FREEZE, its secondary indexes dropped before and built after by one sort each.
3. Into a table that holds rows: digests first — the (row_no, key_hash, row_hash) of every batch in one COPY to a
   temp table, one join with the resource table keeps the keys that are new, changed or soft-deleted. An unchanged
   row costs its two hashes and its line in that comparison, nothing else. Then only the rows to write are
   encrypted, masked and COPYed into a typed temp stage; one UPDATE of the changed rows (version + 1, job_id,
   updated_at, undeleted) with one history row each (before/after: the stored row as JSON, {"token": …,
   item: value …}); one INSERT of the new keys with no history row (the row's job_id and the job's file digest
   prove an insert; storage contract).

Typed columns (the table's, or the stage's) carry the SQL types, so a value that does not fit fails the load
loudly (the converters of aggregation/ingest/validation.py have checked them before: a bug guard, not validation).
The Python work of the next batch runs in a producer thread while this thread streams the current one.

Locks: other writers wait for the whole transaction (SHARE ROW EXCLUSIVE), so the comparison still holds when the
writes happen; readers go on — except during a first load, which holds the (empty) table exclusively for its
index drop: a reader then waits for the load rather than seeing an empty table.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import json
import os
import queue
import re
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import polars as pl
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from security.crypto import FieldCipher, normalise
from security.masking import mask_many

from ..ingest.encryption import row_digests
from . import preparing

# SQL types of the typed columns (storage contract: catalog data type → column type).
SQL_TYPES = frozenset({"text", "date", "timestamp", "bigint", "numeric", "boolean"})
_TABLE = re.compile(r"^pool\.r[0-9]+$")
_PLAIN_COLUMN = re.compile(r"^c[0-9]+$")
_MASK_COLUMN = re.compile(r"^m[0-9]+$")
_RESERVED = frozenset({"row_no", "id", "key_hash", "row_hash"})
# The Python work of the next batch is done by a producer thread while this one streams (False: inline, one
# after the other — bench/writer.py --serial measures what the thread brings).
PREPARE_AHEAD = True


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


def cipher() -> FieldCipher:
    """The field cipher of the resource tables: the deployment's keys (settings)."""
    return FieldCipher(settings.FIELD_ENCRYPTION_KEYS, settings.BLIND_INDEX_KEY)


def seal_token(encrypt, values: dict[str, str]) -> str:
    """One row's token from a dict (the writer builds them column-wise in `_csv`; a migration re-seals rows one by
    one): compact JSON {item: value} under AES-GCM (`encrypt`: a FieldCipher's bulk_encryptor, one per pass)."""
    return encrypt(json.dumps(values, ensure_ascii=False, separators=(",", ":")))


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
    return write_batches(target, [batch], cipher=cipher, job_id=job_id, actor_id=actor_id, reason=reason, now=now)


def write_batches(target: Target, batches: Iterable[pl.DataFrame], *, cipher: FieldCipher, job_id: int | None = None,
                  actor_id: int | None = None, reason: str = "", now=None) -> WriteResult:
    """write_batch over a stream of batches (e.g. 50 000 rows each, in row order), in one transaction: memory is
    bounded by a couple of batches, not by the file. A key given in two batches: the last row wins, as within one.

    A producer thread does the Python work of the next batch (hashes, tokens, masks, CSV) while this thread streams
    the current one to the server (psycopg waits on the socket without the GIL; the server's COPY runs in its own
    process). Into an EMPTY table the rows are COPYed straight into it, its secondary indexes dropped before and
    built after by one sort each (the UNIQUE (key_hash) B-tree kept up in random key order costs ≈ 6.5 s a
    million, built after ≈ 0.6 s; bench/README.md, issue 18): the table is empty and locked, nothing else can see
    the difference, and a failure rolls the drop back with the rest.

    `batches` is consumed by that producer thread: it must not use the database (Django's connection is per
    thread, so it would not see this transaction). A reload spills the hashed batches to temporary Arrow files
    (≈ 300 MB a million 人口 rows, in tempfile's directory) between its two passes."""
    now = now or timezone.now()
    result = WriteResult()
    clock = _Clock(result.seconds)
    seen = _Keys()
    hasher = _Hasher(cipher)
    batches = iter(batches)
    first = next(batches, None)
    if first is None:
        return result
    _check_columns(target, first)
    stream = itertools.chain([first], batches)
    with transaction.atomic(), connection.wrap_database_errors:
        # Django's error classes for the raw psycopg cursor too (COPY needs the raw one).
        connection.ensure_connection()
        with connection.connection.cursor() as cur:
            cur.execute("SELECT set_config('work_mem', %s, true), set_config('DateStyle', 'ISO, YMD', true)",
                        [settings.AGGREGATION.get("INGEST_WORK_MEM", "256MB")])  # (DateStyle: see _row_json)
            # Other writers wait (a second load of the same resource); readers do not.
            cur.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(target.ident))
            cur.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(target.ident))
            if cur.fetchone()[0]:
                _reload(cur, target, stream, cipher, hasher, seen, result, clock,
                        job_id=job_id, actor_id=actor_id, reason=reason, now=now)
            else:
                _first_load(cur, target, stream, cipher, hasher, seen, result, clock, job_id=job_id, now=now)
    return result


def _check_columns(target: Target, batch: pl.DataFrame) -> None:
    missing = [c.item for c in target.columns if c.item not in batch.columns]
    if "row_no" not in batch.columns or missing:
        raise ValueError(f"batch lacks columns: {['row_no', *missing] if 'row_no' not in batch.columns else missing}")


def _hashed(target: Target, batch: pl.DataFrame, hasher: _Hasher, seen: _Keys) -> pl.DataFrame:
    """The batch as Utf8 columns ("" for empty) in row order, with its rows' key_hash and row_hash; a key given
    more than once keeps its last row (all occurrences are noted in `seen` for the report)."""
    _check_columns(target, batch)
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


class _Hasher:
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


class _Keys:
    """(key_hash, row_no) of every row given, to report keys given more than once — within a batch and across
    batches — and to find, after a first load, the earlier rows of a key given in two batches. ≈ 50 bytes a row
    (binary and integer columns, no Python objects): bounded by the table size, not by a batch."""

    def __init__(self):
        self.parts: list[pl.DataFrame] = []

    def add(self, batch: pl.DataFrame) -> None:
        self.parts.append(batch.select("key_hash", "row_no"))

    def duplicates(self) -> tuple[list[list[int]], list[bytes]]:
        """Each key given more than once: its row numbers in order; and the keys given in more than one batch."""
        if not self.parts:
            return [], []
        rows = pl.concat([p.with_columns(pl.lit(n, dtype=pl.Int32).alias("part")) for n, p in enumerate(self.parts)])
        dup = rows.filter(pl.col("key_hash").is_duplicated())
        if not dup.height:
            return [], []
        groups = dup.group_by("key_hash").agg(pl.col("row_no").sort(), pl.col("part").n_unique().alias("parts"))
        groups = groups.sort(pl.col("row_no").list.first())
        return groups["row_no"].to_list(), groups.filter(pl.col("parts") > 1)["key_hash"].to_list()


def _ahead(work, items: Iterator, depth: int = 2) -> Iterator:
    """work(item) for each item, computed by a producer thread up to `depth` items ahead of the consumer: the
    Python work of the next batch overlaps this thread's waiting on the server. An exception of the producer is
    raised here; a consumer that stops early stops the producer."""
    if not PREPARE_AHEAD:
        yield from map(work, items)
        return
    out: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce():
        try:
            for item in items:
                value = work(item)
                while not stop.is_set():
                    try:
                        out.put((value, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            out.put((done, None))
        except BaseException as exc:
            out.put((done, exc))

    thread = threading.Thread(target=produce, name="pool-writer-prepare", daemon=True)
    thread.start()
    try:
        while True:
            value, exc = out.get()
            if value is done:
                if exc is not None:
                    raise exc
                return
            yield value
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):
                out.get(timeout=0.1)
        thread.join()


def _first_load(cur, target: Target, stream, cipher, hasher, seen, result: WriteResult, clock, *, job_id, now):
    """Every row into the empty table: one COPY straight into it, secondary indexes dropped before and built after
    (in this transaction). Rows of a key given in an earlier batch too are deleted before the build (the latest
    id, i.e. the last row given, stays).

    The empty table is TRUNCATEd first so that COPY may write its rows FROZEN (hint bits and visibility map set):
    otherwise the first statement to read the table after the load — the next load's comparison, the first
    export — rewrites every page of it to set them (measured: 57 000 of 73 000 pages written by the first
    reload's join). It is empty, and this transaction holds it exclusively for the index drop anyway."""
    # (FREEZE is refused in a transaction holding a snapshot from before, as REPEATABLE READ does: plain COPY there)
    cur.execute("SELECT current_setting('transaction_isolation') = 'read committed'")
    freeze = cur.fetchone()[0]
    if freeze:
        cur.execute(sql.SQL("TRUNCATE {}").format(target.ident))
    rebuild = _drop_secondary_indexes(cur, target)
    clock.lap("drop indexes")
    columns = [*_written_columns(target), "job_id", "created_at", "updated_at"]
    copy_sql = sql.SQL("COPY {} (key_hash, {}) FROM STDIN (FORMAT csv{})").format(
        target.ident, sql.SQL(", ").join(map(sql.Identifier, columns)), sql.SQL(", FREEZE" if freeze else ""))
    stamp = now.isoformat()
    first = next(stream)
    stream = itertools.chain([first], stream)
    workers = preparing.worker_count()
    if workers > 1 and first.height >= settings.AGGREGATION.get("WRITE_PARALLEL_MIN_ROWS", 50_000):
        # A large load: the per-row work in worker processes (storage.preparing), this process only streams.
        preparers = preparing.Preparers(workers, target, cipher, job_id=job_id, stamp=stamp)
        results = preparers.run(stream)
        result.seconds["workers"] = workers
    else:
        work = _first_load_work(target, cipher, job_id=job_id, stamp=stamp)
        preparers = contextlib.nullcontext()

        def prepare(batch):
            t = time.perf_counter()
            out = work(batch)
            prepared[0] += time.perf_counter() - t
            return out

        results = _ahead(prepare, stream)
    prepared = [0.0]
    written = 0
    waited = 0.0  # this thread waiting for the server (sending, and the end of the COPY)
    with preparers, cur.copy(copy_sql) as copy:
        for height, keys, data in results:
            written += height
            if keys is not None:
                seen.parts.append(keys)
            if data:
                t = time.perf_counter()
                copy.write(data)
                waited += time.perf_counter() - t
        t = time.perf_counter()
    waited += time.perf_counter() - t
    result.seconds["prepare (thread)"] = prepared[0]
    result.seconds["server wait"] = waited
    clock.lap("copy")
    result.duplicates, across = seen.duplicates()
    if across:
        cur.execute(sql.SQL(
            "DELETE FROM {t} d USING (SELECT key_hash, max(id) AS keep FROM {t} WHERE key_hash = ANY(%s) "
            "GROUP BY key_hash) k WHERE d.key_hash = k.key_hash AND d.id <> k.keep").format(t=target.ident),
            [across])
        written -= cur.rowcount
    cur.execute("SELECT set_config('maintenance_work_mem', %s, true)",
                [settings.AGGREGATION.get("INGEST_MAINTENANCE_WORK_MEM", "512MB")])
    for statement in rebuild:
        cur.execute(statement)
    clock.lap("build indexes")
    result.inserted = written


def _first_load_work(target: Target, cipher: FieldCipher, *, job_id, stamp: str):
    """The per-row work of a first load's batch, as a function batch → (rows to write, the (key_hash, row_no) of
    every row given — None for an empty batch —, the CSV lines to COPY): the blind index and row digest, one token per
    row, the masked forms. Run by the producer thread, or by the worker processes of storage.preparing (the same
    function: the same bytes)."""
    hasher = _Hasher(cipher)
    encrypt_many = cipher.bulk_encryptor().many
    consts = (pl.lit(None if job_id is None else str(job_id), dtype=pl.Utf8).alias("job_id"),
              pl.lit(stamp).alias("created_at"), pl.lit(stamp).alias("updated_at"))

    def work(batch: pl.DataFrame):
        given = _Keys()
        batch = _hashed(target, batch, hasher, given)
        data = _csv(target, batch, encrypt_many, lead=(_hex("key_hash"),), tail=consts) if batch.height else b""
        return batch.height, (given.parts[0] if given.parts else None), data

    return work


def _drop_secondary_indexes(cur, target: Target) -> list[str]:
    """Drop the table's indexes other than the primary key (a UNIQUE constraint as a constraint); the statements
    that build them again as they were."""
    cur.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid), k.conname, pg_get_constraintdef(k.oid) "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid AND k.conrelid = i.indrelid "
        "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary ORDER BY c.relname", [target.table])
    rebuild = []
    for index, definition, constraint, constraint_def in cur.fetchall():
        if constraint:
            cur.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(target.ident, sql.Identifier(constraint)))
            rebuild.append(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
                target.ident, sql.Identifier(constraint)) + sql.SQL(constraint_def))
        else:
            cur.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(target.table.split(".")[0], index)))
            rebuild.append(sql.SQL(definition))
    return rebuild


def _reload(cur, target: Target, stream, cipher, hasher, seen, result: WriteResult, clock, *, job_id, actor_id,
            reason, now):
    """Into a table that holds rows, in two passes over the batches:

    1. every batch hashed (by the producer thread, ahead) and its (row_no, key_hash, row_hash) streamed in ONE
       COPY into a digest temp table, the batch itself spilled to a temporary Arrow IPC file (memory stays a batch);
       then ONE join with the table finds the rows to write: new keys, changed digests, soft-deleted keys. (A join
       per batch probes or scans the table once per batch: 0.26–0.48 s per 50 000 rows on 1 M stored rows.)
    2. only if some row is to be written: the spilled batches read back, their rows to write encrypted, masked
       and streamed in one COPY into the typed stage (the thread again ahead), then one UPDATE (+ history) and one
       INSERT. An unchanged reload never gets here.

    A key given in two batches: its earlier rows are removed from the comparison, so only its last row is
    compared and written (as within a batch)."""
    prepared = [0.0]
    spill = tempfile.TemporaryDirectory(prefix="pool-writer-")
    parts: list[str] = []

    def hash_and_spill(batch):
        t = time.perf_counter()
        batch = _hashed(target, batch, hasher, seen)
        data = b""
        if batch.height:
            path = os.path.join(spill.name, f"{len(parts)}.arrow")
            batch.write_ipc(path)
            parts.append(path)
            buf = io.BytesIO()
            batch.select("row_no", _hex("key_hash"), _hex("row_hash")).write_csv(buf, include_header=False)
            data = buf.getvalue()
        prepared[0] += time.perf_counter() - t
        return data

    with spill:
        cur.execute("CREATE TEMP TABLE pool_digests (row_no bigint NOT NULL, key_hash bytea NOT NULL, "
                    "row_hash bytea NOT NULL) ON COMMIT DROP")
        with cur.copy("COPY pool_digests FROM STDIN (FORMAT csv)") as copy:
            for data in _ahead(hash_and_spill, stream):
                if data:
                    copy.write(data)
        result.seconds["hash (thread)"] = prepared[0]
        clock.lap("digests")
        result.duplicates, across = seen.duplicates()
        if across:
            cur.execute(
                "DELETE FROM pool_digests d USING (SELECT key_hash, max(row_no) AS keep FROM pool_digests "
                "WHERE key_hash = ANY(%s) GROUP BY key_hash) k WHERE d.key_hash = k.key_hash AND d.row_no <> k.keep",
                [across])
        cur.execute("ANALYZE pool_digests")
        changed = _changed_rows(cur, target)
        cur.execute("SELECT count(*) FROM pool_digests")
        result.unchanged = cur.fetchone()[0] - changed.height
        cur.execute("DROP TABLE pool_digests")
        clock.lap("compare")
        if not changed.height:
            return
        encrypt_many = cipher.bulk_encryptor().many
        lead = (pl.col("row_no"), pl.col("id"), _hex("key_hash"))

        def stage_rows(path):
            t = time.perf_counter()
            batch = pl.read_ipc(path)
            os.unlink(path)
            lo, hi = batch["row_no"].min(), batch["row_no"].max()
            batch = batch.join(changed.filter(pl.col("row_no").is_between(lo, hi)), on="row_no", how="inner")
            data = _csv(target, batch, encrypt_many, lead=lead) if batch.height else b""
            prepared[0] += time.perf_counter() - t
            return data

        prepared[0] = 0.0
        _stage_create(cur, target)
        with cur.copy(_stage_copy_sql(target)) as copy:
            for data in _ahead(stage_rows, iter(list(parts))):
                if data:
                    copy.write(data)
        result.seconds["encrypt+mask (thread)"] = prepared[0]
        cur.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(_STAGE)))
        clock.lap("stage")
    result.updated = _update(cur, target, job_id=job_id, actor_id=actor_id, reason=reason, now=now)
    clock.lap("update")
    result.inserted = _insert(cur, target, job_id=job_id, now=now)
    clock.lap("insert")
    cur.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(_STAGE)))


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


def _changed_rows(cur, target: Target) -> pl.DataFrame:
    """(row_no, id) of the compared rows to write, in row order: keys the table does not hold (id null), keys whose
    stored digest differs, and soft-deleted keys (id of the stored row). Fetched a slice at a time into polars
    (16 bytes a row, no Python objects kept)."""
    cur.execute(sql.SQL(
        "CREATE TEMP TABLE pool_changed ON COMMIT DROP AS "
        "SELECT s.row_no, t.id FROM pool_digests s LEFT JOIN {} t ON t.key_hash = s.key_hash "
        "WHERE t.id IS NULL OR t.row_hash <> s.row_hash OR t.deleted_at IS NOT NULL").format(target.ident))
    schema = {"row_no": pl.Int64, "id": pl.Int64}
    frames = [pl.DataFrame(schema=schema)]
    with cur.connection.cursor(name="pool_changed_rows") as rows:
        rows.execute("SELECT row_no, id FROM pool_changed ORDER BY row_no")
        while chunk := rows.fetchmany(100_000):
            frames.append(pl.DataFrame(chunk, schema=schema, orient="row"))
    cur.execute("DROP TABLE pool_changed")
    return pl.concat(frames)


# --------------------------------------------------------------------------------------------------
# Step 3: tokens, masks, CSV

_STAGE = "pool_stage"


def stage_rows(cur, target: Target, batch: pl.DataFrame, cipher: FieldCipher) -> str:
    """`batch` (row_no, id, key_hash, row_hash and the target's items as canonical text) into a fresh typed stage —
    tokens encrypted and masks made by this module, so no other module builds a token — and the stage's name. For
    the data migration (storage.moving), which inserts the rows under their own ids."""
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(_STAGE)))
    _stage_create(cur, target)
    encrypt_many = cipher.bulk_encryptor().many
    lead = (pl.col("row_no"), pl.col("id"), _hex("key_hash"))
    with cur.copy(_stage_copy_sql(target)) as copy:
        for chunk in batch.iter_slices(50_000):  # bounds the CSV text held at once
            copy.write(_csv(target, chunk, encrypt_many, lead=lead))
    return _STAGE


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


def _stage_copy_sql(target: Target) -> sql.Composable:
    names = ["row_no", "id", "key_hash", *_written_columns(target)]
    return sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        sql.Identifier(_STAGE), sql.SQL(", ").join(map(sql.Identifier, names)))


def _hex(name: str) -> pl.Expr:
    """A bytea column as COPY's text form (hex)."""
    return (pl.lit("\\x") + pl.col(name).bin.encode("hex")).alias(name)


def _csv(target: Target, batch: pl.DataFrame, encrypt_many, *, lead=(), tail=()) -> bytes:
    """The CSV lines of the rows to write: `lead` columns, then _written_columns (token, plain, masked, row_hash),
    then `tail` columns; tokens encrypted and masks made here.

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
    masks = [pl.Series(c.mask, _masked(batch[c.item], c.mask_kind), dtype=pl.Utf8) for c in masked]

    def empty_null(expr: pl.Expr) -> pl.Expr:
        return pl.when(expr != "").then(expr)

    frame = batch.select(
        *lead,
        pl.Series("token", tokens, dtype=pl.Utf8),
        *(empty_null(pl.col(c.item)).alias(c.column) for c in plain),
        *(empty_null(pl.lit(m)).alias(m.name) for m in masks),
        _hex("row_hash"),
        *tail,
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


def _masked(values: pl.Series, kind: str) -> list[str] | pl.Series:
    """mask_many of a column; a column of few distinct values (性别, a date) masks each distinct value once."""
    distinct = values.unique()
    if distinct.len() * 2 > values.len():
        return mask_many(values.to_list(), kind)
    return values.replace_strict(distinct, pl.Series(mask_many(distinct.to_list(), kind), dtype=pl.Utf8))


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
