"""Sharing API shapes: requests (input and output differ), grants."""

from __future__ import annotations

from rest_framework import serializers

from portal.api.params import DateParam

from ..choices import Purpose
from ..models import ApiClient, Grant, PushRun, PushSubscription, SharingComment, SharingRequest
from ..push.target import MAX_DSN_LENGTH


class CommentSerializer(serializers.ModelSerializer):
    department = serializers.CharField(source="department.name")
    author = serializers.CharField(source="author.__str__")

    class Meta:
        model = SharingComment
        fields = ["id", "department", "author", "body", "created_at"]


class SharingRequestSerializer(serializers.ModelSerializer):
    consumer = serializers.CharField(source="consumer.name")
    entry_code = serializers.CharField(source="entry.code")
    entry_name = serializers.CharField(source="entry.name")
    provider = serializers.CharField(source="entry.provider.name")
    grant = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)  # none until approved
    comments = CommentSerializer(many=True, read_only=True)

    class Meta:
        model = SharingRequest
        fields = [
            "id", "consumer", "entry", "entry_code", "entry_name", "provider", "legal_basis", "duty_basis",
            "business_need", "purpose", "purpose_detail", "items", "methods", "valid_from", "valid_to", "state",
            "submitted_on", "decided_at", "decision_reason", "grant", "comments",
        ]


class SharingRequestInputSerializer(serializers.Serializer):
    entry = serializers.IntegerField()
    legal_basis = serializers.CharField()
    duty_basis = serializers.CharField()
    business_need = serializers.CharField()
    purpose = serializers.ChoiceField(choices=Purpose.choices)
    purpose_detail = serializers.CharField(required=False, allow_blank=True, max_length=200)
    items = serializers.ListField(child=serializers.CharField(max_length=100), allow_empty=False)
    methods = serializers.ListField(child=serializers.CharField(max_length=20), allow_empty=False)
    valid_from = DateParam()
    valid_to = DateParam()


class CommentInputSerializer(serializers.Serializer):
    body = serializers.CharField()


class ApproveInputSerializer(serializers.Serializer):
    items = serializers.ListField(child=serializers.CharField(max_length=100), required=False, allow_empty=False)
    valid_from = DateParam(required=False)
    valid_to = DateParam(required=False)
    comment = serializers.CharField(required=False, allow_blank=True)


class ReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField()


class GrantSerializer(serializers.ModelSerializer):
    consumer = serializers.CharField(source="consumer.name")
    entry_code = serializers.CharField(source="entry.code")
    entry_name = serializers.CharField(source="entry.name")
    resource = serializers.CharField(source="entry.resource_key")

    class Meta:
        model = Grant
        fields = [
            "id", "request", "consumer", "entry", "entry_code", "entry_name", "resource", "items", "purpose",
            "methods", "valid_from", "valid_to", "state", "created_at", "revoked_at", "revoke_reason",
        ]


class PushSubscriptionSerializer(serializers.ModelSerializer):
    """A subscription as its readers see it: the connection string is write-only (stored encrypted, never shown)."""

    entry_name = serializers.CharField(source="grant.entry.name")
    resource = serializers.CharField(source="grant.entry.resource_key")
    consumer = serializers.CharField(source="consumer.name")

    class Meta:
        model = PushSubscription
        fields = [
            "id", "grant", "resource", "entry_name", "consumer", "target_label", "target_table", "interval_minutes",
            "active", "paused_reason", "watermark_at", "next_run_at", "last_run_at", "created_at",
        ]


class PushSubscriptionInputSerializer(serializers.Serializer):
    grant = serializers.IntegerField(min_value=1, help_text="本部门含数据库推送方式的有效授权编号")
    dsn = serializers.CharField(max_length=MAX_DSN_LENGTH, write_only=True,
                                help_text="前置库连接串 postgresql://用户:口令@主机:端口/库名；加密保存，不再返回")
    table = serializers.CharField(max_length=63, help_text="目标表：小写字母、数字、下划线；不存在时自动创建")
    interval_minutes = serializers.IntegerField(min_value=1, max_value=10080, default=60, help_text="推送间隔（分钟）")


class PauseInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300, help_text="暂停原因（可不填）")


class PushRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = PushRun
        fields = [
            "id", "trigger", "status", "started_at", "finished_at", "rows", "deleted_rows", "batches", "duration_ms",
            "error_code", "error_message",
        ]


class ApiClientSerializer(serializers.ModelSerializer):
    """An API client as the security administrator sees it: never its secret (shown once, on register and rotate)."""

    department_name = serializers.CharField(source="department.name")

    class Meta:
        model = ApiClient
        fields = [
            "id", "client_id", "name", "department", "department_name", "state", "suspend_reason", "rate_per_minute",
            "contact", "allowed_networks", "any_network", "leak_auto_suspend", "created_at", "secret_rotated_at",
            "last_used_at",
        ]


class ApiClientWithSecretSerializer(ApiClientSerializer):
    secret = serializers.CharField(help_text="签名密钥：仅在此次应答中出现，不再显示")

    class Meta(ApiClientSerializer.Meta):
        fields = [*ApiClientSerializer.Meta.fields, "secret"]


class ApiClientInputSerializer(serializers.Serializer):
    department = serializers.IntegerField(min_value=1, help_text="所属部门 id")
    name = serializers.CharField(max_length=100, help_text="系统名称")
    allowed_networks = serializers.ListField(child=serializers.CharField(max_length=43), allow_empty=False,
                                             max_length=100, help_text="允许的来源网段（CIDR），至少一个")
    rate_per_minute = serializers.IntegerField(min_value=1, max_value=100_000, default=600)
    contact = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class NetworksInputSerializer(serializers.Serializer):
    allowed_networks = serializers.ListField(child=serializers.CharField(max_length=43), allow_empty=False,
                                             max_length=100, help_text="允许的来源网段（CIDR），至少一个")


class LeakPolicyInputSerializer(serializers.Serializer):
    auto_suspend = serializers.BooleanField(help_text="异常访问时由监测任务自动停用")
