"""/api/v1/sharing/interface/{resource}/: the interface specification of a published entry (R20.1)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.choices import EntryState
from catalog.models import CatalogEntry
from portal.api.params import path_text
from portal.errors import NotFound

from ...interface import interface_spec

_FIELDS = inline_serializer("InterfaceField", many=True, fields={
    "name": serializers.CharField(), "data_type": serializers.CharField(), "data_type_label": serializers.CharField(),
    "json_type": serializers.CharField(help_text="接口返回值的 JSON 类型（均为文本）"),
    "length": serializers.IntegerField(allow_null=True), "is_subject_key": serializers.BooleanField(),
    "is_base_item": serializers.BooleanField(), "description": serializers.CharField(allow_blank=True)})
_ENDPOINTS = inline_serializer("InterfaceEndpoint", many=True, fields={
    "method": serializers.CharField(), "path": serializers.CharField(allow_blank=True),
    "label": serializers.CharField(), "params": serializers.CharField(allow_blank=True)})
_EXAMPLE = inline_serializer("InterfaceExample", fields={
    "query": serializers.CharField(), "headers": serializers.DictField(child=serializers.CharField()),
    "canonical": serializers.CharField(), "curl": serializers.CharField(),
    "secret": serializers.CharField(help_text="示例密钥（仅用于演示签名）"),
    "response": serializers.CharField(help_text="示例应答（JSON 文本）"),
    "error": serializers.CharField(help_text="示例错误应答（JSON 文本）")})
_SPEC = inline_serializer("InterfaceSpec", fields={
    "code": serializers.CharField(), "name": serializers.CharField(), "provider": serializers.CharField(),
    "share_type": serializers.CharField(), "exchange_methods": serializers.ListField(child=serializers.CharField()),
    "resource": serializers.CharField(), "fields": _FIELDS, "endpoints": _ENDPOINTS,
    "example": _EXAMPLE})


class InterfaceSpecView(APIView):
    """接口说明 of a published entry (R20.1): endpoints, fields with types, a signed example request and response."""

    @extend_schema(responses=_SPEC, summary="资源接口说明")
    def get(self, request, resource: str):
        resource = path_text(resource, "resource").strip()
        qs = CatalogEntry.objects.filter(state=EntryState.APPROVED, is_secret=False)
        # An id in ASCII digits (int() would read "²" no more than a code would match it).
        entry = (qs.filter(pk=int(resource)) if resource.isascii() and resource.isdigit() else qs.filter(
            code=resource.replace("-", "/", 1))).select_related("provider").first()
        if entry is None:
            raise NotFound()
        spec = interface_spec(entry, base_url=request.build_absolute_uri("/").rstrip("/"))
        return Response({"code": entry.code, "name": entry.name, "provider": entry.provider.name,
                         "share_type": entry.share_type, "exchange_methods": entry.exchange_methods, **spec})
