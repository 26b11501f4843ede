"""Verification of the audit trail: every chain position, every seal, every event, and the first place they disagree.

`portal.audit.seal_pending` chains events into positions (AuditChainLink) and closes each batch with a seal (AuditSeal:
range, count, head hash). `verify()` walks the positions in order against the seals and reports the first break:

    gap            a position is missing (a deleted link: reported at the deleted position)
    missing_event  a position names an event that no longer exists (a deleted event)
    link           a position's prev_hash is not its predecessor's hash
    hash           an event's content no longer gives its position's hash (a changed byte)
    backdated      an event's time precedes its predecessor's by more than the sealing lag (an event inserted later
                   with an old time: the sealer appends in commit order, so honest times only step back a little)
    seal           a seal's range, count or head disagrees with the chain, or a position lies outside its seal
    tail           the chain ends before its last seal (or before a position an earlier run verified): a deleted tail
    unchained      an event older than the sealing lag that is neither chained nor queued for the sealer (inserted
                   with the triggers disabled); reported at the position it would have taken
    signature      a seal whose Ed25519 signature does not verify under the published key of its kid (AUDIT_SEAL_KEY
                   and the retired AUDIT_SEAL_PUBLIC_KEYS), or an unsigned seal past PORTAL["AUDIT_SEAL_UNSIGNED_UPTO"];
                   or a retention purge record (AuditPurge) whose signature does not hold

A signature break is reported at its seal's FIRST position: a seal vouches for its range as one (the signature covers
the range, count and head hash), so once its signature fails nothing in the range is vouched for, and without the
original the changed event cannot be told from the honest ones. This is what finds a database superuser's rewrite of
one event plus every later link and seal recomputed without the key: every link and seal is consistent again, but the
rewritten event's seal (and every later one) is unsigned or signed by a key nobody published. The seal's consistency
with the chain (kind "seal") is checked before its signature, so a seal edited in place is a "seal" break.

A retention purge (`portal.services.audit_retention`) deletes positions 1..n after archiving them; its signed
AuditPurge record (the hash at n and the time of n's event) is where the trail legitimately starts: the walk starts
after the latest one whose signature holds. A bad purge record is a signature break at n + 1.

An incremental run trusts what the last intact run verified (its last position and head hash) and checks the positions
after it, and events younger than the predecessor of its first position; the nightly full run trusts nothing but the
published keys (and the latest signed purge record). The signature check costs one Ed25519 verification per seal.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext_lazy as _

from portal import audit
from portal.audit import _CANONICAL_FIELDS, GENESIS, chain_hash
from portal.models import AuditPurge, AuditVerification

KINDS = {
    "gap": _("链位置缺失"),
    "missing_event": _("链位置对应的事件不存在"),
    "link": _("前序哈希与上一位置不符"),
    "hash": _("事件内容与链哈希不符"),
    "backdated": _("事件时间早于上一位置，超出封存时差"),
    "seal": _("封存批次与哈希链不符"),
    "tail": _("链尾缺失"),
    "unchained": _("事件未进入哈希链"),
    "signature": _("封存签名无效或缺失"),
}

_EVENT_COLUMNS = ", ".join(f"e.{f}" for f in _CANONICAL_FIELDS)
# Column names from the sealer's own field list, never from input.
_LINKS = f"""SELECT l.seq, l.prev_hash, l.hash, l.seal_id, l.event_id, {_EVENT_COLUMNS}
  FROM portal_auditchainlink l LEFT JOIN portal_auditevent e ON e.id = l.event_id
 WHERE l.seq BETWEEN %s AND %s ORDER BY l.seq"""  # noqa: S608
_SEALS = """SELECT id, first_seq, last_seq, count, head_hash, sealed_at, kid, signature FROM portal_auditseal
 WHERE last_seq >= %s AND first_seq <= %s AND first_seq > %s ORDER BY first_seq LIMIT %s"""
_SEAL_PAGE = 5000


@dataclass(frozen=True)
class Break:
    seq: int
    kind: str
    detail: str = ""

    @property
    def label(self) -> str:
        return str(KINDS.get(self.kind, self.kind))


@dataclass(frozen=True)
class Outcome:
    full: bool
    first_seq: int | None
    last_seq: int | None
    head_hash: str
    checked: int
    broken: Break | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def link_rows(cursor, first: int, last: int):
    """(seq, prev_hash, hash, seal_id, event_id, event dict or None) for the positions first..last, in order."""
    cursor.execute(_LINKS, [first, last])
    n = len(_CANONICAL_FIELDS)
    while batch := cursor.fetchmany(5000):
        for r in batch:
            if r[5] is None:
                yield r[0], r[1], r[2], r[3], r[4], None
                continue
            event = dict(zip(_CANONICAL_FIELDS, r[5:5 + n], strict=True))
            event["data"] = json.loads(event["data"]) if isinstance(event["data"], str) else event["data"]
            yield r[0], r[1], r[2], r[3], r[4], event


def _seals(first: int, last: int):
    after = -1
    while True:
        with connection.cursor() as cur:
            cur.execute(_SEALS, [first, last, after, _SEAL_PAGE])
            page = cur.fetchall()
        yield from page
        if len(page) < _SEAL_PAGE:
            return
        after = page[-1][1]


def _one(sql: str, params=()):
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()


def verify(*, full: bool, lag: dt.timedelta, now: dt.datetime) -> Outcome:
    """Verify the trail (call inside a transaction; the caller seals pending events first)."""
    # What earlier intact runs vouched for: the chain's hash at their last position. A chain cut back and extended
    # again by the sealer is consistent in itself; only these (and, later, signed seals) remember the old one.
    checkpoints = {seq: (head, at) for seq, head, at in AuditVerification.objects.filter(
        ok=True, last_seq__isnull=False).exclude(head_hash="").values_list("last_seq", "head_hash", "finished_at")}
    base = None if full else AuditVerification.objects.filter(ok=True, last_seq__isnull=False).first()
    # Both ends in one statement: a sealer committing in between cannot make a seal look unmatched.
    upper, max_link = _one("SELECT (SELECT max(last_seq) FROM portal_auditseal),"
                           " (SELECT max(seq) FROM portal_auditchainlink)")
    upper, max_link = upper or 0, max_link or 0
    reached = max(checkpoints, default=0)
    known = audit.seal_public_keys()
    start, prev, prev_time = 1, GENESIS, None
    purge = AuditPurge.objects.first()  # the latest: the trail starts after it
    if purge is not None:
        start, prev, prev_time = purge.last_seq + 1, purge.head_hash, purge.last_occurred_at
        if not purge_holds(purge, known):
            return Outcome(full=True, first_seq=None, last_seq=None, head_hash="", checked=0, broken=Break(
                start, "signature", f"清理记录 {purge.first_seq}–{purge.last_seq} 的签名无效"))
    if base is not None and base.last_seq < start:
        base = None
    if base is not None:
        row = _one("SELECT l.hash, e.occurred_at FROM portal_auditchainlink l"
                   " LEFT JOIN portal_auditevent e ON e.id = l.event_id WHERE l.seq = %s", [base.last_seq])
        if row is None or row[0] != base.head_hash or row[1] is None:
            base = None  # the head it trusted changed: trust nothing, walk it all to find where
        else:
            start, prev, prev_time = base.last_seq + 1, base.head_hash, row[1]
    hi = max(upper, max_link)
    seen = {"vouched": start - 1, "resealed": [], "keys": known,
            "unsigned_upto": settings.PORTAL.get("AUDIT_SEAL_UNSIGNED_UPTO", 0)}
    broken, checked, last_good, prev = _walk(start, hi, prev, prev_time, lag, checkpoints, seen)
    if broken is None and last_good < max(upper, reached):
        what = "封存批次" if last_good < upper else "此前校验"
        at = last_good + 1
        if reached > last_good:  # cut below what a run verified, then perhaps extended again by the sealer
            at = _resealed_since(seen, checkpoints[reached][1], default=at)
        broken = Break(at, "tail", f"链止于位置 {last_good}，{what}记录到 {max(upper, reached)}")
    since = None if base is None else prev_time - lag
    stray = _unchained(now - lag, since, max_link)
    if stray is not None and (broken is None or stray.seq < broken.seq):
        broken = stray
    return Outcome(full=base is None, first_seq=start if last_good >= start else None, last_seq=last_good or None,
                   head_hash=prev if last_good else "", checked=checked, broken=broken)


def seal_holds(seal, known) -> bool:
    """Does a seal row (id, first_seq, last_seq, count, head_hash, sealed_at, kid, signature) carry a valid signature
    under a published key? One Ed25519 verification."""
    statement = audit.seal_statement(first_seq=seal[1], last_seq=seal[2], count=seal[3], head_hash=seal[4],
                                     sealed_at=seal[5], kid=seal[6])
    return audit.signature_holds(statement, seal[6], seal[7], known)


def purge_holds(purge: AuditPurge, known) -> bool:
    statement = audit.purge_statement(
        first_seq=purge.first_seq, last_seq=purge.last_seq, count=purge.count, head_hash=purge.head_hash,
        last_occurred_at=purge.last_occurred_at, before=purge.before, purged_at=purge.purged_at, kid=purge.kid)
    return audit.signature_holds(statement, purge.kid, purge.signature, known)


def _resealed_since(seen: dict, verified_at: dt.datetime, *, default: int) -> int:
    """The first position after the last vouched one whose seal was made after `verified_at` (a run saw the chain
    then; a seal made later that starts at or below what it saw was laid over a cut), or `default`."""
    later = [first for first, sealed_at in seen["resealed"] if first > seen["vouched"] and sealed_at > verified_at]
    return min(later, default=default)


def _walk(start: int, hi: int, prev: str, prev_time, lag: dt.timedelta, checkpoints: dict, seen: dict):
    """The positions start..hi against their seals; (first break or None, positions checked, last good, head).

    `seen` collects the last position an earlier intact run vouched for, and the seals begun after it."""
    seals = _seals(start, hi)
    seal = next(seals, None)
    seal_seen = 0 if seal is None else max(0, start - seal[1])  # positions of this seal before `start` are trusted
    expected, checked = start, 0
    with connection.chunked_cursor() as cur:
        for seq, prev_hash, digest, seal_id, event_id, event in link_rows(cur, start, hi):
            if seq != expected:
                return Break(expected, "gap", f"位置 {expected} 缺失"), checked, expected - 1, prev
            if event is None:
                return Break(seq, "missing_event", f"事件 {event_id} 不存在"), checked, seq - 1, prev
            if seal is None or not seal[1] <= seq <= seal[2] or seal_id != seal[0]:
                return Break(seq, "seal", "位置不在其封存批次的范围内"), checked, seq - 1, prev
            if seq == seal[1] or seq == start:
                seen["resealed"].append((seal[1], seal[5]))
            if prev_hash != prev:
                return Break(seq, "link", "前序哈希不符"), checked, seq - 1, prev
            if chain_hash(prev, event) != digest:
                return Break(seq, "hash", f"事件 {event_id} 的内容已改动"), checked, seq - 1, prev
            if prev_time is not None and event["occurred_at"] < prev_time - lag:
                return Break(seq, "backdated", f"事件 {event_id} 的时间早于上一位置"), checked, seq - 1, prev
            if seq in checkpoints:
                head, verified_at = checkpoints[seq]
                if digest != head:
                    # Cut back and re-extended: the first seal made after that run vouched for this position.
                    at = _resealed_since(seen, verified_at, default=seen["vouched"] + 1)
                    why = f"位置 {seq} 与 {verified_at:%Y-%m-%d %H:%M} 的校验结果不符，链尾被截断后重接"
                    return Break(at, "tail", why), checked, at - 1, prev
                seen["vouched"], seen["resealed"] = seq, []
            seal_seen += 1
            if seq == seal[2]:
                if digest != seal[4] or seal[3] != seal[2] - seal[1] + 1 or seal_seen != seal[3]:
                    why = f"封存批次 {seal[1]}–{seal[2]} 与哈希链不符"
                    return Break(seal[1], "seal", why), checked, seal[1] - 1, prev
                if seal[2] > seen["unsigned_upto"] and not seal_holds(seal, seen["keys"]):
                    why = f"封存批次 {seal[1]}–{seal[2]} 未签名或签名无效（密钥 {seal[6] or '-'}）"
                    return Break(seal[1], "signature", why), checked, seal[1] - 1, prev
                following = next(seals, None)
                if following is not None and following[1] != seal[2] + 1:
                    return Break(seal[2] + 1, "seal", "封存批次不连续"), checked + 1, seq, digest
                seal, seal_seen = following, 0
            prev, prev_time, expected, checked = digest, event["occurred_at"], seq + 1, checked + 1
    return None, checked, expected - 1, prev


def _unchained(before: dt.datetime, since: dt.datetime | None, max_link: int) -> Break | None:
    """The lowest event older than `before` (and not older than `since`) that is neither chained nor queued."""
    row = _one(
        "SELECT e.id FROM portal_auditevent e WHERE e.occurred_at < %s AND (%s::timestamptz IS NULL"
        " OR e.occurred_at >= %s::timestamptz)"
        " AND NOT EXISTS (SELECT 1 FROM portal_auditchainlink l WHERE l.event_id = e.id)"
        " AND NOT EXISTS (SELECT 1 FROM portal_auditpending p WHERE p.event_id = e.id) ORDER BY e.id LIMIT 1",
        [before, since, since],
    )
    if row is None:
        return None
    after = _one("SELECT seq FROM portal_auditchainlink WHERE event_id > %s ORDER BY event_id LIMIT 1", [row[0]])
    return Break(after[0] if after else max_link + 1, "unchained", f"事件 {row[0]} 未进入哈希链")
