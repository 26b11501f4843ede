"""Update-case API (R10): list, open, propose, submit, approve, return."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from catalog.permissions import access_entry_by_resource, access_update_case_by_id
from catalog.selectors import update_cases as selectors
from catalog.services import update_cases as services

from ..filters import UpdateCaseFilterSet
from ..serializers.entries import CommentSerializer, ReturnSerializer
from ..serializers.update_cases import UpdateCaseOpenSerializer, UpdateCaseProposalSerializer, UpdateCaseSerializer


@extend_schema_view(
    list=extend_schema(summary="目录更新申请列表"),
    retrieve=extend_schema(summary="目录更新申请详情"),
)
class UpdateCaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """目录更新申请（R10）：登记事由起 10 个工作日内申请，市局收到后 5 个工作日内审核。"""

    serializer_class = UpdateCaseSerializer
    filterset_class = UpdateCaseFilterSet

    def get_queryset(self):
        return selectors.update_case_list(user=self.request.user)

    def get_object(self):
        return access_update_case_by_id(self.request.user, self.kwargs["pk"])

    @extend_schema(
        summary="登记更新事由（开始 10 个工作日申请时限）",
        request=UpdateCaseOpenSerializer,
        responses={201: UpdateCaseSerializer},
    )
    def create(self, request):
        payload = UpdateCaseOpenSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        entry = access_entry_by_resource(request.user, data.pop("entry"), action="change")
        case = services.update_case_open(actor=request.user, entry_id=entry.pk, **data)
        return Response(UpdateCaseSerializer(case).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="填写更新内容", request=UpdateCaseProposalSerializer, responses=UpdateCaseSerializer)
    @action(detail=True, methods=["post"])
    def proposal(self, request, pk=None):
        payload = UpdateCaseProposalSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        values = dict(payload.validated_data)
        items = [dict(i) for i in values.pop("items", [])]
        case = access_update_case_by_id(request.user, pk)
        values.setdefault("classification", case.entry.classification)
        case = services.update_case_save(actor=request.user, case_id=case.pk, values=values, items=items)
        return Response(UpdateCaseSerializer(case).data)

    @extend_schema(
        summary="提交更新申请（开始市局 5 个工作日审核时限）", request=None, responses=UpdateCaseSerializer
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        case = services.update_case_submit(actor=request.user, case_id=pk)
        return Response(UpdateCaseSerializer(case).data)

    @extend_schema(
        summary="审核通过（同步更新目录和责任清单）", request=CommentSerializer, responses=UpdateCaseSerializer
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        payload = CommentSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        case = services.update_case_approve(actor=request.user, case_id=pk, **payload.validated_data)
        return Response(UpdateCaseSerializer(case).data)

    @extend_schema(summary="退回更新申请", request=ReturnSerializer, responses=UpdateCaseSerializer)
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        payload = ReturnSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        case = services.update_case_return(actor=request.user, case_id=pk, **payload.validated_data)
        return Response(UpdateCaseSerializer(case).data)
