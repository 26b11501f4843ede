"""Key rotation and re-masking of a resource table `pool.r<dataset id>` (issue 18, the contract step): what
services.pools.records_rotate and masked_forms_sync do when the writers write the tables only
(settings.AGGREGATION["WRITE_RECORDS"] off; aggregation_record is not touched).

`table_rotate`, in the caller's transaction (the caller holds the dataset's row locked, as a load does), the table
locked against other writers (SHARE ROW EXCLUSIVE, as storage.writing locks it):

1. the rows whose token is not under the current key (every row with `recompute_blind_index`), keyset by id, a batch
   at a time (reading.rows: memory bounded by the batch): the tokens opened together (reading.open_tokens) and their
   plain text sealed again under the current key (writing.resealer: the same JSON bytes, so retired items stay in
   it), the key_hash recomputed (rowwork.Hasher: FieldCipher.blind_index's bytes) and the row digest
   (encryption.row_digests: the writer's definition, over the current items' non-empty values); the batch is COPYed
   into a temp table (pool_rotated: id, old token, new token, key_hash, row_hash) and written by ONE UPDATE;
2. the dataset's history rows (aggregation_recordhistory, found by the table's ids through the (record, id) index)
   that hold a token not under the current key: a writer's-form row's "token" that is its row's old token takes the
   row's new one (pool_rotated), so the current version and its last history row stay byte-identical (the integrity
   check compares them); any other token — an earlier version's, an old records-form row's per-item tokens (equal
   tokens of a batch get equal new ones) — is opened and sealed again; COPY + ONE UPDATE per batch, under the
   history trigger's rotation switch (migration 0001).

`on_batch(table, columns, count)` is called after each batch's write (the command audits there); with `dry_run`
nothing is written and the counts are what would change.

`case_key_hashes` copies each verification case's subject index from its row after a blind-index rotation.

`table_remask` recomputes the masked columns m<n> (Layout.masked: the kind each holds) from the clear columns and
the opened tokens (security.masking.mask_many), a batch per transaction holding the dataset's row locked and the
table against writers; ONE UPDATE per batch writes the rows whose forms differ.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import polars as pl
from django.db import connection, transaction
from psycopg import sql

from security import crypto
from security.crypto import DecryptionError, FieldCipher
from security.masking import mask_many

from ..ingest.encryption import row_digests
from ..models import Dataset
from . import reading, writing
from .layout import Layout, column_ident
from .rowwork import Hasher, hex_text

BATCH = 5000
# What a token looks like (security.crypto's shape: key id ":" base64url), as a POSIX regular expression: the history
# rows worth reading; Python decides (crypto.is_encrypted, FieldCipher.is_current).
_TOKEN_SHAPE = r"^[A-Za-z0-9_-]{1,16}:[A-Za-z0-9_-]{38,}={0,2}$"  # noqa: S105 (a pattern, not a secret)
_REMASK = "pool_remask"


def _no_batch_hook(table: str, column: str, count: int) -> None:
    return None


# The dataset's history rows of a batch of its rows holding a token not under the current key, with the row's old and
# new token when this run re-sealed it.
_HISTORY = """
SELECT h.id, h.before::text, h.after::text, m.old_token, m.token
  FROM aggregation_recordhistory h LEFT JOIN pool_rotated m ON m.id = h.record_id
 WHERE h.record_id = ANY(%(ids)s) AND h.dataset_id = %(ds)s AND (
       EXISTS (SELECT 1 FROM jsonb_each_text(CASE WHEN jsonb_typeof(h.before) = 'object' THEN h.before END) e
                WHERE e.value ~ %(shape)s AND NOT starts_with(e.value, %(prefix)s))
    OR EXISTS (SELECT 1 FROM jsonb_each_text(CASE WHEN jsonb_typeof(h.after) = 'object' THEN h.after END) e
                WHERE e.value ~ %(shape)s AND NOT starts_with(e.value, %(prefix)s)))
 ORDER BY h.id
