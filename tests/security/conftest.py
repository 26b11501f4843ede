"""Security test fixtures.

TEMPORARY (wave 1 of issue 13): until h/aggregation is merged — where AggregationConfig.ready() registers
aggregation's own rotator with security.rotation as "aggregation.records" — the rotation tests register the
record/history re-encryption as it stood in `rotate_field_keys` before the registry (`aggregation_rotator`).
Delete `aggregation_rotator`, `_rotate_records` and `_reencrypt_json` at the merge.
"""

import json

import pytest
from django.db import connection, transaction

from security import crypto


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


def _rotate_records(*, cipher: crypto.FieldCipher, batch: int, recompute_blind_index: bool,
                    dry_run: bool) -> dict[str, int]:
    from aggregation.ingest import row_digest

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
            counts["history"] += len(hist_updates)
    return counts


@pytest.fixture
def aggregation_rotator(monkeypatch):
    """Aggregation's records and history in the rotation registry (a no-op once aggregation registers its own)."""
    from security import rotation

    if "aggregation.records" not in rotation.registered():
        monkeypatch.setattr(rotation, "_rotators", {**rotation.registered(), "aggregation.records": _rotate_records})
