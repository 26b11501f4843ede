"""`manage.py rotate_field_keys`: re-encrypt stored field values under the current key (R28.3 key rotation).

Rotation of the encryption key, online:
  1. put the new key first in FIELD_ENCRYPTION_KEYS, keep the old one after it ("k2:…,k1:…"), restart;
     new values are written under k2 at once, old ones still decrypt;
  2. run this command: every record, and every history row (under a transaction-local switch the history
     trigger honours), is re-encrypted batch by batch, one transaction per batch; safe to interrupt and
     run again (values already under the current key are skipped);
  3. remove k1 from FIELD_ENCRYPTION_KEYS once the command reports nothing left.

Rotation of the blind-index key (a maintenance window: lookups by key miss until it finishes): set the new
BLIND_INDEX_KEY and run with `--blind-index-from <old base64 key>`; key hashes and row digests are recomputed
from the decrypted values. Every run is audited (security.field_keys.rotated).
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from portal import audit
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


class Command(BaseCommand):
    help = "Re-encrypt stored field values under the current FIELD_ENCRYPTION_KEYS key (and recompute blind indexes)."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=2000)
        parser.add_argument("--blind-index-from", default="", help="the previous BLIND_INDEX_KEY (base64url)")
        parser.add_argument("--dry-run", action="store_true", help="count what would change, write nothing")

    def handle(self, *args, batch: int, blind_index_from: str, dry_run: bool, **options):
        from aggregation.ingest import row_digest

        cipher = crypto.cipher()
        recompute = bool(blind_index_from)
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
        if not dry_run:
            with transaction.atomic():
                audit.record(actor=None, action="security.field_keys.rotated", object_type="aggregation.record",
                             object_repr="field encryption keys",
                             data={**counts, "key": cipher.current_kid, "blind_index_recomputed": recompute})
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        self.stdout.write(f"{verb} {counts['records']} records and {counts['history']} history rows "
                          f"under key {cipher.current_kid}" + ("; blind indexes recomputed" if recompute else ""))
