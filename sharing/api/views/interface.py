"""/api/v1/sharing/interface/{resource}/: the interface specification of a published entry (R20.1)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.choices import EntryState
from catalog.models import CatalogEntry
from portal.api.params import path_text
from portal.errors import NotFound

from ...interface import interface_spec


class InterfaceSpecView(APIView):
    """接口说明 of a published entry (R20.1): endpoints, fields with types, a signed example request and response."""

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="资源接口说明")
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
