"""Serializers of the violations, rectification orders and notices of criticism (R35, R36)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api.params import DateParam, IntegerParam

from ...choices import ViolationCategory
from ...models import CriticismNotice, RectificationOrder, RectificationReport, ReportAttachment, Violation
from ...services.orders import MAX_ATTACHMENTS, MAX_WORKING_DAYS


class ViolationEvidenceSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="对象类型（如 portal.deadline、catalog.demanditem）；人工登记为空")
    id = serializers.CharField(help_text="对象编号")
    url = serializers.CharField(help_text="对象页面")
    text = serializers.CharField(help_text="说明")


class ViolationSerializer(serializers.ModelSerializer):
    category_label = serializers.CharField(source="get_category_display", read_only=True)
    article = serializers.CharField(read_only=True)
    department_name = serializers.CharField(source="department.name", read_only=True)
    source_label = serializers.CharField(source="get_source_display", read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    evidence = ViolationEvidenceSerializer(many=True, read_only=True)
    filed_by = serializers.CharField(source="filed_by.username", read_only=True, allow_null=True)

    class Meta:
        model = Violation
        fields = ["id", "category", "category_label", "article", "department", "department_name", "title",
                  "evidence", "source", "source_label", "state", "state_label", "found_on", "filed_by", "order",
                  "dismissed_reason", "created_at"]
        read_only_fields = fields


class ViolationFileSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=ViolationCategory.choices, help_text="第三十五条第几项（35.1–35.7）")
    department = IntegerParam(min_value=1, help_text="部门编号")
    title = serializers.CharField(max_length=300)
    evidence = serializers.CharField(max_length=2000, help_text="证据（事实经过、发现途径、相关文件）")


class ViolationDismissSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="撤销理由")


class ReportAttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReportAttachment
        fields = ["id", "original_name", "content_type", "size", "sha256"]
        read_only_fields = fields


class RectificationReportSerializer(serializers.ModelSerializer):
    submitted_by = serializers.CharField(source="submitted_by.username", read_only=True)
    attachments = ReportAttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = RectificationReport
        fields = ["id", "body", "submitted_by", "submitted_at", "late", "attachments"]
        read_only_fields = fields


class OrderReferralSerializer(serializers.Serializer):
    authority = serializers.CharField(read_only=True)
    basis = serializers.CharField(read_only=True)
    referred_by = serializers.CharField(source="referred_by.username", read_only=True)
    referred_at = serializers.DateTimeField(read_only=True)


class OrderSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    department_name = serializers.CharField(source="department.name", read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    issued_by = serializers.CharField(source="issued_by.username", read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True, allow_null=True)
    violations = serializers.PrimaryKeyRelatedField(many=True, read_only=True, help_text="违规行为编号")
    reports = RectificationReportSerializer(many=True, read_only=True)
    referral = serializers.SerializerMethodField(help_text="移送有权机关的记录；未移送为 null")

    class Meta:
        model = RectificationOrder
        fields = ["id", "number", "department", "department_name", "violations", "requirements", "due_on", "state",
                  "state_label", "issued_by", "issued_at", "decided_by", "decided_at", "return_reason", "reports",
                  "referral"]
        read_only_fields = fields

    @extend_schema_field(OrderReferralSerializer(allow_null=True))
    def get_referral(self, order) -> dict | None:
        referral = getattr(order, "referral", None)
        return OrderReferralSerializer(referral).data if referral is not None else None


class OrderIssueSerializer(serializers.Serializer):
    violations = serializers.ListField(child=IntegerParam(min_value=1), max_length=200,
                                       help_text="违规行为编号（同一部门）")
    requirements = serializers.CharField(max_length=5000, help_text="整改要求")
    working_days = IntegerParam(min_value=1, max_value=MAX_WORKING_DAYS, required=False, allow_null=True,
                                help_text="整改期限（工作日）；与 due_on 二选一")
    due_on = DateParam(required=False, allow_null=True, help_text="整改截止日期 YYYY-MM-DD；与 working_days 二选一")


class OrderReportSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=10000, help_text="整改情况")
    attachments = serializers.ListField(
        child=serializers.FileField(), required=False, default=list, max_length=MAX_ATTACHMENTS,
        help_text="整改材料：PDF/JPG/PNG/DOCX/XLSX，每个不超过 10 MB（multipart/form-data）")


class OrderAcceptSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="", help_text="验收意见")


class OrderReturnSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="退回理由")


class OrderReferSerializer(serializers.Serializer):
    authority = serializers.CharField(max_length=200, help_text="移送机关")
    basis = serializers.CharField(max_length=5000, help_text="移送依据")


class NoticeSerializer(serializers.ModelSerializer):
    department_name = serializers.CharField(source="department.name", read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    published_by = serializers.CharField(source="published_by.username", read_only=True, allow_null=True)

    class Meta:
        model = CriticismNotice
        fields = ["id", "order", "department", "department_name", "title", "body", "state", "state_label",
                  "created_at", "published_by", "published_at"]
        read_only_fields = fields


class NoticeEditSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=20000)
