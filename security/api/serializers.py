"""The audit trail's events as the API shows them."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.models import AuditEvent

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
