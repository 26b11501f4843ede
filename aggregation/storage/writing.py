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
4. Writes from code (the push, verification corrections; storage contract): a batch may say per row which items keep
   the subject's stored value (a `_keep` list column: merged from the stored row by the calling thread under the
   table lock, before the digests), inserts then write a history row too (`history_inserts`: there is no file to
   prove them), and the (row id, history id, op) of every row written come back (`changes`). `delete_row`
   soft-deletes one row with its history row; `lock_row` holds one row for a use case (SELECT … FOR UPDATE).

Typed columns (the table's, or the stage's) carry the SQL types, so a value that does not fit fails the load
loudly (the converters of aggregation/ingest/validation.py have checked them before: a bug guard, not validation).
The Python work of the next batch runs in a producer thread while this thread streams the current one.

Locks: other writers wait for the whole transaction (SHARE ROW EXCLUSIVE), so the comparison still holds when the
writes happen; readers go on — except during a first load, which holds the (empty) table exclusively for its
index drop: a reader then waits for the load rather than seeing an empty table.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
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

from security.crypto import FieldCipher

from . import preparing, reading
from .layout import table_ident
from .rowwork import Column, Target  # noqa: F401 (the writer's interface: re-exported)
from .rowwork import Hasher as _Hasher
from .rowwork import Keys as _Keys
from .rowwork import check_columns as _check_columns
from .rowwork import csv_lines as _csv
from .rowwork import first_load_work as _first_load_work
from .rowwork import hex_text as _hex
from .rowwork import reload_work as _reload_work
from .rowwork import written_columns as _written_columns

# The Python work of the next batch is done by a producer thread while this one streams (False: inline, one
# after the other — bench/writer.py --serial measures what the thread brings).
PREPARE_AHEAD = True


