"""Public verification API (R26.1): POST /api/v1/verify/, GET /api/v1/verify/key/ — no authentication, throttled per
IP (sharing.services.documents).
"""

from __future__ import annotations

import json

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from security import documents

from ...services.documents import MAX_BODY, REASONS, document_verify


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
