"""Staging and the set-based upsert: COPY into a session-local stage table, de-duplicate, then two set-based
statements write records and their history in the caller's transaction."""

from __future__ import annotations

import contextlib
import json
import re

from django.conf import settings
from django.db import connection

from security.crypto import DecryptionError, is_encrypted

STAGE_COLUMNS = "row_no, key_hash, key_enc, data, masked, row_hash"


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


def stage_duplicates(cursor, name: str) -> list[tuple[list[int], str]]:
    """Keys that occur more than once in the stage: (their stage row numbers in file order, one key token); the
    last row of each is the one `stage_dedupe` keeps."""
    cursor.execute(  # `name` is our own identifier (stage_create checks it)
        f"SELECT array_agg(row_no ORDER BY row_no), min(key_enc) FROM {name} "  # noqa: S608
        "GROUP BY key_hash HAVING count(*) > 1 ORDER BY min(row_no)"
    )
    return [(list(rows), key) for rows, key in cursor.fetchall()]


def stage_keep_items(cursor, name: str, *, dataset_id: int, items: list[str], cipher, batch: int = 5000,
                     rows: dict[int, list[str]] | None = None) -> int:
    """Keep the stored values of `items` (data items the file does not hold) in the stage rows of keys the dataset
    holds: each such row gets the record's stored value (token or text, as stored) and stored masked form of each of
    those items, and its row digest is recomputed over the merged plain values (encryption.row_digest), so the
    upsert sees an unchanged row as unchanged. Run inside the load's transaction, the dataset locked. Returns the
    number of stage rows that kept a value.

    `rows` ({row_no: items}) narrows it per row, for a push whose rows each leave out their own items: only those
    stage rows are merged, each with its own items (`items` is then their union)."""
    from .encryption import row_digest

    if not _IDENT.match(name):
        raise ValueError(f"bad stage table name {name!r}")
    only = list(rows) if rows is not None else None  # the stage rows to merge (None: every row)
    cursor.execute(
        f"SELECT s.row_no, s.data, s.masked, r.data, r.masked FROM {name} s "  # noqa: S608
        "JOIN aggregation_record r ON r.dataset_id = %s AND r.key_hash = s.key_hash AND r.deleted_at IS NULL "
        "WHERE jsonb_exists_any(r.data, %s) AND (%s::bigint[] IS NULL OR s.row_no = ANY(%s::bigint[]))",
        [dataset_id, items, only, only])
    kept = 0
    while True:
        fetched = cursor.fetchmany(batch)
        if not fetched:
            return kept
        updates = []
        for row_no, data, masked, stored, stored_masked in fetched:
            data, masked = json.loads(data), json.loads(masked)
            stored = json.loads(stored) if isinstance(stored, str) else stored
            stored_masked = json.loads(stored_masked) if isinstance(stored_masked, str) else (stored_masked or {})
            for item in items if rows is None else rows[row_no]:
                if stored.get(item) not in (None, "") and item not in data:
                    data[item] = stored[item]
                    for kind, forms in stored_masked.items():
                        if item in forms:
                            masked.setdefault(kind, {})[item] = forms[item]
            plain = {}
            for k, v in data.items():
                text = str(v)
                if is_encrypted(text):
                    # (a token that does not decrypt: the digest is over the token, so the row reads as changed)
                    with contextlib.suppress(DecryptionError):
                        text = cipher.decrypt(text)
                plain[k] = text
            updates.append((row_no, json.dumps(data, ensure_ascii=False), json.dumps(masked, ensure_ascii=False),
                            row_digest(cipher, plain)))
        kept += len(updates)
        with connection.cursor() as upd:
            upd.execute(
                f"UPDATE {name} s SET data = u.data, masked = u.masked, row_hash = u.row_hash "  # noqa: S608
                "FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::bytea[]) AS u(row_no, data, masked, row_hash) "
                "WHERE s.row_no = u.row_no",
                [[u[0] for u in updates], [u[1] for u in updates], [u[2] for u in updates], [u[3] for u in updates]])


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
#    record itself while there is none (selectors.pools.history_rows resolves it; record_integrity checks it against the
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