@dataclass
class WriteResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    # Each key given more than once: its row numbers in batch order; the last one was written.
    duplicates: list[list[int]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # phase → seconds (the job's log, the bench)
    # With `changes=True`: (row id, history id, op) of every row inserted or updated, in history order (an insert
    # has a history id only with `history_inserts`, else None).
    changes: list[tuple[int, int | None, str]] = field(default_factory=list)

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


def resealer(cipher: FieldCipher):
    """Key rotation's sealing (storage.rotating): `(many, one)` — `many(plain texts)` seals tokens' plain texts again
    under the current key (the same bytes, a new nonce; an empty one gives None), `one(token)` opens any token (a
    row's, or an old history row's per-item token) and seals its plain text again under the current key."""
    encryptor = cipher.bulk_encryptor()

    def one(token: str) -> str:
        return encryptor(cipher.decrypt(token))

    return encryptor.many, one


def open_token(cipher: FieldCipher, token: str) -> dict[str, str]:
    """The encrypted items of a row, {item: value}, from its token (DecryptionError when it does not
    authenticate)."""
    return json.loads(cipher.decrypt(token))


def write_batch(target: Target, batch: pl.DataFrame, *, cipher: FieldCipher, job_id: int | None = None,
                actor_id: int | None = None, reason: str = "", now=None, history_inserts: bool = False,
                changes: bool = False) -> WriteResult:
    """Write a batch into its resource table: new keys inserted, changed ones updated (with history), unchanged ones
    untouched; all or nothing (one transaction, a savepoint inside the caller's).

    `batch`: `row_no` (the number the load reports rows by) and one Utf8 column per item of `target` holding the
    canonical text of aggregation/ingest/validation.py's converters ("" or null: empty). The key may not be empty.
    Optional `_keep` (List[Utf8]): per row, the items that keep the stored value (write_batches).
    """
    return write_batches(target, [batch], cipher=cipher, job_id=job_id, actor_id=actor_id, reason=reason, now=now,
                         history_inserts=history_inserts, changes=changes)


def write_batches(target: Target, batches: Iterable[pl.DataFrame], *, cipher: FieldCipher, job_id: int | None = None,
                  actor_id: int | None = None, reason: str = "", now=None, history_inserts: bool = False,
                  changes: bool = False) -> WriteResult:
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
    (≈ 300 MB a million 人口 rows, in tempfile's directory) between its two passes.

    Writes from code (the push, verification corrections: storage contract):
    - `_keep`, an optional List[Utf8] column of the batches: per row, the items that keep the subject's stored
      value instead of the row's (null or []: none) — an item a pushed row leaves out. Merged from the stored live
      row (clear items as canonical text, encrypted ones from its opened token) by THIS thread under the table lock,
      before the digests; a key the table does not hold (or holds deleted) keeps nothing (empty). Batches with a
      `_keep` column are held in memory (code writes are small); a load without it is streamed as before. The
      first batch decides: a `_keep` column only in later batches is ignored.
    - `history_inserts`: each inserted row gets a history row too (op 'insert', before NULL, after the row in the
      writer's form) — there is no file to prove it. A load writes none.
    - `changes`: WriteResult.changes lists (row id, history id, op) of every row written.
    Either option, or a `_keep` column, sends an empty table through the comparison path (no index drop, no
    FREEZE: a code write is small and runs inside other work)."""
    now = now or timezone.now()
    result = WriteResult()
    clock = _Clock(result.seconds)
    hasher = _Hasher(cipher)
    batches = iter(batches)
    first = next(batches, None)
    if first is None:
        return result
    _check_columns(target, first)
    keeping = _KEEP in first.columns
    if keeping:  # (the merge reads the table: this thread, under the lock — so the batches are held)
        batches = [first, *batches]
        stream = iter(batches)
    else:
        stream = itertools.chain([first], batches)
    small = keeping or history_inserts or changes
    seen = _Keys(spill=not small)  # (a load's keys on disk: its memory stays a few batches however long the file)
    with contextlib.closing(seen), transaction.atomic(), connection.wrap_database_errors:
        # Django's error classes for the raw psycopg cursor too (COPY needs the raw one).
        connection.ensure_connection()
        with connection.connection.cursor() as cur:
            cur.execute("SELECT set_config('work_mem', %s, true), set_config('DateStyle', 'ISO, YMD', true)",
                        [settings.AGGREGATION.get("INGEST_WORK_MEM", "256MB")])  # (DateStyle: see _row_json)
            # Other writers wait (a second load of the same resource); readers do not.
            cur.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(target.ident))
            if keeping:
                stream = iter([_kept(cur, target, batch, cipher, hasher) for batch in batches])
                clock.lap("keep")
            cur.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(target.ident))
            if small or cur.fetchone()[0]:
                _reload(cur, target, stream, cipher, seen, result, clock, job_id=job_id, actor_id=actor_id,
                        reason=reason, now=now, history_inserts=history_inserts, changes=changes)
            else:
                _first_load(cur, target, stream, cipher, seen, result, clock, job_id=job_id, now=now)
    return result


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


def _first_load(cur, target: Target, stream, cipher, seen, result: WriteResult, clock, *, job_id, now):
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
    restore = _drop_secondary_indexes(cur, target) + _stamp_defaults(cur, target, job_id=job_id, now=now)
    clock.lap("drop indexes")
    copy_sql = sql.SQL("COPY {} (key_hash, {}) FROM STDIN (FORMAT csv{})").format(
        target.ident, sql.SQL(", ").join(map(sql.Identifier, _written_columns(target))),
        sql.SQL(", FREEZE" if freeze else ""))
    preparers, results = _per_row_work(target, cipher, stream, result)
    written = 0
    waited = 0.0  # this thread waiting for the server (sending, and the end of the COPY)
    with preparers, cur.copy(copy_sql) as copy:
        for height, keys, data in results:
            written += height
            if keys is not None:
                seen.add(keys)
            if data:
                t = time.perf_counter()
                copy.write(data)
                waited += time.perf_counter() - t
        t = time.perf_counter()
    waited += time.perf_counter() - t
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
    for statement in restore:
        cur.execute(statement)
    clock.lap("build indexes")
    result.inserted = written


def _per_row_work(target: Target, cipher, stream: Iterator[pl.DataFrame], result: WriteResult, *,
                  spill: str | None = None) -> tuple[contextlib.AbstractContextManager, Iterator[tuple]]:
    """(context, results) of the batches' per-row work — a first load's (rowwork.first_load_work) or, with `spill`
    (a directory), a reload's first pass (rowwork.reload_work): by storage.preparing's worker processes when the first
    batch is large (this process then only streams), else by the producer thread ahead of this one (its seconds in
    `result.seconds`). Enter the context around the iteration: it ends the processes."""
    first = next(stream)
    stream = itertools.chain([first], stream)
    workers = preparing.worker_count()
    if workers > 1 and first.height >= settings.AGGREGATION.get("WRITE_PARALLEL_MIN_ROWS", 50_000):
        preparers = preparing.Preparers(workers, target, cipher, spill=spill)
        result.seconds["workers"] = workers
        return preparers, preparers.run(stream)
    if spill is None:
        work, label = _first_load_work(target, cipher), "prepare (thread)"
    else:
        work, label = _reload_work(target, cipher, spill=spill, name="thread"), "hash (thread)"
    result.seconds[label] = 0.0

    def timed(batch):
        t = time.perf_counter()
        out = work(batch)
        result.seconds[label] += time.perf_counter() - t
        return out

    return contextlib.nullcontext(), _ahead(timed, stream)


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


def _stamp_defaults(cur, target: Target, *, job_id, now) -> list[sql.Composable]:
    """The loading job and the load's time as the defaults of job_id, created_at and updated_at, for a first load's
    COPY: the same for every row, so the server fills them in instead of parsing ≈ 56 bytes a row of CSV (0.8 of its
    4.5 CPU-seconds a million rows). The table is held exclusively (its indexes are dropped): nothing else sees
    them; the statements that put the declared defaults back are returned (run before the load commits)."""
    cur.execute("SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a "
                "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
                "WHERE a.attrelid = %s::regclass AND a.attname IN ('job_id', 'created_at', 'updated_at')",
                [target.table])
    declared = dict(cur.fetchall())
    if len(declared) != 3:
        raise ValueError(f"{target.table} lacks job_id, created_at or updated_at")
    values = {"job_id": sql.Literal(job_id), "created_at": sql.Literal(now), "updated_at": sql.Literal(now)}

    def alter(defaults: dict[str, sql.Composable]) -> sql.Composable:
        return sql.SQL("ALTER TABLE {} ").format(target.ident) + sql.SQL(", ").join(
            sql.SQL("ALTER COLUMN {} SET DEFAULT {}").format(sql.Identifier(name), value) if value is not None
            else sql.SQL("ALTER COLUMN {} DROP DEFAULT").format(sql.Identifier(name))
            for name, value in defaults.items())

    cur.execute(alter(values))
    return [alter({name: None if expr is None else sql.SQL(expr) for name, expr in declared.items()})]


def _reload(cur, target: Target, stream, cipher, seen, result: WriteResult, clock, *, job_id, actor_id,
            reason, now, history_inserts: bool = False, changes: bool = False):
    """Into a table that holds rows, in two passes over the batches:

    1. every batch hashed (rowwork.reload_work: by storage.preparing's worker processes for a large reload, else by
       the producer thread, ahead) and its (row_no, key_hash, row_hash) streamed in ONE COPY into a digest temp
       table, the batch itself spilled to a temporary Arrow IPC file (memory stays a batch);
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
    with spill:
        cur.execute("CREATE TEMP TABLE pool_digests (row_no bigint NOT NULL, key_hash bytea NOT NULL, "
                    "row_hash bytea NOT NULL) ON COMMIT DROP")
        preparers, results = _per_row_work(target, cipher, stream, result, spill=spill.name)
        with preparers, cur.copy("COPY pool_digests FROM STDIN (FORMAT csv)") as copy:
            for _height, keys, data, path in results:
                if keys is not None:
                    seen.add(keys)
                if path is not None:
                    parts.append(path)
                if data:
                    copy.write(data)
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

        _stage_create(cur, target)
        with cur.copy(_stage_copy_sql(target)) as copy:
            for data in _ahead(stage_rows, iter(list(parts))):
                if data:
                    copy.write(data)
        result.seconds["encrypt+mask (thread)"] = prepared[0]
        cur.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(_STAGE)))
        clock.lap("stage")
    if changes or history_inserts:
        updated = _update_changes(cur, target, job_id=job_id, actor_id=actor_id, reason=reason, now=now)
        clock.lap("update")
        inserted = _insert_changes(cur, target, job_id=job_id, actor_id=actor_id, reason=reason, now=now,
                                   history=history_inserts)
        clock.lap("insert")
        result.updated, result.inserted = len(updated), len(inserted)
        if changes:
            result.changes = [(rid, hid, "update") for rid, hid in updated] + [
                (rid, hid, "insert") for rid, hid in inserted]
    else:
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
    # (IF EXISTS: an earlier write of this transaction — a data migration's stage_rows — may have left one)
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(_STAGE)))
    cur.execute(sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
        sql.Identifier(_STAGE), sql.SQL(", ").join(defs)))


