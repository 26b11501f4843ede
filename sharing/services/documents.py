"""Public verification of signed documents (R26.1): is a record served by the platform authentic and unaltered?

No authentication: whoever holds a record served by the platform (a licence, document or contract — see
security.documents) may check it. Every check writes one audit event, `security.document.verified` (result success
when valid, failure when not), with the resource and the reason, never the record's values. Bodies are capped at
MAX_BODY bytes (the API and the page: sharing.api.views.documents, sharing.views.documents).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from portal import audit
from portal.choices import AuditResult
from security import documents

MAX_BODY = 64 * 1024

REASONS = {
    "": gettext_lazy("签名有效：记录由平台签发，内容未被改动"),
    "signature": gettext_lazy("签名无效：记录内容与签名不符（已被改动或并非平台签发）"),
    "kid": gettext_lazy("签名密钥不是平台当前的公钥"),
    "alg": gettext_lazy("不支持的签名算法"),
    "malformed": gettext_lazy("integrity 字段格式不正确"),
    "missing_items": gettext_lazy("记录缺少签名所覆盖的信息项"),
    "no_integrity": gettext_lazy("记录没有 integrity 签名字段"),
    "not_json": gettext_lazy("请提交 JSON 格式的记录"),
    "too_large": gettext_lazy("记录过大"),
}


def document_verify(*, record, raw_size: int = 0) -> dict:
    """Check a served record; writes `security.document.verified` (who: anonymous; result; resource; reason)."""
    if raw_size > MAX_BODY:
        valid, reason, facts = False, "too_large", {}
    elif isinstance(record, dict) and "integrity" not in record and isinstance(record.get("record"), dict):
        valid, reason, facts = documents.verify_served(record["record"])
    else:
        valid, reason, facts = documents.verify_served(record)
    audit.record(actor=None, actor_label="anonymous", action="security.document.verified",
                 object_type="catalog.catalogentry", object_repr=facts.get("resource", ""),
                 result=AuditResult.SUCCESS if valid else AuditResult.FAILURE,
                 data={"valid": valid, "reason": reason, **facts})
    return {"valid": valid, "detail": str(REASONS.get(reason, REASONS["malformed"])), "reason": reason or None}
