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

from django.core.management.base import BaseCommand
from django.db import transaction

from portal import audit
from security import crypto, rotation


class Command(BaseCommand):
    help = "Re-encrypt stored field values under the current FIELD_ENCRYPTION_KEYS key (and recompute blind indexes)."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=2000)
        parser.add_argument("--blind-index-from", default="", help="the previous BLIND_INDEX_KEY (base64url)")
        parser.add_argument("--dry-run", action="store_true", help="count what would change, write nothing")

    def handle(self, *args, batch: int, blind_index_from: str, dry_run: bool, **options):
        cipher = crypto.cipher()
        recompute = bool(blind_index_from)
        counts = {"records": 0, "history": 0}
        # Each app that stores ciphertext registered its rotator (security.rotation) in its AppConfig.ready().
        for rotate in rotation.registered().values():
            done = rotate(cipher=cipher, batch=batch, recompute_blind_index=recompute, dry_run=dry_run)
            for name, n in done.items():
                counts[name] = counts.get(name, 0) + n
        if not dry_run:
            with transaction.atomic():
                audit.record(actor=None, action="security.field_keys.rotated", object_type="aggregation.record",
                             object_repr="field encryption keys",
                             data={**counts, "key": cipher.current_kid, "blind_index_recomputed": recompute})
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        self.stdout.write(f"{verb} {counts['records']} records and {counts['history']} history rows "
                          f"under key {cipher.current_kid}" + ("; blind indexes recomputed" if recompute else ""))