"""


def table_rotate(dataset: Dataset, *, cipher: FieldCipher, batch: int = BATCH, recompute_blind_index: bool = False,
                 dry_run: bool = False,
                 on_batch: Callable[[str, str, int], None] = _no_batch_hook) -> dict[str, int]:
    """Re-seal the dataset's table and history rows under `cipher`'s current key (module docstring), in the caller's
    transaction; {"records": rows, "history": history rows} changed (or that would change, with `dry_run`)."""
    layout = Layout.stored(dataset)
    counts = {"records": 0, "history": 0}
    many, one = writing.resealer(cipher)
    hasher = Hasher(cipher)
    connection.ensure_connection()
    with connection.connection.cursor() as cur:
        cur.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(layout.table))
        cur.execute("DROP TABLE IF EXISTS pool_rotated, pool_rotated_history")
        cur.execute("CREATE TEMP TABLE pool_rotated (id bigint PRIMARY KEY, old_token text, token text, "
                    "key_hash bytea NOT NULL, row_hash bytea NOT NULL) ON COMMIT DROP")
        cur.execute("CREATE TEMP TABLE pool_rotated_history (id bigint PRIMARY KEY, before text, after text) "
                    "ON COMMIT DROP")
        update = sql.SQL("UPDATE {} t SET token = s.token, key_hash = s.key_hash, row_hash = s.row_hash "
                         "FROM pool_rotated s WHERE t.id = s.id AND s.id BETWEEN %s AND %s").format(layout.table)
        last = None
        while True:
            rows = reading.rows(dataset, after_id=last, include_deleted=True, limit=batch,
                                token_not_under=None if recompute_blind_index else cipher.current_kid)
            if not rows:
                break
            last = rows[-1].id
            frame = _rotated(layout, dataset.key_item_name, rows, cipher, many, hasher)
            counts["records"] += len(rows)
            if dry_run:
                continue
            with cur.copy("COPY pool_rotated (id, old_token, token, key_hash, row_hash) FROM STDIN (FORMAT csv)") as c:
                c.write(frame.select("id", "old_token", "token", hex_text("key_hash"), hex_text("row_hash"))
                        .write_csv(include_header=False, null_value=""))
            cur.execute(update, [rows[0].id, last])
            on_batch(layout.qualified, "token, key_hash, row_hash", len(rows))
        counts["history"] = _history(cur, dataset, cipher, one, batch=batch, dry_run=dry_run, on_batch=on_batch)
        cur.execute("DROP TABLE pool_rotated, pool_rotated_history")
    return counts


def _rotated(layout: Layout, key_item: str, rows: list[reading.Row], cipher: FieldCipher, many,
             hasher: Hasher) -> pl.DataFrame:
    """id, old_token, token (sealed again unless already under the current key), key_hash, row_hash of `rows`."""
    tokens = [r.token for r in rows]
    held = [i for i, t in enumerate(tokens) if t]
    texts: list[str | None] = [None] * len(rows)
    broken = []
    for i, text in zip(held, reading.open_tokens([tokens[i] for i in held], cipher), strict=True):
        if text is None:
            broken.append(rows[i].id)
        texts[i] = text
    if broken:
        raise DecryptionError(f"{layout.qualified}: the tokens of rows {broken[:20]} do not authenticate")
    prefix = cipher.current_kid + ":"
    stale = [i for i in held if not tokens[i].startswith(prefix)]
    new_tokens = list(tokens)
    for i, token in zip(stale, many([texts[i] for i in stale]), strict=True):
        new_tokens[i] = token
    opened = [json.loads(t) if t else {} for t in texts]
    plain = [name for name, _c, _t in layout.plain(retired=False)]
    encrypted = layout.encrypted()
    columns = {name: [r.values.get(name) for r in rows] for name in plain}
    columns.update({name: [o.get(name) for o in opened] for name in encrypted})
    values = pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.Utf8))
    keys = values[key_item]
    if keys.is_null().any() or (keys.str.strip_chars() == "").any():
        raise ValueError(f"{layout.qualified}: a row has no subject key")
    return pl.DataFrame({
        "id": [r.id for r in rows], "old_token": tokens, "token": new_tokens, "key_hash": hasher.blind(keys),
        "row_hash": row_digests(cipher, values),
    }, schema={"id": pl.Int64, "old_token": pl.Utf8, "token": pl.Utf8, "key_hash": pl.Binary, "row_hash": pl.Binary})


def _history(cur, dataset: Dataset, cipher: FieldCipher, one, *, batch: int, dry_run: bool, on_batch) -> int:
    """Re-seal the tokens of the dataset's history rows (module docstring, step 2); the rows changed."""
    count = 0
    last = None
    prefix = cipher.current_kid + ":"
    while True:
        ids = [r.id for r in reading.rows(dataset, items=[], after_id=last, include_deleted=True, limit=batch)]
        if not ids:
            return count
        last = ids[-1]
        cur.execute(_HISTORY, {"ids": ids, "ds": dataset.pk, "shape": _TOKEN_SHAPE, "prefix": prefix})
        resealed: dict[str, str] = {}
        updates = []
        for hid, before, after, old_token, new_token in cur.fetchall():
            before, b = _resealed(before, old_token, new_token, cipher, one, resealed)
            after, a = _resealed(after, old_token, new_token, cipher, one, resealed)
            if a or b:
                updates.append((hid, before, after))
        count += len(updates)
        if not updates or dry_run:
            continue
        frame = pl.DataFrame(updates, schema={"id": pl.Int64, "before": pl.Utf8, "after": pl.Utf8}, orient="row")
        with cur.copy("COPY pool_rotated_history (id, before, after) FROM STDIN (FORMAT csv)") as c:
            c.write(frame.write_csv(include_header=False, null_value=""))
        cur.execute("SELECT set_config('aggregation.rotating', 'on', true)")
        cur.execute("UPDATE aggregation_recordhistory h SET before = s.before::jsonb, after = s.after::jsonb "
                    "FROM pool_rotated_history s WHERE h.id = s.id")
        cur.execute("SELECT set_config('aggregation.rotating', 'off', true)")
        cur.execute("TRUNCATE pool_rotated_history")
        on_batch("aggregation_recordhistory", "before, after", len(updates))


