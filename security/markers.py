"""Subject markers of a data read (R28.4): what the leak monitor may know of WHO was looked up, without the key.

A read that looks one subject up by its key (the online query by ID number or credit code, a pull filtered on the
subject key item, the base-database subject page) writes into its audit event:

- ``subject``: the key's blind index (HMAC-SHA256 under BLIND_INDEX_KEY, hex) — the same value the record and subject
  pages already write as ``key``. Equal keys give equal markers, so the monitor counts distinct subjects and sees one
  subject looked up by many callers; without the blind-index key nothing can be recovered from it.
- ``enum``: the enumeration marker ``{"p": keyed hash of the key's stable prefix, "n": ordinal of its sequence part}``,
  so "consecutive keys" shows as consecutive ordinals inside one hashed prefix while the key itself is never stored:

  * 公民身份号码 (GB 11643): prefix = kind ‖ 6-digit region ‖ 8-digit birth date, ordinal = the 3-digit sequence
    (positions 15–17) as a number; the check digit is dropped.
  * 统一社会信用代码 (GB 32100): prefix = kind ‖ positions 1–13 (registration authority, entity type, region, the first
    five characters of the organisation code), ordinal = positions 14–16 (the organisation code's last three body
    characters as a number in base 31 over the code's own 31 characters); the organisation code's check (17) and
    the code's check (18) are dropped. An enumerator that steps the organisation code and recomputes both checks
    walks consecutive ordinals.

  The prefix hash is keyed (HMAC under the blind-index key, domain-separated from the blind index): region × birth
  date is a small space (≈ 10⁸), an unkeyed hash of it would be reversed by brute force. What the marker reveals on
  its own is the sequence part (three digits or characters), no more than a masked key shows.

Markers are shape-based, not checksum-based: an enumerator that does not bother computing check digits still walks
consecutive ordinals.
"""

from __future__ import annotations

import hmac
import re

from security import crypto

_ID_SHAPE = re.compile(r"^[1-9][0-9]{16}[0-9X]$")
_USCC_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, Z, S, V

ID_NUMBER, CREDIT_CODE = "id_number", "credit_code"


def key_shape(key: str, hint: str | None = None) -> str | None:
    """ID_NUMBER, CREDIT_CODE or None: which structured key `key` has (`hint`: the dataset's key kind, if known)."""
    key = crypto.normalise(key)
    is_id, is_uscc = bool(_ID_SHAPE.match(key)), bool(_USCC_SHAPE.match(key))
    if is_id and is_uscc:  # an all-digit credit code has an ID number's shape too: the dataset knows which it is
        return CREDIT_CODE if hint == CREDIT_CODE else ID_NUMBER
    return ID_NUMBER if is_id else CREDIT_CODE if is_uscc else None


def _prefix_hash(kind: str, prefix: str) -> str:
    return hmac.digest(crypto.cipher().blind_key, f"leak-monitor/enum/{kind}/{prefix}".encode(), "sha256").hex()[:32]


def enumeration_marker(key: str, hint: str | None = None) -> dict | None:
    """{"p": keyed prefix hash, "n": ordinal} of an ID number or credit code; None for any other key."""
    key = crypto.normalise(key)
    kind = key_shape(key, hint)
    if kind == ID_NUMBER:
        return {"p": _prefix_hash(kind, key[:14]), "n": int(key[14:17])}
    if kind == CREDIT_CODE:
        n = 0
        for char in key[13:16]:
            n = n * 31 + _USCC_CHARS.index(char)
        return {"p": _prefix_hash(kind, key[:13]), "n": n}
    return None


def subject_markers(key: str | None, hint: str | None = None) -> dict:
    """The audit-event data of a read that looked `key` up: {"subject": …, "enum": …} (enum only for structured keys);
    {} without a key."""
    if not key or len(key) > 100:
        return {}
    markers = {"subject": crypto.blind_index(key).hex()}
    enum = enumeration_marker(key, hint)
    if enum is not None:
        markers["enum"] = enum
    return markers

