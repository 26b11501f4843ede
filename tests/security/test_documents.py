"""Verifiable documents (R26.1): Ed25519 signatures of a record's canonical form, their verification."""

import base64

from security import documents


def _b64(raw: str) -> bytes:
    return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))


def test_sign_and_verify_round_trip_and_tampering():
    values = {"持证人": "张三", "发证日期": "2025-03-01"}
    signed = documents.sign_record("105/X0001", "JY1", values, "2026-01-01T00:00:00")
    assert signed["alg"] == "Ed25519" and len(signed["kid"]) == 16 and len(_b64(signed["signature"])) == 64
    assert documents.verify("105/X0001", "JY1", {"发证日期": "2025-03-01", "持证人": "张三"}, "2026-01-01T00:00:00",
                            signed) == (True, "")
    assert documents.verify("105/X0001", "JY1", {"持证人": "李四", "发证日期": "2025-03-01"}, "2026-01-01T00:00:00",
                            signed) == (False, "signature")
    assert documents.verify("105/X0001", "JY1", {}, None, {**signed, "kid": "0" * 16}) == (False, "kid")
    assert documents.verify("105/X0001", "JY1", {}, None, {**signed, "signature": "abc"}) == (False, "malformed")
    # The canonical form: sorted keys, no whitespace, UTF-8 (non-ASCII kept).
    assert documents.canonical("r", "k", {"b": 1, "a": "张"}, None) == \
        '{"key":"k","resource":"r","updated_at":null,"values":{"a":"张","b":1}}'.encode()
