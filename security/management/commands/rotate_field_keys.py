"""`manage.py rotate_field_keys`: re-encrypt stored field values under the current key (R28.3 key rotation).

Rotation of the encryption key, online:
  1. put the new key first in FIELD_ENCRYPTION_KEYS, keep the old one after it ("k2:…,k1:…"), restart;
     new values are written under k2 at once, old ones still decrypt;
  2. run this command: every column registered with security.rotation (each app that stores values under the
     field keys registers its columns in its AppConfig.ready(): records and history, theme rows, API-client
     secrets, push-target connection strings) is re-encrypted batch by batch, keyset by primary key, one
     transaction per batch, each batch audited (security.keys.rotated_batch: table, column, count); safe to
     interrupt and run again (values already under the current key are skipped); `--dry-run` counts;
  3. run it again (or with --dry-run): it must report 0 everywhere; only then remove k1 from
     FIELD_ENCRYPTION_KEYS.

Rotation of the blind-index key (a maintenance window: lookups by key miss until it finishes): set the new
BLIND_INDEX_KEY and run with `--blind-index-from <old base64 key>`; each rotator recomputes its key hashes and
row digests from the decrypted values. Besides its batches every run is audited once at the end
(security.field_keys.rotated): the counts of each rotator, their sums, the key and whether blind indexes were
recomputed.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from portal import audit
from security import crypto, rotation


def _counted(key: str, n: int) -> str:
    """A count as words, e.g. 3 records, 2 history rows or 1 row of sharing_apiclient.secret_enc (a column's
    count is named table.column; a count named in the singular reads as rows)."""
    if "." in key:
        return f"{n} {'row' if n == 1 else 'rows'} of {key}"
    noun = key.replace("_", " ")
    return f"{n} {noun}" if noun.endswith("s") else f"{n} {noun} rows"


class Command(BaseCommand):
    help = "Re-encrypt stored field values under the current FIELD_ENCRYPTION_KEYS key (and recompute blind indexes)."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=2000, help="rows per transaction")
        parser.add_argument("--blind-index-from", default="", help="the previous BLIND_INDEX_KEY (base64url)")
        parser.add_argument("--dry-run", action="store_true", help="count what would change, write nothing")

    def handle(self, *args, batch: int, blind_index_from: str, dry_run: bool, **options):
        cipher = crypto.cipher()
        recompute = bool(blind_index_from)
        by_rotator: dict[str, dict[str, int]] = {}
        totals: dict[str, int] = {}

        def batch_done(table: str, column: str, count: int) -> None:
            # Called inside the batch's transaction: the event commits (or rolls back) with the batch's writes.
            audit.record(actor=None, action="security.keys.rotated_batch", object_type="security.field_keys",
                         object_repr=f"{table}.{column}",
                         data={"table": table, "column": column, "count": count, "key": cipher.current_kid})

        for name, rotate in rotation.registered().items():
            counts = rotate(cipher=cipher, batch=batch, recompute_blind_index=recompute, dry_run=dry_run,
                            on_batch=batch_done)
            by_rotator[name] = dict(counts)
            for key, n in counts.items():
                totals[key] = totals.get(key, 0) + n
        if not dry_run:
            with transaction.atomic():
                audit.record(actor=None, action="security.field_keys.rotated", object_type="security.field_keys",
                             object_repr="field encryption keys",
                             data={**by_rotator, **totals, "key": cipher.current_kid,
                                   "blind_index_recomputed": recompute})
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        if len(by_rotator) > 1:
            for name, counts in by_rotator.items():
                self.stdout.write(f"  {name}: " + ", ".join(_counted(k, n) for k, n in counts.items()))
        done = " and ".join(_counted(k, n) for k, n in totals.items()) or "nothing (no rotator registered)"
        self.stdout.write(f"{verb} {done} under key {cipher.current_kid}"
                          + ("; blind indexes recomputed" if recompute else ""))