def _resealed(text: str | None, old_token: str | None, new_token: str | None, cipher: FieldCipher, one,
              resealed: dict[str, str]) -> tuple[str | None, bool]:
    """A history row's before/after (JSON text) with every token not under the current key sealed again: its row's
    old token becomes the row's new one; any other token is opened and sealed again (equal ones alike)."""
    if text is None:
        return None, False
    data = json.loads(text)
    if not isinstance(data, dict):
        return text, False
    changed = False
    for name, value in data.items():
        if not (isinstance(value, str) and crypto.is_encrypted(value)) or cipher.is_current(value):
            continue
        if value == old_token and new_token:
            data[name] = new_token
        else:
            if value not in resealed:
                resealed[value] = one(value)
            data[name] = resealed[value]
        changed = True
    return (json.dumps(data, ensure_ascii=False) if changed else text), changed


def case_key_hashes(dataset: Dataset, *, batch: int = BATCH, dry_run: bool = False,
                    on_batch: Callable[[str, str, int], None] = _no_batch_hook) -> int:
    """Each verification case of the dataset takes its row's key_hash where they differ (after a blind-index
    rotation), a batch per transaction; the number of cases (that would be) changed."""
    layout = Layout.stored(dataset)
    select = sql.SQL(
        "SELECT v.id, t.key_hash FROM aggregation_verificationcase v JOIN {} t ON t.id = v.record_id"
        " WHERE v.dataset_id = %s AND v.id > %s AND v.key_hash <> t.key_hash ORDER BY v.id LIMIT %s FOR UPDATE OF v"
    ).format(layout.table)
    count, last = 0, 0
    while True:
        with transaction.atomic():
            connection.ensure_connection()
            with connection.connection.cursor() as cur:
                cur.execute(select, [dataset.pk, last, batch])
                rows = cur.fetchall()
                if not rows:
                    return count
                last = rows[-1][0]
                if not dry_run:
                    cur.execute("UPDATE aggregation_verificationcase v SET key_hash = u.h FROM unnest(%s::bigint[], "
                                "%s::bytea[]) AS u(id, h) WHERE v.id = u.id",
                                [[r[0] for r in rows], [bytes(r[1]) for r in rows]])
                    on_batch("aggregation_verificationcase", "key_hash", len(rows))
                count += len(rows)


