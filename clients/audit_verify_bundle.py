#!/usr/bin/env python3
"""Stand-alone verifier of a 焦作市大数据平台门户 audit day bundle (`manage.py audit_bundle`, or the audit
administrator's download). Standard library + `cryptography` only; it imports nothing of the portal.

    python audit_verify_bundle.py BUNDLE [--public-key B64 ...]

Recomputes every chain hash from the events, checks every link, every seal's range, count and head hash, and every
seal's Ed25519 signature. Prints "OK …" and exits 0, or prints the first bad position and its kind and exits 1
(2 when the file is no bundle). Kinds: gap (a position is missing), order (positions out of order or repeated),
missing_event, link (prev_hash is not the predecessor's hash), hash (an event's content does not give its hash),
seal (a seal's range, count or head disagrees with the links, or a position lies outside every seal), tail (the links
end before the last seal), signature (a seal's signature does not verify under the key of its kid, or it is
unsigned).

Give the platform's published key(s) with --public-key (GET /api/v1/audit/seal-key/ — fetched by you, from the
platform, not from the file): then only those keys are trusted. Without it the keys inside the bundle are used, which
proves the file is consistent with itself but not who made it.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "jiaozuo-audit-bundle"
GENESIS = "0" * 64


def b64decode(text: str) -> bytes:
    text = (text or "").strip().replace("+", "-").replace("/", "_")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def kid_of(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:16]


def canonical(event: dict) -> str:
    """The event as the platform hashes it: keys sorted, no whitespace, non-ASCII kept."""
    return json.dumps(event, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def chain_hash(prev_hash: str, event: dict) -> str:
    return hashlib.sha256((prev_hash + canonical(event)).encode()).hexdigest()


def seal_statement(seal: dict) -> bytes:
    payload = {k: seal[k] for k in ("first_seq", "last_seq", "count", "head_hash", "sealed_at", "kid")}
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


class Bad(Exception):
    def __init__(self, seq, kind, detail=""):
        super().__init__(f"{seq} {kind} {detail}")
        self.seq, self.kind, self.detail = seq, kind, detail


def load(path: str):
    with open(path, "rb") as fh:
        raw = fh.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    lines = [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]
    if not lines or not isinstance(lines[0], dict) or lines[0].get("format") != FORMAT:
        raise ValueError("not an audit bundle")
    header = lines[0]
    seals = [x for x in lines[1:] if x.get("type") == "seal"]
    links = [x for x in lines[1:] if x.get("type") == "link"]
    return header, seals, links


def load_keys(header: dict, given: list[str]) -> dict:
    specs = given or [k.get("public_key", "") for k in header.get("public_keys") or []]
    known = {}
    for spec in specs:
        raw = b64decode(spec)
        if len(raw) != 32:
            raise ValueError("a public key must be base64 of 32 raw bytes")
        known[kid_of(raw)] = Ed25519PublicKey.from_public_bytes(raw)
    return known


def check_links(header: dict, links: list[dict]) -> tuple[dict[int, str], Bad | None]:
    """Walk the links in file order: ({seq: hash} of the positions before the first break, that break or None)."""
    first = header.get("first_seq")
    if first is None:
        return {}, (Bad(links[0].get("seq"), "seal", "位置不在任何封存批次内") if links else None)
    present = {link.get("seq") for link in links}
    hashes: dict[int, str] = {}
    expected, prev = first, header.get("prev_hash") or ""
    for link in links:
        seq = link.get("seq")
        if seq != expected:
            if not isinstance(seq, int) or seq < expected or expected in present:
                return hashes, Bad(expected, "order", f"位置 {seq} 出现在位置 {expected} 处")
            return hashes, Bad(expected, "gap", f"位置 {expected} 缺失")
        event = link.get("event")
        if not isinstance(event, dict):
            return hashes, Bad(seq, "missing_event", "位置没有事件")
        if link.get("prev_hash") != prev:
            return hashes, Bad(seq, "link", "前序哈希与上一位置不符")
        digest = chain_hash(prev, event)
        if digest != link.get("hash"):
            return hashes, Bad(seq, "hash", f"事件 {event.get('id')} 的内容与链哈希不符")
        hashes[seq], prev, expected = digest, digest, expected + 1
    return hashes, None


def check_seals(header: dict, seals: list[dict], hashes: dict[int, str], known: dict) -> None:
    expected = header.get("first_seq")
    last_link = max(hashes, default=(expected or 1) - 1)
    for seal in seals:
        first, last, count = seal.get("first_seq"), seal.get("last_seq"), seal.get("count")
        if first != expected or not isinstance(last, int) or last < first:
            raise Bad(expected, "seal", "封存批次不连续")
        if last > last_link:
            raise Bad(last_link + 1, "tail", f"链止于位置 {last_link}，封存批次记录到 {last}")
        if count != last - first + 1 or hashes.get(last) != seal.get("head_hash"):
            raise Bad(first, "seal", f"封存批次 {first}–{last} 与哈希链不符")
        key = known.get(seal.get("kid"))
        try:
            if key is None or not seal.get("signature"):
                raise InvalidSignature
            key.verify(b64decode(seal["signature"]), seal_statement(seal))
        except (InvalidSignature, ValueError, KeyError):
            why = f"封存批次 {first}–{last} 未签名或签名无效（密钥 {seal.get('kid') or '-'}）"
            raise Bad(first, "signature", why) from None
        expected = last + 1
    if hashes and (expected is None or last_link >= expected):
        raise Bad(expected or min(hashes), "seal", "位置不在任何封存批次内")
    if header.get("last_seq") is not None and (expected or 1) - 1 != header["last_seq"]:
        raise Bad((expected or 1), "tail", f"封存批次止于 {(expected or 1) - 1}，文件头记录到 {header['last_seq']}")


def verify(path: str, public_keys: list[str]) -> tuple[bool, str]:
    header, seals, links = load(path)
    known = load_keys(header, public_keys)
    # The seals are checked against the positions before the first link break; the lower of the two breaks is the
    # first bad position (on a tie, the link break: it says more than "the seal ends past the chain").
    hashes, link_break = check_links(header, links)
    broken = [link_break] if link_break else []
    try:
        check_seals(header, seals, hashes, known)
    except Bad as bad:
        broken.append(bad)
    if broken:
        bad = min(broken, key=lambda b: b.seq)
        return False, f"FAIL {header.get('date')}: first bad position {bad.seq}: {bad.kind} — {bad.detail}"
    source = "given" if public_keys else "bundle's own (pass --public-key to trust the published key)"
    head = hashes.get(header.get("last_seq"), "-")
    return True, (f"OK {header.get('date')}: {len(hashes)} events, {len(seals)} seals, positions "
                  f"{header.get('first_seq')}–{header.get('last_seq')}, head {head}, keys: {source}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Verify a Jiaozuo portal audit day bundle (exit 0 intact, 1 broken).")
    parser.add_argument("bundle")
    parser.add_argument("--public-key", action="append", default=[],
                        help="the platform's published seal public key (base64 of 32 raw bytes); repeat it for"
                             " retired keys")
    args = parser.parse_args(argv)
    try:
        ok, message = verify(args.bundle, args.public_key)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    print(message)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