def _stage_copy_sql(target: Target) -> sql.Composable:
    names = ["row_no", "id", "key_hash", *_written_columns(target)]
    return sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        sql.Identifier(_STAGE), sql.SQL(", ").join(map(sql.Identifier, names)))


# --------------------------------------------------------------------------------------------------
# Step 4: the writes


def _row_json(target: Target, alias: str) -> sql.Composable:
    """The stored row as JSON, {"token": …, item: value …} (empty values absent): a history row's before/after —
    reading.row_json_sql, the one builder of that form (the integrity check compares rows with it)."""
    return reading.row_json_sql([(c.item, c.column) for c in target.columns if c.column], alias)


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
    RETURNING id, record_id
)
{tail}
"""

# The new keys, in key-hash order (the unique index's pages fill one after the other); no history row.
_INSERT = """
INSERT INTO {table} (key_hash, {columns}, job_id, version, created_at, updated_at)
SELECT key_hash, {columns}, %(job)s, 1, %(now)s, %(now)s FROM {stage} WHERE id IS NULL ORDER BY key_hash
"""


def _update(cur, target: Target, *, job_id, actor_id, reason: str, now) -> int:
    _update_run(cur, target, sql.SQL("SELECT count(*) FROM hist"), job_id=job_id, actor_id=actor_id, reason=reason,
                now=now)
    return int(cur.fetchone()[0])


def _update_changes(cur, target: Target, *, job_id, actor_id, reason: str, now) -> list[tuple[int, int]]:
    """_update, giving (row id, history id) of each row updated."""
    _update_run(cur, target, sql.SQL("SELECT record_id, id FROM hist ORDER BY id"), job_id=job_id,
                actor_id=actor_id, reason=reason, now=now)
    return [(int(r), int(h)) for r, h in cur.fetchall()]


def _update_run(cur, target: Target, tail: sql.Composable, *, job_id, actor_id, reason: str, now) -> None:
    columns = _written_columns(target)
    cur.execute(sql.SQL(_UPDATE).format(
        stage=sql.Identifier(_STAGE), table=target.ident, before=_row_json(target, "t"), after=_row_json(target, "t"),
        assign=sql.SQL(", ").join(sql.SQL("{0} = c.{0}").format(sql.Identifier(c)) for c in columns), tail=tail,
    ), {"job": job_id, "now": now, "ds": target.dataset_id, "actor": actor_id, "reason": reason})


# The new keys from code (the push, corrections): their ids, and with `history` an insert history row each (before
# NULL, after the row in the writer's form: there is no file to prove it).
_INSERT_CHANGES = """
WITH ins AS (
    INSERT INTO {table} AS t (key_hash, {columns}, job_id, version, created_at, updated_at)
    SELECT key_hash, {columns}, %(job)s, 1, %(now)s, %(now)s FROM {stage} WHERE id IS NULL ORDER BY key_hash
    RETURNING t.id, {after} AS after
)
{tail}
"""
_INSERT_HISTORY = """, hist AS (
    INSERT INTO aggregation_recordhistory (record_id, dataset_id, op, before, after, actor_id, job_id, reason,
                                           changed_at)
    SELECT id, %(ds)s, 'insert', NULL, after, %(actor)s, %(job)s, %(reason)s, %(now)s FROM ins ORDER BY id
    RETURNING id, record_id
)
SELECT record_id, id FROM hist ORDER BY id"""


def _insert_changes(cur, target: Target, *, job_id, actor_id, reason: str, now, history: bool
                    ) -> list[tuple[int, int | None]]:
    """The new keys' rows inserted: (row id, history id — None without `history`) of each."""
    cur.execute(sql.SQL(_INSERT_CHANGES).format(
        stage=sql.Identifier(_STAGE), table=target.ident, after=_row_json(target, "t") if history else sql.NULL,
        columns=sql.SQL(", ").join(map(sql.Identifier, _written_columns(target))),
        tail=sql.SQL(_INSERT_HISTORY if history else "SELECT id, NULL FROM ins ORDER BY id"),
    ), {"job": job_id, "now": now, "ds": target.dataset_id, "actor": actor_id, "reason": reason})
    return [(int(r), None if h is None else int(h)) for r, h in cur.fetchall()]