def table_remask(dataset: Dataset, *, batch: int = BATCH, cipher: FieldCipher | None = None) -> int:
    """Recompute the stored masked forms (the m<n> columns, each of its layout kind) of every row of the dataset's
    table, deleted ones too, from the clear values and the opened tokens; the number of rows whose forms changed. A
    token that does not authenticate gives no form (as the records' remask). Each batch is read and written in its own
    transaction holding the dataset's row locked, as a load does, and the table against other writers."""
    layout = Layout.stored(dataset)
    masks = [(item, m, kind) for item, m, kind in layout.masked(retired=False) if kind]
    if not masks:
        return 0
    cipher = cipher or writing.cipher()
    items = [item for item, _m, _k in masks]
    secret = any(not layout.columns[item].get("col") for item in items)
    mask_cols = [m for _i, m, _k in masks]
    update = sql.SQL("UPDATE {} t SET {} FROM {} s WHERE t.id = s.id").format(
        layout.table, sql.SQL(", ").join(sql.SQL("{0} = s.{0}").format(column_ident(m)) for m in mask_cols),
        sql.Identifier(_REMASK))
    changed, last = 0, None
    while True:
        with transaction.atomic():
            Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
            connection.ensure_connection()
            with connection.connection.cursor() as cur:
                cur.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(layout.table))
                rows = reading.rows(dataset, items=items, after_id=last, include_deleted=True, limit=batch)
                if not rows:
                    return changed
                last = rows[-1].id
                secrets = reading.decrypted(rows, cipher) if secret else [{}] * len(rows)
                forms = {}
                for item, m, kind in masks:
                    clear = bool(layout.columns[item].get("col"))
                    values = [(r.values.get(item) if clear else (s or {}).get(item)) or ""
                              for r, s in zip(rows, secrets, strict=True)]
                    held = [i for i, v in enumerate(values) if v]
                    out: list[str | None] = [None] * len(rows)
                    for i, form in zip(held, mask_many([values[i] for i in held], kind), strict=True):
                        out[i] = form or None
                    forms[m] = out
                differ = [i for i, r in enumerate(rows)
                          if any(forms[m][i] != r.masked.get(item) for item, m, _k in masks)]
                if not differ:
                    continue
                frame = pl.DataFrame({"id": [rows[i].id for i in differ],
                                      **{m: [forms[m][i] for i in differ] for m in mask_cols}},
                                     schema={"id": pl.Int64, **dict.fromkeys(mask_cols, pl.Utf8)})
                cur.execute(f"DROP TABLE IF EXISTS {_REMASK}")
                cur.execute(sql.SQL("CREATE TEMP TABLE {} (id bigint PRIMARY KEY, {}) ON COMMIT DROP").format(
                    sql.Identifier(_REMASK), sql.SQL(", ").join(sql.SQL("{} text").format(column_ident(m))
                                                                for m in mask_cols)))
                with cur.copy(sql.SQL("COPY {} FROM STDIN (FORMAT csv)").format(sql.Identifier(_REMASK))) as c:
                    c.write(frame.write_csv(include_header=False, null_value=""))
                cur.execute(update)
                changed += cur.rowcount
                cur.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(_REMASK)))
