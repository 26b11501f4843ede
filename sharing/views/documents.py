"""Public verification of signed documents (R26.1): POST /api/v1/verify/, GET /api/v1/verify/key/, page /verify/.

No authentication: whoever holds a record served by the platform (a licence, document or contract — see
security.documents) may check that it is authentic and unaltered. Every check writes one audit event,
`security.document.verified` (result success when valid, failure when not), with the resource and the reason,
never the record's values. Bodies are capped at MAX_BODY bytes and calls are throttled per IP.
"""

from __future__ import annotations

import json

from django import forms
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from portal import audit
from portal.choices import AuditResult
from portal.forms import BootstrapMixin
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


class VerifyThrottle(AnonRateThrottle):
    rate = "60/min"


class VerifyView(APIView):
    """POST /api/v1/verify/ — is this record (as served, with `integrity`) authentic and unaltered?"""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [VerifyThrottle]

    @extend_schema(summary="验证电子证照/文书/合同记录的完整性签名（无需认证）", request=OpenApiTypes.OBJECT,
                   responses=OpenApiTypes.OBJECT, auth=[],
                   description="请求体为平台返回的记录原样（含 integrity 字段）。"
                               "返回 {\"valid\": true|false, \"detail\": 说明}。")
    def post(self, request):
        raw = request.body or b""
        if len(raw) > MAX_BODY:
            return Response(document_verify(record=None, raw_size=len(raw)))
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            answer = document_verify(record=None)
            answer.update(detail=str(REASONS["not_json"]), reason="not_json")
            return Response(answer)
        return Response(document_verify(record=record))


class VerifyKeyView(APIView):
    """GET /api/v1/verify/key/ — the platform's public key, for offline verification."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(summary="文档签名公钥（Ed25519）", responses=OpenApiTypes.OBJECT, auth=[])
    def get(self, request):
        return Response(documents.public_key_info())


class VerifyForm(BootstrapMixin, forms.Form):
    record = forms.CharField(label=gettext_lazy("记录（JSON，含 integrity 字段）"), max_length=MAX_BODY,
                             widget=forms.Textarea(attrs={"rows": 12, "class": "font-monospace"}))


@never_cache
def verify_page(request):
    """/verify/: paste a record as served; the page says whether it is authentic and unaltered."""
    form = VerifyForm(request.POST or None)
    answer = None
    if request.method == "POST" and form.is_valid():
        try:
            record = json.loads(form.cleaned_data["record"])
        except ValueError:
            answer = document_verify(record=None)
            answer.update(detail=_("请粘贴 JSON 格式的记录"), reason="not_json")
        else:
            answer = document_verify(record=record)
    return render(request, "sharing/verify.html", {"form": form, "answer": answer,
                                                   "key": documents.public_key_info()})


api_urlpatterns = [
    path("", VerifyView.as_view(), name="document-verify"),
    path("key/", VerifyKeyView.as_view(), name="document-verify-key"),
]
urlpatterns = [path("", verify_page, name="verify")]
