"""The audit trail's events as the API shows them."""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api.params import DateParam, IntegerParam
from portal.models import AuditEvent
from portal.selectors.deadlines import deadline_row
from portal.validators import MAX_TEXT_LENGTH

from ..choices import IncidentSeverity, RiskCycle, RiskLevel, SecrecyDecision
from ..models import EmergencyPlan, LeakAnomaly, RiskAssessment, SecrecyReview, SecurityIncident
from ..selectors.audit import action_label, role_labels


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label", help_text="操作主体：用户名、client:客户端编号或 system")
    actor_name = serializers.CharField(read_only=True, allow_null=True, help_text="操作人姓名")
    role_names = serializers.SerializerMethodField(help_text="角色（中文）")
    department_name = serializers.CharField(read_only=True, allow_null=True, help_text="部门名称")
    action_label = serializers.SerializerMethodField(help_text="事件名称（中文；没有时为代码）")
    data = serializers.JSONField(help_text="详情")

    class Meta:
        model = AuditEvent
        fields = ["id", "occurred_at", "actor", "actor_id", "actor_name", "role", "role_names", "department",
                  "department_name", "action", "action_label", "object_type", "object_id", "object_repr", "result",
                  "ip", "request_id", "data"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_role_names(self, event) -> str:
        return role_labels(event.role)

    @extend_schema_field(serializers.CharField())
    def get_action_label(self, event) -> str:
        return action_label(event.action)


# ---------------------------------------------------------------------------------------------- incidents (R31)

_ASCII_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
                             r"(Z|[+-][0-9]{2}:?[0-9]{2})?")


class AsciiDateTimeField(serializers.DateTimeField):
    """ISO 8601 in ASCII digits (DRF's own reads full-width digits as well)."""

    default_error_messages = {"invalid": gettext_lazy("须为时间，格式 YYYY-MM-DDTHH:MM[:SS][时区]（半角数字）")}

    def to_internal_value(self, value):
        if not isinstance(value, str) or not _ASCII_DATETIME.fullmatch(value.strip()):
            self.fail("invalid")
        return super().to_internal_value(value.strip())


