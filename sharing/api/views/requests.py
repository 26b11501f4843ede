"""/api/v1/sharing/requests/: sharing requests and their transitions (each an action calling one service)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ...models import SharingRequest
from ...selectors import sharing_request_list
from ...services.requests import (
    sharing_request_approve,
    sharing_request_comment,
    sharing_request_reject,
    sharing_request_submit,
    sharing_request_withdraw,
)
from .. import serializers as s
from ..filters import SharingRequestFilterSet


class SharingRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """共享申请：本部门提出的、向本部门提出的（提供方）以及待市局审核的申请。

    `box`: mine | provider | review | all; `state`: submitted | approved | rejected | withdrawn.
    """

    serializer_class = s.SharingRequestSerializer
    filterset_class = SharingRequestFilterSet

    def get_queryset(self):
        return sharing_request_list(user=self.request.user).prefetch_related(
            "comments__author", "comments__department", "grant")

    def _output(self, req: SharingRequest, code=status.HTTP_200_OK) -> Response:
        # The actor has just passed the service's permission check on this request.
        req = (
            SharingRequest.objects.select_related("consumer", "entry__provider")
            .prefetch_related("comments__author", "comments__department", "grant").get(pk=req.pk)
        )
        return Response(s.SharingRequestSerializer(req).data, status=code)

    def _transition(self, request, pk, serializer_class, service) -> Response:
        """Validate the body with `serializer_class`, call `service` on request `pk`, answer the request."""
        data = serializer_class(data=request.data)
        data.is_valid(raise_exception=True)
        service(actor=request.user, request_id=pk, **data.validated_data)
        return self._output(SharingRequest(pk=pk))

    @extend_schema(request=s.SharingRequestInputSerializer, responses={201: s.SharingRequestSerializer},
                   summary="提交共享申请")
    def create(self, request):
        data = s.SharingRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        req = sharing_request_submit(actor=request.user, entry_id=values.pop("entry"), values=values)
        return self._output(req, status.HTTP_201_CREATED)

    @extend_schema(request=s.CommentInputSerializer, responses=s.SharingRequestSerializer, summary="提供部门提出意见")
    @action(detail=True, methods=["post"])
    def comment(self, request, pk=None):
        return self._transition(request, pk, s.CommentInputSerializer, sharing_request_comment)

    @extend_schema(request=s.ApproveInputSerializer, responses=s.SharingRequestSerializer,
                   summary="批准（可缩小信息项和期限），生成授权")
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._transition(request, pk, s.ApproveInputSerializer, sharing_request_approve)

    @extend_schema(request=s.ReasonInputSerializer, responses=s.SharingRequestSerializer, summary="驳回（须说明理由）")
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._transition(request, pk, s.ReasonInputSerializer, sharing_request_reject)

    @extend_schema(request=None, responses=s.SharingRequestSerializer, summary="撤回申请")
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        sharing_request_withdraw(actor=request.user, request_id=pk)
        return self._output(SharingRequest(pk=pk))
