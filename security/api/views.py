"""/api/v1/security/audit-events/: the audit administrator's search of the trail (the page's, as JSON).

Only the audit administrator: anyone else signed in answers 403 `permission_denied`, anonymous 401. Every list call
that passes its parameters writes `security.audit.searched` (filters, rows shown) in the transaction that read them.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _
from django_filters import utils
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from portal.api.pagination import CursorPagination
from portal.api.params import named_message, refuse_unknown_names
from portal.choices import Role
from portal.models import AuditEvent

from ..models import RiskAssessment
from ..selectors.audit import ORDERING, narrowed
from ..selectors.incidents import incident_get, incident_list
from ..selectors.leaks import anomaly_get, anomaly_list
from ..selectors.plans import plan_get, plan_list
from ..selectors.risk import risk_assessment_get, risk_assessment_list
from ..selectors.secrecy import secrecy_review_get, secrecy_review_list
from ..services import incidents as incident_services
from ..services import leaks as leak_services
from ..services import risk as risk_services
from ..services import secrecy as secrecy_services
from ..services.audit import audit_trail_searched, may_read_trail
from .filters import (
    AuditEventFilterSet,
    EmergencyPlanFilterSet,
    IncidentFilterSet,
    LeakAnomalyFilterSet,
    RiskAssessmentFilterSet,
    SecrecyReviewFilterSet,
    used_filters,
)
from .serializers import (
    AuditEventSerializer,
    EmergencyPlanSerializer,
    IncidentCloseSerializer,
    IncidentHandleSerializer,
    IncidentReportSerializer,
    IncidentSerializer,
    LeakAnomalySerializer,
    LeakDecisionSerializer,
    RiskAssessmentSerializer,
    RiskCompleteSerializer,
    RiskScheduleSerializer,
    SecrecyDecideSerializer,
    SecrecyFlagSerializer,
    SecrecyReviewSerializer,
)


class AuditCursorPagination(CursorPagination):
    """Newest first by time (the search's order); the cursor's position is a time, checked before it is used."""

    ordering = ORDERING

    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                dt.datetime.fromisoformat(cursor.position)
            except ValueError:
                name = self.cursor_query_param
                raise ValidationError({name: [named_message(name, _("无效，请使用上一页返回的 next 或 previous 链接"))]}
                                      ) from None
        return cursor


class IsAuditAdmin(permissions.BasePermission):
    message = "仅审计管理员可查询审计日志"

    def has_permission(self, request, view) -> bool:
        return may_read_trail(request.user)


class AuditEventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """审计日志查询（仅审计管理员）：按操作人、部门、事件类型、对象、授权、结果、来源 IP、时间范围查询，最新的在前，
    游标分页（`cursor`、`limit`）。每次查询本身记入审计日志。"""

    serializer_class = AuditEventSerializer
    pagination_class = AuditCursorPagination
    filterset_class = AuditEventFilterSet
    permission_classes = [permissions.IsAuthenticated, IsAuditAdmin]
    queryset = AuditEvent.objects.all()

    @extend_schema(summary="查询审计日志")
    def list(self, request, *args, **kwargs):
        refuse_unknown_names(request, self, AuditEventFilterSet)
        with transaction.atomic():
            filterset = AuditEventFilterSet(request.query_params, queryset=self.get_queryset(), request=request)
            if not filterset.is_valid():  # 400 invalid, naming the parameter (portal.exceptions)
                raise utils.translate_validation(filterset.errors)
            queryset = narrowed(filterset.qs)[0]
            page = self.paginate_queryset(queryset)
            data = self.get_serializer(page, many=True).data
            audit_trail_searched(actor=request.user, filters=used_filters(filterset.form.cleaned_data),
                                 rows=len(page), via="api",
                                 page={"cursor": "cursor" in request.query_params})
        return self.get_paginated_response(data)


class IsIncidentReader(permissions.BasePermission):
    """The register's readers: the security administrator (who keeps it) and the bureau's reviewers."""

    message = "仅安全管理员和市大数据局审核员可查阅安全事件"

    def has_permission(self, request, view) -> bool:
        return request.user.has_role(Role.SECURITY_ADMIN, Role.BUREAU_REVIEWER)


@extend_schema_view(
    list=extend_schema(summary="安全事件列表"),
    retrieve=extend_schema(summary="安全事件详情"),
)
class SecurityIncidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """安全事件登记（R31）：安全管理员报告、处置、关闭；市大数据局审核员只读。每一步记入审计日志。"""

    lookup_value_regex = r"[0-9]+"
    serializer_class = IncidentSerializer
    filterset_class = IncidentFilterSet
    permission_classes = [permissions.IsAuthenticated, IsIncidentReader]

    def get_queryset(self):
        return incident_list(user=self.request.user).distinct()

    def get_object(self):
        return incident_get(user=self.request.user, incident_id=self.kwargs["pk"])

    @extend_schema(summary="报告安全事件", request=IncidentReportSerializer, responses={201: IncidentSerializer})
    def create(self, request):
        payload = IncidentReportSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        incident = incident_services.security_incident_report(
            actor=request.user, title=data["title"], severity=data["severity"], occurred_at=data["occurred_at"],
            description=data["description"], resource_keys=data["resources"], department_ids=data["departments"])
        return Response(IncidentSerializer(incident_get(user=request.user, incident_id=incident.pk)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(summary="开始处置（已报告 → 处置中）", request=IncidentHandleSerializer,
                   responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def handle(self, request, pk=None):
        payload = IncidentHandleSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        incident = self.get_object()
        incident_services.security_incident_handle(actor=request.user, incident_id=incident.pk,
                                                   **payload.validated_data)
        return Response(IncidentSerializer(self.get_object()).data)

    @extend_schema(summary="关闭事件（处置中 → 已关闭）", request=IncidentCloseSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        payload = IncidentCloseSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        incident = self.get_object()
        incident_services.security_incident_close(actor=request.user, incident_id=incident.pk,
                                                  **payload.validated_data)
        return Response(IncidentSerializer(self.get_object()).data)


class IsRegisterReader(IsIncidentReader):
    message = "仅安全管理员和市大数据局审核员可查阅保密审查"


@extend_schema_view(
    list=extend_schema(summary="资源保密审查列表"),
    retrieve=extend_schema(summary="资源保密审查详情"),
)
class SecrecyReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """资源保密审查（R30）：安全管理员或市大数据局审核员提请，审核员作出结论并写明依据；结论作出前（或结论为不宜共享时）
    该资源不能设为共享。"""

    lookup_value_regex = r"[0-9]+"
    serializer_class = SecrecyReviewSerializer
    filterset_class = SecrecyReviewFilterSet
    permission_classes = [permissions.IsAuthenticated, IsRegisterReader]

    def get_queryset(self):
        return secrecy_review_list(user=self.request.user)

    def get_object(self):
        return secrecy_review_get(user=self.request.user, review_id=self.kwargs["pk"])

    @extend_schema(summary="提请保密审查", request=SecrecyFlagSerializer, responses={201: SecrecyReviewSerializer})
    def create(self, request):
        payload = SecrecyFlagSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        review = secrecy_services.secrecy_review_flag(actor=request.user, **payload.validated_data)
        return Response(SecrecyReviewSerializer(review).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="作出保密审查结论", request=SecrecyDecideSerializer, responses=SecrecyReviewSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        payload = SecrecyDecideSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        review = self.get_object()
        secrecy_services.secrecy_review_decide(actor=request.user, review_id=review.pk, **payload.validated_data)
        return Response(SecrecyReviewSerializer(self.get_object()).data)


class IsRiskReader(IsIncidentReader):
    message = "仅安全管理员和市大数据局审核员可查阅风险评估"


@extend_schema_view(
    list=extend_schema(summary="安全风险评估列表"),
    retrieve=extend_schema(summary="安全风险评估详情"),
)
class RiskAssessmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """安全风险评估（R32）：安全管理员按周期安排各部门的评估并登记结果（完成后自动安排下一周期）；到期提醒和超期状态
    由统一时限服务管理。市大数据局审核员只读。"""

    lookup_value_regex = r"[0-9]+"
    serializer_class = RiskAssessmentSerializer
    filterset_class = RiskAssessmentFilterSet
    permission_classes = [permissions.IsAuthenticated, IsRiskReader]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI generator: no caller, no database (check --deploy)
            return RiskAssessment.objects.none()
        return risk_assessment_list(user=self.request.user)

    def get_object(self):
        return risk_assessment_get(user=self.request.user, assessment_id=self.kwargs["pk"])

    @extend_schema(summary="安排风险评估", request=RiskScheduleSerializer, responses={201: RiskAssessmentSerializer})
    def create(self, request):
        payload = RiskScheduleSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        assessment = risk_services.risk_assessment_schedule(
            actor=request.user, department_id=data["department"], cycle=data["cycle"], due_date=data["due_date"])
        return Response(RiskAssessmentSerializer(risk_assessment_get(user=request.user,
                                                                     assessment_id=assessment.pk)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(summary="登记评估结果（并安排下一周期）", request=RiskCompleteSerializer,
                   responses=RiskAssessmentSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        payload = RiskCompleteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        assessment = self.get_object()
        risk_services.risk_assessment_complete(actor=request.user, assessment_id=assessment.pk,
                                               **payload.validated_data)
        return Response(RiskAssessmentSerializer(self.get_object()).data)


class IsPlanReader(IsIncidentReader):
    message = "仅安全管理员和市大数据局审核员可查阅应急预案"


@extend_schema_view(
    list=extend_schema(summary="应急预案列表"),
    retrieve=extend_schema(summary="应急预案详情"),
)
class EmergencyPlanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """应急预案（R31）：预案文件及其下次评审日期，逾期未评审的 review_overdue 为 true。登记、评审和下载在页面上进行。"""

    lookup_value_regex = r"[0-9]+"
    serializer_class = EmergencyPlanSerializer
    filterset_class = EmergencyPlanFilterSet
    permission_classes = [permissions.IsAuthenticated, IsPlanReader]

    def get_queryset(self):
        return plan_list(user=self.request.user)

    def get_object(self):
        return plan_get(user=self.request.user, plan_id=self.kwargs["pk"])


class IsSecurityAdmin(permissions.BasePermission):
    message = "仅安全管理员可查阅泄露监测异常"

    def has_permission(self, request, view) -> bool:
        return request.user.has_role(Role.SECURITY_ADMIN)


@extend_schema_view(
    list=extend_schema(summary="泄露监测异常列表"),
    retrieve=extend_schema(summary="泄露监测异常详情"),
)
class LeakAnomalyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """泄露监测（R28.4）：每小时按审计日志统计各接入系统和用户的调用次数、读取行数、查询主体数并与基线比较，发现调用量异常、
    遍历连续号码、非工作时间批量读取、同一主体被多方查询时登记异常（证据为相关调用的审计事件编号与行数）。仅安全管理员可查阅，
    并确认（违规）或排除，须写明处理意见，记入审计日志。"""

    lookup_value_regex = r"[0-9]+"
    serializer_class = LeakAnomalySerializer
    filterset_class = LeakAnomalyFilterSet
    permission_classes = [permissions.IsAuthenticated, IsSecurityAdmin]

    def get_queryset(self):
        return anomaly_list(user=self.request.user)

    def get_object(self):
        return anomaly_get(user=self.request.user, anomaly_id=self.kwargs["pk"])

    def _decide(self, request, service):
        payload = LeakDecisionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        anomaly = self.get_object()
        service(actor=request.user, anomaly_id=anomaly.pk, **payload.validated_data)
        return Response(LeakAnomalySerializer(self.get_object()).data)

    @extend_schema(summary="确认为违规（待处理 → 已确认）", request=LeakDecisionSerializer,
                   responses=LeakAnomalySerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        return self._decide(request, leak_services.leak_anomaly_confirm)

    @extend_schema(summary="排除（待处理 → 已排除）", request=LeakDecisionSerializer, responses=LeakAnomalySerializer)
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        return self._decide(request, leak_services.leak_anomaly_dismiss)