def _insert(cur, target: Target, *, job_id, now) -> int:
    cur.execute(sql.SQL(_INSERT).format(
        stage=sql.Identifier(_STAGE), table=target.ident,
        columns=sql.SQL(", ").join(map(sql.Identifier, _written_columns(target)))), {"job": job_id, "now": now})
    return cur.rowcount



def duplicate_rows(keys: pl.DataFrame | None, key_item: str, *, cipher: FieldCipher) -> list[list[int]]:
    """Each key given more than once among `keys` (row_no, and the key's canonical text under `key_item`), its row
    numbers in order — the keys the writer's blind index equates, as write_batches reports them — without writing
    anything (a load that refuses its file still lists its duplicate keys)."""
    if keys is None or not keys.height:
        return []
    seen = _Keys()
    seen.add(keys.select(pl.col("row_no").cast(pl.Int64),
                         pl.Series("key_hash", _Hasher(cipher).blind(keys[key_item]), dtype=pl.Binary)))
    return seen.duplicates()[0]


# --------------------------------------------------------------------------------------------------
# Writes from code: kept items, one row locked, one row deleted

_KEEP = "_keep"


def _kept(cur, target: Target, batch: pl.DataFrame, cipher: FieldCipher, hasher: _Hasher) -> pl.DataFrame:
    """The batch without its `_keep` column, each row's kept items holding the subject's stored value: the live row
    of its key read here (under the writer's table lock, DateStyle ISO: clear columns as canonical text, encrypted
    items from the opened token); a key the table does not hold live keeps nothing (empty). Code batches are small:
    the cells are patched in Python."""
    if _KEEP not in batch.columns:
        return batch
    keep = batch[_KEEP].to_list()
    batch = batch.drop(_KEEP)
    at = [i for i, items in enumerate(keep) if items]
    if not at:
        return batch
    wanted = {item for i in at for item in keep[i]}
    by_item = {c.item: c for c in target.columns}
    if unknown := sorted(wanted - set(by_item)):
        raise ValueError(f"kept items that are not written: {unknown}")
    if target.key_item in wanted:
        raise ValueError("the subject key cannot be kept")
    keys = batch[target.key_item].cast(pl.Utf8).fill_null("").gather(at)
    hashes = hasher.blind(keys)
    plain = [by_item[n] for n in sorted(wanted) if by_item[n].column]
    secret = any(by_item[n].encrypted for n in wanted)
    cur.execute(sql.SQL("SELECT key_hash, {}{} FROM {} WHERE key_hash = ANY(%s) AND deleted_at IS NULL").format(
        sql.SQL("token") if secret else sql.NULL,
        sql.SQL("").join(sql.SQL(", {}::text").format(sql.Identifier(c.column)) for c in plain), target.ident),
        [sorted(set(hashes))])
    fetched = cur.fetchall()
    opened = reading.tokens_opened([r[1] for r in fetched], cipher) if secret else [{}] * len(fetched)
    stored: dict[bytes, dict[str, str]] = {}
    for (key_hash, _token, *texts), values in zip(fetched, opened, strict=True):
        if values is None:
            raise ValueError(f"{target.table}: a stored row's token does not authenticate, its items cannot be kept")
        stored[bytes(key_hash)] = {**values, **{c.item: t for c, t in zip(plain, texts, strict=True) if t is not None}}
    columns = {n: batch[n].cast(pl.Utf8).to_list() for n in sorted(wanted)}
    for i, key_hash in zip(at, hashes, strict=True):
        values = stored.get(key_hash, {})
        for item in keep[i]:
            columns[item][i] = values.get(item, "")
    return batch.with_columns(pl.Series(n, v, dtype=pl.Utf8) for n, v in columns.items())


