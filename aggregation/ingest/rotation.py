"""Key rotation of the pooled records (R28.3): re-encrypt `aggregation_record` and `aggregation_recordhistory`.

Registered with security.rotation as "aggregation.records" (AggregationConfig.ready()); `manage.py
rotate_field_keys` calls it. Every record, and every history row (under a transaction-local switch the history
trigger honours, migration 0001), is re-encrypted batch by batch, one transaction per batch; safe to interrupt
and run again (values already under the current key are skipped). With `recompute_blind_index` (a new
BLIND_INDEX_KEY), key hashes and row digests are recomputed from the decrypted values, and then (registered
after it as "aggregation.verification_cases") the verification cases' copies of their record's key hash.
Each batch's writes are reported through `on_batch` (the command audits them in the batch's transaction).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.db import connection, transaction

from security import crypto

from .encryption import row_digest


def _reencrypt_json(value, cipher: crypto.FieldCipher, token_map: dict[str, str]):
    """The same JSON with every token not under the current key re-encrypted; equal old tokens get equal new
    tokens (token_map), so a record and its last history row stay byte-identical (record_integrity)."""
    changed = False
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(v, str) and crypto.is_encrypted(v) and not cipher.is_current(v):
                if v not in token_map:
                    token_map[v] = cipher.encrypt(cipher.decrypt(v))
                out[k] = token_map[v]
                changed = True
            else:
                out[k] = v
        return out, changed
    return value, False


COVERS = [("aggregation_record", "key_enc"), ("aggregation_record", "data"),
          ("aggregation_recordhistory", "before"), ("aggregation_recordhistory", "after")]


def _no_batch_hook(table: str, column: str, count: int) -> None:
    return None


def rotate_records(*, cipher: crypto.FieldCipher, batch: int, recompute_blind_index: bool, dry_run: bool,
                   on_batch: Callable[[str, str, int], None] = _no_batch_hook) -> dict[str, int]:
    """Re-encrypt records and their history rows under `cipher`'s current key; {"records": n, "history": m}
    (rows changed, or that would change with `dry_run`, which writes nothing). `on_batch(table, columns, count)`
    is called in each batch's transaction after its writes (security.rotation)."""
    recompute = recompute_blind_index
    counts = {"records": 0, "history": 0}
    last = 0
    while True:
        # One transaction per batch of records and their history rows.
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL aggregation.rotating = 'on'")
            cur.execute(
                "SELECT id, key_enc, data FROM aggregation_record WHERE id > %s ORDER BY id LIMIT %s FOR UPDATE",
                [last, batch],
            )
            rows = cur.fetchall()
            if not rows:
                break
            last = rows[-1][0]
            token_map: dict[str, str] = {}
            updates = []
            for rid, key_enc, data in rows:
                data = json.loads(data) if isinstance(data, str) else data
                new_data, changed = _reencrypt_json({**data, "\x00key": key_enc}, cipher, token_map)
                new_key_enc = new_data.pop("\x00key")
                if not (changed or recompute):
                    continue
                plain = {k: (cipher.decrypt(v) if crypto.is_encrypted(v) else v) for k, v in new_data.items()
                         if v not in (None, "")}
                updates.append((new_key_enc, json.dumps(new_data, ensure_ascii=False),
                                cipher.blind_index(cipher.decrypt(new_key_enc)), row_digest(cipher, plain), rid))
            if updates and not dry_run:
                cur.executemany(
                    "UPDATE aggregation_record SET key_enc = %s, data = %s::jsonb, key_hash = %s, row_hash = %s "
                    "WHERE id = %s",
                    updates,
                )
                on_batch("aggregation_record", "key_enc, data", len(updates))
            counts["records"] += len(updates)
            cur.execute(
                "SELECT id, before, after FROM aggregation_recordhistory WHERE record_id = ANY(%s) ORDER BY id",
                [[r[0] for r in rows]],
            )
            hist_updates = []
            for hid, before, after in cur.fetchall():
                before = json.loads(before) if isinstance(before, str) else before
                after = json.loads(after) if isinstance(after, str) else after
                new_before, b = _reencrypt_json(before, cipher, token_map)
                new_after, a = _reencrypt_json(after, cipher, token_map)
                if a or b:
                    hist_updates.append((
                        json.dumps(new_before, ensure_ascii=False) if new_before is not None else None,
                        json.dumps(new_after, ensure_ascii=False) if new_after is not None else None, hid))
            if hist_updates and not dry_run:
                cur.executemany(
                    "UPDATE aggregation_recordhistory SET before = %s::jsonb, after = %s::jsonb WHERE id = %s",
                    hist_updates,
                )
                on_batch("aggregation_recordhistory", "before, after", len(hist_updates))
            counts["history"] += len(hist_updates)
    return counts


def rotate_case_key_hashes(*, cipher: crypto.FieldCipher, batch: int, recompute_blind_index: bool, dry_run: bool,
                           on_batch: Callable[[str, str, int], None] = _no_batch_hook) -> dict[str, int]:
    """On a blind-index rotation, copy each verification case's subject index from its record (which
    rotate_records, registered before this, has recomputed); {"verification case indexes": n}. The cases hold no
    ciphertext, so a field-key rotation leaves them alone."""
    count = 0
    if not recompute_blind_index:
        return {"verification case indexes": count}
    last = 0
    while True:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                "SELECT v.id, r.key_hash FROM aggregation_verificationcase v JOIN aggregation_record r"
                " ON r.id = v.record_id WHERE v.id > %s AND v.key_hash <> r.key_hash ORDER BY v.id LIMIT %s"
                " FOR UPDATE OF v",
                [last, batch],
            )
            rows = cur.fetchall()
            if not rows:
                break
            last = rows[-1][0]
            if not dry_run:
                cur.executemany("UPDATE aggregation_verificationcase SET key_hash = %s WHERE id = %s",
                                [(key_hash, cid) for cid, key_hash in rows])
                on_batch("aggregation_verificationcase", "key_hash", len(rows))
            count += len(rows)
    return {"verification case indexes": count}