class IncidentSerializer(serializers.ModelSerializer):
    severity_label = serializers.CharField(source="get_severity_display", read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    resources = serializers.SerializerMethodField(help_text="涉及资源（资源标识）")
    departments = serializers.PrimaryKeyRelatedField(many=True, read_only=True, help_text="涉及部门编号")
    reported_by = serializers.CharField(source="reported_by.username", read_only=True)
    handled_by = serializers.CharField(source="handled_by.username", read_only=True, allow_null=True)
    closed_by = serializers.CharField(source="closed_by.username", read_only=True, allow_null=True)

    class Meta:
        model = SecurityIncident
        fields = ["id", "title", "severity", "severity_label", "occurred_at", "description", "resources",
                  "departments", "state", "state_label", "reported_by", "reported_at", "handled_by",
                  "handling_started_at", "measures", "closed_by", "closed_at", "conclusion"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_resources(self, incident) -> list[str]:
        return [entry.resource_key for entry in incident.resources.all()]


class IncidentReportSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    severity = serializers.ChoiceField(choices=IncidentSeverity.choices,
                                       help_text="4 一般 / 3 较大 / 2 重大 / 1 特别重大")
    occurred_at = AsciiDateTimeField()
    description = serializers.CharField(max_length=MAX_TEXT_LENGTH)
    resources = serializers.ListField(child=serializers.CharField(max_length=200), required=False, default=list,
                                      max_length=200, help_text="涉及资源的资源标识")
    departments = serializers.ListField(child=IntegerParam(min_value=1), required=False, default=list,
                                        max_length=200, help_text="涉及部门编号")


class IncidentHandleSerializer(serializers.Serializer):
    measures = serializers.CharField(max_length=MAX_TEXT_LENGTH, help_text="处置措施")


class IncidentCloseSerializer(serializers.Serializer):
    conclusion = serializers.CharField(max_length=MAX_TEXT_LENGTH, help_text="处置结论")


# ---------------------------------------------------------------------------------------------- secrecy review (R30)


class SecrecyReviewSerializer(serializers.ModelSerializer):
    resource = serializers.CharField(source="entry.resource_key", read_only=True, help_text="资源标识")
    resource_name = serializers.CharField(source="entry.name", read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    # Blank until decided: a plain string in the schema (an enum would not admit the blank).
    decision = serializers.CharField(read_only=True,
                                     help_text="shareable 可以共享 / not_shareable 不宜共享；未审查时为空")
    decision_label = serializers.CharField(source="get_decision_display", read_only=True)
    flagged_by = serializers.CharField(source="flagged_by.username", read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True, allow_null=True)

    class Meta:
        model = SecrecyReview
        fields = ["id", "resource", "resource_name", "reason", "flagged_by", "flagged_at", "state", "state_label",
                  "decision", "decision_label", "basis", "decided_by", "decided_at"]
        read_only_fields = fields


class SecrecyFlagSerializer(serializers.Serializer):
    resource = serializers.CharField(max_length=200, help_text="资源标识")
    reason = serializers.CharField(max_length=MAX_TEXT_LENGTH, help_text="审查事由")


class SecrecyDecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=SecrecyDecision.choices, help_text="shareable 可以共享 / "
                                       "not_shareable 不宜共享")
    basis = serializers.CharField(max_length=MAX_TEXT_LENGTH, help_text="审查依据")


# ---------------------------------------------------------------------------------------------- risk assessments (R32)


class RiskAssessmentSerializer(serializers.ModelSerializer):
    department_name = serializers.CharField(source="department.name", read_only=True)
    cycle_label = serializers.CharField(source="get_cycle_display", read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    level = serializers.CharField(read_only=True, help_text="low 低 / medium 中 / high 高；未完成时为空")
    level_label = serializers.CharField(source="get_level_display", read_only=True)
    completed_by = serializers.CharField(source="completed_by.username", read_only=True, allow_null=True)
    remaining_working_days = serializers.SerializerMethodField(help_text="剩余工作日（负数为超期）；已完成时为空")
    overdue = serializers.SerializerMethodField(help_text="是否已超期")

    class Meta:
        model = RiskAssessment
        fields = ["id", "department", "department_name", "cycle", "cycle_label", "due_date", "state", "state_label",
                  "remaining_working_days", "overdue", "level", "level_label", "findings", "completed_on",
                  "completed_by", "previous"]
        read_only_fields = fields

    def _row(self, assessment):
        return deadline_row(assessment, name="assessment")

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_remaining_working_days(self, assessment) -> int | None:
        return self._row(assessment).remaining

    @extend_schema_field(serializers.BooleanField())
    def get_overdue(self, assessment) -> bool:
        return self._row(assessment).overdue


class RiskScheduleSerializer(serializers.Serializer):
    department = IntegerParam(min_value=1, help_text="部门编号")
    cycle = serializers.ChoiceField(choices=RiskCycle.choices, help_text="12 每年 / 6 每半年")
    due_date = DateParam(help_text="应完成日期 YYYY-MM-DD")


class RiskCompleteSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=RiskLevel.choices, help_text="low 低 / medium 中 / high 高")
    findings = serializers.CharField(max_length=MAX_TEXT_LENGTH, help_text="评估结论与整改建议")


# ---------------------------------------------------------------------------------------------- emergency plans (R31)


class EmergencyPlanSerializer(serializers.ModelSerializer):
    review_overdue = serializers.BooleanField(read_only=True, help_text="是否逾期未评审")
    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True)

    class Meta:
        model = EmergencyPlan
        fields = ["id", "title", "summary", "original_name", "content_type", "size", "sha256", "review_date",
                  "review_overdue", "last_reviewed_on", "review_note", "uploaded_by", "uploaded_at"]
        read_only_fields = fields


# ---------------------------------------------------------------------------------------------- leak monitoring (R28.4)


class LeakAnomalySerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    department_name = serializers.CharField(source="department.name", read_only=True, allow_null=True)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True, allow_null=True)
    measures = serializers.JSONField(
        help_text="观测值与基线：calls / rows / subjects 各含 observed、baseline、compared；"
                  "遍历为 prefix（加密摘要）、first、last、consecutive、threshold")
    evidence = serializers.JSONField(help_text="相关调用：[[审计事件编号, 行数], …]（最多 200 条，行数大者在前）")

    class Meta:
        model = LeakAnomaly
        fields = ["id", "kind", "kind_label", "caller", "department", "department_name", "window_start", "window_end",
                  "measures", "evidence", "evidence_count", "suspended", "state", "state_label", "decided_by",
                  "decided_at", "reason", "created_at"]
        read_only_fields = fields


class LeakDecisionSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="处理意见")
