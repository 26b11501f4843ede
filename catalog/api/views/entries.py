"""Catalog entry API: the catalog the caller may see (SPEC §9.2) and every filing / review transition as an action."""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from catalog.models import CatalogEntry, DataItem
from catalog.permissions import access_entry_by_resource
from catalog.selectors import entries as selectors
from catalog.services import entries as services

from ..filters import CatalogEntryFilterSet
from ..serializers import entries as s

RESOURCE = OpenApiParameter(
    "resource",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="资源代码的 URL 形式（“/”换成“-”，如 303-11410800MA0000000X0001）；尚未发布的草稿也可用其数字编号",
)

def _item_prefetch():
    return Prefetch("items", queryset=DataItem.objects.order_by("position"))


@extend_schema_view(
    list=extend_schema(summary="目录列表（调用者可见的目录）"),
    retrieve=extend_schema(summary="目录条目详情（含信息项、共享方式和接口说明）", parameters=[RESOURCE]),
)
class CatalogEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """政务数据资源目录。读取：已发布目录对所有登录用户可见；草稿和审核中的条目仅限职责范围。
    填报和审核的每一步是一个 POST 动作，错误返回 `{"code", "detail"}`。"""

    lookup_field = "resource"
    lookup_url_kwarg = "resource"
    lookup_value_regex = r"[0-9A-Za-z\-]+"
    filterset_class = CatalogEntryFilterSet

    def get_serializer_class(self):
        if self.action == "list":
            return s.EntryListSerializer
        return s.EntryDetailSerializer

    def get_queryset(self):
        return selectors.catalog_entry_list(user=self.request.user)

    def get_object(self):
        entry = access_entry_by_resource(self.request.user, self.kwargs["resource"])
        return (
            CatalogEntry.objects.prefetch_related(_item_prefetch())
            .select_related("provider__region", "classification")
            .get(pk=entry.pk)
        )

    def _detail(self, entry, code=status.HTTP_200_OK):
        fresh = (
            CatalogEntry.objects.prefetch_related(_item_prefetch())
            .select_related("provider__region", "classification")
            .get(pk=entry.pk)
        )
        return Response(s.EntryDetailSerializer(fresh, context=self.get_serializer_context()).data, status=code)

    def _transition(self, request, serializer_class, service):
        """Validate the body, run the workflow service on this entry, answer with the entry."""
        payload = serializer_class(data=request.data)
        payload.is_valid(raise_exception=True)
        return self._detail(service(actor=request.user, entry_id=self._entry_id(), **payload.validated_data))

    def _entry_id(self, action_name: str = "view") -> int:
        return access_entry_by_resource(self.request.user, self.kwargs["resource"]).pk

    @staticmethod
    def _values(data):
        data = dict(data)
        items = [dict(i) for i in data.pop("items", [])]
        return data, items

    @extend_schema(
        summary="新建目录条目（草稿）", request=s.EntryInputSerializer, responses={201: s.EntryDetailSerializer}
    )
    def create(self, request):
        payload = s.EntryInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        values, items = self._values(payload.validated_data)
        entry = services.catalog_entry_save(
            actor=request.user, department=request.user.department, values=values, items=items
        )
        return self._detail(entry, status.HTTP_201_CREATED)

    @extend_schema(
        summary="修改草稿或退回的目录条目",
        request=s.EntryInputSerializer,
        responses=s.EntryDetailSerializer,
        parameters=[RESOURCE],
    )
    def update(self, request, resource=None):
        entry = access_entry_by_resource(request.user, resource, action="change")
        payload = s.EntryInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        values, items = self._values(payload.validated_data)
        entry = services.catalog_entry_save(
            actor=request.user, department=entry.provider, values=values, items=items, entry=entry
        )
        return self._detail(entry)

    @extend_schema(summary="删除从未发布的草稿", responses={204: None}, parameters=[RESOURCE])
    def destroy(self, request, resource=None):
        services.catalog_entry_delete(actor=request.user, entry_id=self._entry_id())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="提交（待部门负责人签发）",
        request=s.CommentSerializer,
        responses=s.EntryDetailSerializer,
        parameters=[RESOURCE],
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, resource=None):
        return self._transition(request, s.CommentSerializer, services.catalog_entry_submit)

    @extend_schema(
        summary="部门负责人签发（县级部门转县级初审，市级部门转市局审核）",
        request=s.CommentSerializer,
        responses=s.EntryDetailSerializer,
        parameters=[RESOURCE],
    )
    @action(detail=True, methods=["post"], url_path="sign-off")
    def sign_off(self, request, resource=None):
        return self._transition(request, s.CommentSerializer, services.catalog_entry_sign_off)

    @extend_schema(
        summary="县级初审通过（转市局审核）",
        request=s.CommentSerializer,
        responses=s.EntryDetailSerializer,
        parameters=[RESOURCE],
    )
    @action(detail=True, methods=["post"], url_path="county-pass")
    def county_pass(self, request, resource=None):
        return self._transition(request, s.CommentSerializer, services.catalog_entry_county_pass)

    @extend_schema(
        summary="退回（签发、县级初审或市局审核环节）",
        request=s.ReturnSerializer,
        responses=s.EntryDetailSerializer,
        parameters=[RESOURCE],
    )
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, resource=None):
        return self._transition(request, s.ReturnSerializer, services.catalog_entry_return)

    @extend_schema(
        summary="市局审核通过并发布（可审定共享类型）",
        description='重复审核返回 409 `{"code": "already_approved"}`。',
        request=s.ApproveSerializer,
        responses=s.EntryDetailSerializer,
        parameters=[RESOURCE],
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, resource=None):
        return self._transition(request, s.ApproveSerializer, services.catalog_entry_approve)

    @extend_schema(summary="已发布的历史版本", responses=s.VersionSerializer(many=True), parameters=[RESOURCE])
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def versions(self, request, resource=None):
        entry = access_entry_by_resource(request.user, resource)
        versions = entry.versions.select_related("approved_by").order_by("number")
        return Response(s.VersionSerializer(versions, many=True).data)
