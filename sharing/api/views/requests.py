"""Sharing API: requests and their transitions (each an action calling one service), grants."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.choices import EntryState
from catalog.models import CatalogEntry
from portal.errors import NotFound

from .. import selectors, services
from ..interface import interface_spec
from ..models import Grant, SharingRequest
from . import serializers as s


class SharingRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """共享申请：本部门提出的、向本部门提出的（提供方）以及待市局审核的申请。

    `box`: mine | provider | review | all; `state`: submitted | approved | rejected | withdrawn.
    """

    serializer_class = s.SharingRequestSerializer

    def get_queryset(self):
        filters = {"box": self.request.query_params.get("box"), "state": self.request.query_params.get("state")}
        return selectors.sharing_request_list(user=self.request.user, filters=filters).prefetch_related(
            "comments__author", "comments__department", "grant")

    def _output(self, req: SharingRequest, code=status.HTTP_200_OK) -> Response:
        # The actor has just passed the service's permission check on this request.
        req = (
            SharingRequest.objects.select_related("consumer", "entry__provider")
            .prefetch_related("comments__author", "comments__department", "grant").get(pk=req.pk)
        )
        return Response(s.SharingRequestSerializer(req).data, status=code)

    @extend_schema(request=s.SharingRequestInputSerializer, responses={201: s.SharingRequestSerializer},
                   summary="提交共享申请")
    def create(self, request):
        data = s.SharingRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        req = services.sharing_request_submit(actor=request.user, entry_id=values.pop("entry"), values=values)
        return self._output(req, status.HTTP_201_CREATED)

    @extend_schema(request=s.CommentInputSerializer, responses=s.SharingRequestSerializer, summary="提供部门提出意见")
    @action(detail=True, methods=["post"])
    def comment(self, request, pk=None):
        data = s.CommentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.sharing_request_comment(actor=request.user, request_id=pk, body=data.validated_data["body"])
        return self._output(SharingRequest(pk=pk))

    @extend_schema(request=s.ApproveInputSerializer, responses=s.SharingRequestSerializer,
                   summary="批准（可缩小信息项和期限），生成授权")
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        data = s.ApproveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.sharing_request_approve(actor=request.user, request_id=pk, **data.validated_data)
        return self._output(SharingRequest(pk=pk))

    @extend_schema(request=s.ReasonInputSerializer, responses=s.SharingRequestSerializer, summary="驳回（须说明理由）")
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        data = s.ReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.sharing_request_reject(actor=request.user, request_id=pk, reason=data.validated_data["reason"])
        return self._output(SharingRequest(pk=pk))

    @extend_schema(request=None, responses=s.SharingRequestSerializer, summary="撤回申请")
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        services.sharing_request_withdraw(actor=request.user, request_id=pk)
        return self._output(SharingRequest(pk=pk))


class GrantViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """授权：本部门获得的授权、本部门资源的授权（接入系统只看到本部门的授权）。`box`: mine | provider; `state`."""

    serializer_class = s.GrantSerializer

    def get_queryset(self):
        filters = {"box": self.request.query_params.get("box"), "state": self.request.query_params.get("state")}
        return selectors.grant_list(user=self.request.user, filters=filters)

    @extend_schema(request=s.ReasonInputSerializer, responses=s.GrantSerializer, summary="撤销授权")
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        data = s.ReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant = services.grant_revoke(actor=request.user, grant_id=pk, reason=data.validated_data["reason"])
        grant = Grant.objects.select_related("consumer", "entry").filter(pk=grant.pk).first()
        if grant is None:  # pragma: no cover
            raise NotFound()
        return Response(s.GrantSerializer(grant).data)


class InterfaceSpecView(APIView):
    """接口说明 of a published entry (R20.1): endpoints, fields with types, a signed example request and response."""

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="资源接口说明")
    def get(self, request, resource: str):
        resource = (resource or "").strip()
        qs = CatalogEntry.objects.filter(state=EntryState.APPROVED, is_secret=False)
        entry = (qs.filter(pk=int(resource)) if resource.isdigit() else qs.filter(
            code=resource.replace("-", "/", 1))).select_related("provider").first()
        if entry is None:
            raise NotFound()
        spec = interface_spec(entry, base_url=request.build_absolute_uri("/").rstrip("/"))
        return Response({"code": entry.code, "name": entry.name, "provider": entry.provider.name,
                         "share_type": entry.share_type, "exchange_methods": entry.exchange_methods, **spec})
