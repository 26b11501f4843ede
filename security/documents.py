"""Verifiable documents (R26.1): an Ed25519 integrity signature on records of licences, documents and contracts.

Which resources (`is_document_entry`): a catalog entry is a *document resource* when
1. it is classified under 105 (电子证照基础信息资源), or
2. its format class is 电子文件 (`doc`), or
3. its name names a licence, document or contract: 电子证照 / 证照 / 许可证 / 证书 / 执照 / 合同 / 协议 / 文书.
Every record such a resource serves through the data interface or the online query carries `integrity`.

What is signed: the canonical JSON (keys sorted, no whitespace, UTF-8, non-ASCII kept) of
`{"resource": <entry code>, "key": <subject key as served>, "values": {<item>: <value as served>…},
"updated_at": <as served>}` — exactly what the consumer received (masked values stay masked), so anyone
holding the served record and the platform's public key (GET /api/v1/verify/key/) can check it offline.
The record carries `integrity = {"alg": "Ed25519", "kid", "resource", "key_item", "items", "signature"}`
(signature: base64url without padding).

Key: DOCUMENT_SIGNING_KEY = base64 (standard or URL-safe) of the raw 32-byte Ed25519 private key, from the
environment (dev/test settings carry a fixed, public, non-secret default; production has none), loaded by the
kernel's one rule (`portal.keys.ed25519_from_b64`). `kid` is the first 16 hex digits of SHA-256 of the raw public key,
so a rotated key is recognisable.
"""

from __future__ import annotations

import binascii
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from django.conf import settings

from portal import keys

ALG = keys.ALG
DOCUMENT_CLASSIFICATION = "105"
DOCUMENT_NAME_WORDS = ("电子证照", "证照", "许可证", "证书", "执照", "合同", "协议", "文书")


def signing_key() -> keys.SigningKey:
    """The platform's key pair of the current settings (cached per value, so tests may override it)."""
    return keys.ed25519_from_b64(getattr(settings, "DOCUMENT_SIGNING_KEY", "") or "", "DOCUMENT_SIGNING_KEY")


def public_key_info() -> dict:
    """What consumers need to verify offline: algorithm, kid, raw public key (base64url) and PEM."""
    key = signing_key()
    return {"alg": ALG, "kid": key.kid, "public_key": keys.b64encode(key.public_raw),
            "public_key_pem": key.public_pem(),
            "canonical": "JSON of {resource, key, values, updated_at}: keys sorted, no whitespace, UTF-8"}


def canonical(resource: str, key: Any, values: dict, updated_at: Any) -> bytes:
    payload = {"resource": resource, "key": key, "values": values, "updated_at": updated_at}
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def sign_record(resource_code: str, key: Any, values: dict, updated_at: Any = None) -> dict:
    """{"alg": "Ed25519", "kid", "signature"} over the canonical JSON of the record as served."""
    sk = signing_key()
    signature = sk.private.sign(canonical(resource_code, key, values, updated_at))
    return {"alg": ALG, "kid": sk.kid, "signature": keys.b64encode(signature)}


def verify(resource_code: str, key: Any, values: dict, updated_at: Any, integrity: dict) -> tuple[bool, str]:
    """(valid, reason) of a signature: reason is "" when valid, else a stable word (alg, kid, malformed, signature)."""
    sk = signing_key()
    if not isinstance(integrity, dict) or integrity.get("alg") != ALG:
        return False, "alg"
    if integrity.get("kid") != sk.kid:
        return False, "kid"
    try:
        signature = keys.b64decode(str(integrity.get("signature") or ""))
    except (binascii.Error, ValueError):
        return False, "malformed"
    if len(signature) != 64:
        return False, "malformed"
    try:
        sk.public.verify(signature, canonical(resource_code, key, values, updated_at))
    except InvalidSignature:
        return False, "signature"
    return True, ""


# ------------------------------------------------------------------------------- served records


def is_document_entry(entry) -> bool:
    """The rule of the module docstring; cached on the entry object (one classification lookup per call)."""
    cached = getattr(entry, "_is_document_resource", None)
    if cached is None:
        code = entry.classification.code if entry.classification_id else ""
        cached = (code.startswith(DOCUMENT_CLASSIFICATION) or entry.format_class == "doc"
                  or any(word in (entry.name or "") for word in DOCUMENT_NAME_WORDS))
        entry._is_document_resource = cached
    return cached


def attach_integrity(call, row: dict) -> None:
    """The data API's hook: add `integrity` to a served (not deleted) row of a document resource, in place."""
    if row.get("deleted") or not is_document_entry(call.entry):
        return
    items = [name for name in call.projection if name in row]
    key_item = call.dataset.key_item_name if call.dataset is not None and call.dataset.key_item_name in row else ""
    resource = call.entry.code or str(call.entry.pk)
    signed = sign_record(resource, row.get(key_item) if key_item else None, {n: row[n] for n in items},
                         row.get("updated_at"))
    row["integrity"] = {"alg": signed["alg"], "kid": signed["kid"], "resource": resource, "key_item": key_item,
                        "items": items, "signature": signed["signature"]}


def verify_served(record: Any) -> tuple[bool, str, dict]:
    """Check a record exactly as served (with its `integrity`); (valid, reason, facts for the audit trail)."""
    if not isinstance(record, dict) or not isinstance(record.get("integrity"), dict):
        return False, "no_integrity", {}
    integrity = record["integrity"]
    resource, items, key_item = integrity.get("resource"), integrity.get("items"), integrity.get("key_item") or ""
    facts = {"resource": str(resource)[:100], "kid": str(integrity.get("kid"))[:40]}
    if not isinstance(resource, str) or not isinstance(items, list) or not all(isinstance(n, str) for n in items) \
            or not isinstance(key_item, str):
        return False, "malformed", facts
    if any(name not in record for name in items) or (key_item and key_item not in record):
        return False, "missing_items", facts
    valid, reason = verify(resource, record.get(key_item) if key_item else None, {n: record[n] for n in items},
                           record.get("updated_at"), integrity)
    return valid, reason, facts
