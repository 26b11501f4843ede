"""API of the violations register (R35), rectification orders and notices of criticism (R36).

Reads go through the same scope rules as the pages (404 outside them); every transition is an @action calling the
same service as the page; PortalError becomes {"code", "detail"} in the project's exception handler.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from portal.choices import Role

from ...selectors.violations import notice_get, notice_list, order_get, order_list, violation_get, violation_list
from ...services import orders as order_services
from ...services import violations as violation_services
from ..filters import CriticismNoticeFilterSet, RectificationOrderFilterSet, ViolationFilterSet
from ..serializers import violations as s

READERS = (Role.ASSESSOR, Role.BUREAU_REVIEWER, Role.COUNTY_BUREAU, Role.DEPT_STAFF, Role.DEPT_HEAD)


class IsSupervisionReader(permissions.BasePermission):
    """The bureau (assessor, reviewer), county bureaus and departments' staff and heads; nobody else (the three
    administrators are confined away before this)."""

    message = "仅考核人员、审核员、县(市)区大数据管理部门和部门人员可查阅"

    def has_permission(self, request, view) -> bool:
        return request.user.has_role(*READERS)


@extend_schema_view(list=extend_schema(summary="违规行为列表"), retrieve=extend_schema(summary="违规行为详情"))
class ViolationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """违规行为登记（R35）：第三十五条七类行为。平台每日根据证据自动发现（同一依据只登记一次），考核人员可登记其他违规
    行为。考核人员、审核员可查阅全市，县(市)区大数据管理部门查阅本区域，部门查阅本部门。"""

    lookup_value_regex = r"[0-9]+"
    serializer_class = s.ViolationSerializer
    filterset_class = ViolationFilterSet
    permission_classes = [permissions.IsAuthenticated, IsSupervisionReader]

    def get_queryset(self):
        return violation_list(user=self.request.user)

    def get_object(self):
        return violation_get(user=self.request.user, violation_id=self.kwargs["pk"])

    @extend_schema(summary="登记违规行为（考核人员）", request=s.ViolationFileSerializer,
                   responses={201: s.ViolationSerializer})
    def create(self, request):
        payload = s.ViolationFileSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        d = payload.validated_data
        violation = violation_services.violation_file(actor=request.user, category=d["category"],
                                                      department_id=d["department"], title=d["title"],
                                                      evidence=d["evidence"])
        return Response(s.ViolationSerializer(violation_get(user=request.user, violation_id=violation.pk)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(summary="撤销违规行为（考核人员，待处理 → 已撤销）", request=s.ViolationDismissSerializer,
                   responses=s.ViolationSerializer)
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        payload = s.ViolationDismissSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        violation = self.get_object()
        violation_services.violation_dismiss(actor=request.user, violation_id=violation.pk, **payload.validated_data)
        return Response(s.ViolationSerializer(self.get_object()).data)


@extend_schema_view(list=extend_schema(summary="整改通知列表"), retrieve=extend_schema(summary="整改通知详情"))
class RectificationOrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """责令限期整改（R36）：考核人员就同一部门的违规行为签发整改通知并设定期限；该部门数据专员或负责人提交整改报告；考核
    人员验收或退回。逾期未整改的生成通报批评草稿；情节严重的可记录移送有权机关处分。"""

    lookup_value_regex = r"[0-9]+"
    serializer_class = s.OrderSerializer
    filterset_class = RectificationOrderFilterSet
    permission_classes = [permissions.IsAuthenticated, IsSupervisionReader]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        return order_list(user=self.request.user).prefetch_related("violations", "reports__attachments",
                                                                   "reports__submitted_by")

    def get_object(self):
        return order_get(user=self.request.user, order_id=self.kwargs["pk"])

    def _answer(self, pk):
        return Response(s.OrderSerializer(order_get(user=self.request.user, order_id=pk)).data)

    @extend_schema(summary="签发整改通知（考核人员）", request=s.OrderIssueSerializer,
                   responses={201: s.OrderSerializer})
    def create(self, request):
        payload = s.OrderIssueSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        d = payload.validated_data
        order = order_services.order_issue(actor=request.user, violation_ids=d["violations"],
                                           requirements=d["requirements"], working_days=d.get("working_days"),
                                           due_on=d.get("due_on"))
        response = self._answer(order.pk)
        response.status_code = status.HTTP_201_CREATED
        return response

    @extend_schema(summary="提交整改报告（整改部门，multipart/form-data）",
                   request={"multipart/form-data": s.OrderReportSerializer,
                            "application/json": s.OrderReportSerializer},
                   responses=s.OrderSerializer)
    @action(detail=True, methods=["post"])
    def report(self, request, pk=None):
        payload = s.OrderReportSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        order = self.get_object()
        files = request.FILES.getlist("attachments") if hasattr(request, "FILES") else []
        order_services.order_report(actor=request.user, order_id=order.pk, body=payload.validated_data["body"],
                                    attachments=files or payload.validated_data["attachments"])
        return self._answer(order.pk)

    @extend_schema(summary="验收通过（考核人员，待验收 → 已整改）", request=s.OrderAcceptSerializer,
                   responses=s.OrderSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._step(request, s.OrderAcceptSerializer, order_services.order_accept)

    @extend_schema(summary="退回整改报告（考核人员，待验收 → 已退回）", request=s.OrderReturnSerializer,
                   responses=s.OrderSerializer)
    @action(detail=True, methods=["post"], url_path="return")
    def return_report(self, request, pk=None):
        return self._step(request, s.OrderReturnSerializer, order_services.order_return)

    @extend_schema(summary="记录移送有权机关处分（考核人员）", request=s.OrderReferSerializer,
                   responses=s.OrderSerializer)
    @action(detail=True, methods=["post"])
    def refer(self, request, pk=None):
        return self._step(request, s.OrderReferSerializer, order_services.order_refer)

    def _step(self, request, serializer_class, service):
        payload = serializer_class(data=request.data)
        payload.is_valid(raise_exception=True)
        order = self.get_object()
        service(actor=request.user, order_id=order.pk, **payload.validated_data)
        return self._answer(order.pk)


@extend_schema_view(list=extend_schema(summary="通报批评列表"), retrieve=extend_schema(summary="通报批评详情"))
class CriticismNoticeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """通报批评（R36）：逾期未整改的整改通知生成一份草稿，由市大数据局（考核人员、审核员）编辑并发布；已发布的通报各部门
    均可查阅，不能重复发布。"""

    lookup_value_regex = r"[0-9]+"
    serializer_class = s.NoticeSerializer
    filterset_class = CriticismNoticeFilterSet
    permission_classes = [permissions.IsAuthenticated, IsSupervisionReader]

    def get_queryset(self):
        return notice_list(user=self.request.user)

    def get_object(self):
        return notice_get(user=self.request.user, notice_id=self.kwargs["pk"])

    @extend_schema(summary="编辑通报草稿（市大数据局）", request=s.NoticeEditSerializer, responses=s.NoticeSerializer)
    def update(self, request, pk=None):
        payload = s.NoticeEditSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        notice = self.get_object()
        order_services.notice_edit(actor=request.user, notice_id=notice.pk, **payload.validated_data)
        return Response(s.NoticeSerializer(self.get_object()).data)

    @extend_schema(summary="发布通报（市大数据局，草稿 → 已发布）", request=None, responses=s.NoticeSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        notice = self.get_object()
        order_services.notice_publish(actor=request.user, notice_id=notice.pk)
        return Response(s.NoticeSerializer(self.get_object()).data)
