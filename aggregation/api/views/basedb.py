"""API of the base databases: one subject looked up (the key in the path, or in the body to keep it out of logs)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.params import path_text
from portal.errors import NotFound

from ... import access
from ...services.basedb import subject_view
from ..serializers import basedb as s


class SubjectView(APIView):
    """基础库主体查询：人口（身份证号码）、法人（统一社会信用代码）、自然资源和空间地理、电子证照。"""

    @extend_schema(responses=s.SubjectSerializer, summary="基础库主体查询（个人信息脱敏）")
    def get(self, request, kind: str, key: str):
        return _subject(request, kind, path_text(key, "key"))


class SubjectLookupView(APIView):
    """同上，主体标识放在请求体中（不出现在 URL 和访问日志里）。"""

    @extend_schema(request=s.SubjectLookupSerializer, responses=s.SubjectSerializer, summary="基础库主体查询（POST）")
    def post(self, request, kind: str):
        data = s.SubjectLookupSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return _subject(request, kind, data.validated_data["key"])


def _subject(request, kind: str, key: str) -> Response:
    if not access.reads_data(request.user):
        raise NotFound()
    view = subject_view(actor=request.user, kind=kind, key=key)
    return Response(s.SubjectSerializer(view).data)