def lock_row(dataset_id: int, row_id: int, *, include_deleted: bool = False) -> bool:
    """SELECT … FOR UPDATE of one row of `pool.r<dataset_id>` by id, in the caller's transaction (a writer of that
    row waits until it ends); whether the row exists (and is live, unless `include_deleted`)."""
    with transaction.atomic(), connection.wrap_database_errors:
        connection.ensure_connection()
        with connection.connection.cursor() as cur:
            cur.execute(sql.SQL("SELECT 1 FROM {} WHERE id = %s{} FOR UPDATE").format(
                table_ident(dataset_id), sql.SQL("" if include_deleted else " AND deleted_at IS NULL")), [row_id])
            return cur.fetchone() is not None


# One row soft-deleted (version + 1, updated_at, deleted_at) with its history row (before: the row in the writer's
# form, after NULL), read and written in one statement.
_DELETE = """
WITH prior AS MATERIALIZED (
    SELECT t.id, {before} AS prior FROM {table} t WHERE t.id = %(id)s AND t.deleted_at IS NULL
), up AS (
    UPDATE {table} t SET deleted_at = %(now)s, version = t.version + 1, updated_at = %(now)s
      FROM prior p WHERE t.id = p.id
    RETURNING t.id, p.prior
), hist AS (
    INSERT INTO aggregation_recordhistory (record_id, dataset_id, op, before, after, actor_id, job_id, reason,
                                           changed_at)
    SELECT id, %(ds)s, 'delete', prior, NULL, %(actor)s, NULL, %(reason)s, %(now)s FROM up
    RETURNING id
)
SELECT id FROM hist
"""


def delete_row(target: Target, row_id: int, *, actor_id: int | None, reason: str, now=None) -> int | None:
    """Soft-delete one live row by id, with its history row, in the caller's transaction (other writers of the table
    wait: the writer's lock); the history row's id, or None when the row is not there live."""
    now = now or timezone.now()
    with transaction.atomic(), connection.wrap_database_errors:
        connection.ensure_connection()
        with connection.connection.cursor() as cur:
            cur.execute("SELECT set_config('DateStyle', 'ISO, YMD', true)")  # (_row_json's text of dates)
            cur.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(target.ident))
            cur.execute(sql.SQL(_DELETE).format(table=target.ident, before=_row_json(target, "t")),
                        {"id": row_id, "now": now, "ds": target.dataset_id, "actor": actor_id, "reason": reason})
            found = cur.fetchone()
    return None if found is None else int(found[0])
