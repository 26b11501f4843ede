"""Day bundles of the audit trail (R29.1): one file an outside party checks with `clients/audit_verify_bundle.py`.

A bundle holds the chain positions whose seals were made on one day (local time, TIME_ZONE): every event exactly as
hashed, every link, every seal with its signature and kid, the public keys of the seal key(s), and the hash before
the day's first position (the previous day's last hash, the genesis hash, or a purge record's head). Days chain: a
day's `prev_hash` is the previous day's last link's `hash`.

Format (gzip of JSON lines, UTF-8; documented for outsiders in clients/README.md):

    line 1  {"format": "jiaozuo-audit-bundle", "version": 1, "date", "timezone", "first_seq", "last_seq",
             "prev_hash", "events", "seals", "public_keys": [{"alg", "kid", "public_key"}], "generated_at",
             "hash_rule", "seal_statement"}
    then    {"type": "seal", "first_seq", "last_seq", "count", "head_hash", "sealed_at", "kid", "signature"} …
    then    {"type": "link", "seq", "prev_hash", "hash", "event": {the canonical event fields} | null} … (seq order)

The event object is `json.loads(portal.audit.canonical_json(row))`: dumping it again with sorted keys, no whitespace
and non-ASCII kept gives the exact hashed text. hash = SHA-256 hex of (prev_hash + that text).
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
from dataclasses import dataclass
from typing import IO, Any

from django.db import connection
from django.utils import timezone

from portal import audit, keys
from portal.audit_verify import link_rows
from portal.models import AuditChainLink, AuditPurge, AuditSeal

FORMAT = "jiaozuo-audit-bundle"
VERSION = 1
HASH_RULE = ("hash = sha256_hex(prev_hash + canonical(event)); canonical = JSON, keys sorted, separators (',', ':'),"
             " non-ASCII kept, UTF-8; the first position's prev_hash is 64 zeros")
SEAL_STATEMENT = ("Ed25519 over JSON of {count, first_seq, head_hash, kid, last_seq, sealed_at}, keys sorted, no"
                  " whitespace, UTF-8; signature base64url without padding")


@dataclass(frozen=True)
class BundleFacts:
    date: dt.date
    first_seq: int | None
    last_seq: int | None
    events: int
    seals: int
    sha256: str
    size: int


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


def day_seals(day: dt.date):
    start, end = day_bounds(day)
    return AuditSeal.objects.filter(sealed_at__gte=start, sealed_at__lt=end).order_by("first_seq")


def _prev_hash(first_seq: int) -> str:
    if first_seq <= 1:
        return audit.GENESIS
    before = AuditChainLink.objects.filter(seq=first_seq - 1).values_list("hash", flat=True).first()
    if before is not None:
        return before
    purge = AuditPurge.objects.filter(last_seq=first_seq - 1).values_list("head_hash", flat=True).first()
    return purge or ""  # nothing vouches for the predecessor: the verifier reports a link break


def public_keys() -> list[dict[str, str]]:
    return [{"alg": keys.ALG, "kid": kid, "public_key": keys.b64encode(key.public_raw)}
            for kid, key in audit.seal_public_keys().items()]


def current_kid() -> str:
    return audit.seal_key().kid


def _line(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


class _Hashing(io.RawIOBase):
    """Passes writes to `out` and hashes them (the file's SHA-256 without reading it again)."""

    def __init__(self, out: IO[bytes]):
        self.out, self.sha, self.size = out, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.sha.update(b)
        self.size += len(b)
        return self.out.write(b) or len(b)


def write_bundle(day: dt.date, out: IO[bytes], *, upto_seq: int | None = None) -> BundleFacts:
    """Write `day`'s bundle to the binary file `out`; (range, counts, SHA-256 and size of what was written).

    `upto_seq` leaves out seals ending after it (the purge archives exactly what it deletes)."""
    seals = list(day_seals(day).values("first_seq", "last_seq", "count", "head_hash", "sealed_at", "kid",
                                       "signature"))
    if upto_seq is not None:
        seals = [s for s in seals if s["last_seq"] <= upto_seq]
    first = seals[0]["first_seq"] if seals else None
    last = max(s["last_seq"] for s in seals) if seals else None
    events = 0
    sink = _Hashing(out)
    with gzip.GzipFile(fileobj=sink, mode="wb", mtime=0) as gz:
        gz.write(_line({
            "format": FORMAT, "version": VERSION, "date": day.isoformat(),
            "timezone": str(timezone.get_current_timezone()),
            "first_seq": first, "last_seq": last, "prev_hash": _prev_hash(first) if first else "",
            "events": 0 if first is None else last - first + 1, "seals": len(seals), "public_keys": public_keys(),
            "generated_at": timezone.now().astimezone(dt.UTC).isoformat(), "hash_rule": HASH_RULE,
            "seal_statement": SEAL_STATEMENT,
        }))
        for s in seals:
            gz.write(_line({"type": "seal", "first_seq": s["first_seq"], "last_seq": s["last_seq"],
                            "count": s["count"], "head_hash": s["head_hash"],
                            "sealed_at": s["sealed_at"].astimezone(dt.UTC).isoformat(), "kid": s["kid"],
                            "signature": s["signature"]}))
        if first is not None:
            with connection.chunked_cursor() as cur:
                for seq, prev_hash, digest, _seal, _event_id, event in link_rows(cur, first, last):
                    canonical = None if event is None else json.loads(audit.canonical_json(event))
                    gz.write(_line({"type": "link", "seq": seq, "prev_hash": prev_hash, "hash": digest,
                                    "event": canonical}))
                    events += 1
    return BundleFacts(date=day, first_seq=first, last_seq=last, events=events, seals=len(seals),
                       sha256=sink.sha.hexdigest(), size=sink.size)
