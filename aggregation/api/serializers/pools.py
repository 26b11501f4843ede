"""API shapes of the resource pool: provider push input/output, one record read."""

from __future__ import annotations

from rest_framework import serializers

from portal.api.params import ChoiceParam, QuerySerializer


class PushQuerySerializer(QuerySerializer):
    mode = ChoiceParam(
        choices=[("load_valid", "写入有效行（缺省）"), ("all_or_nothing", "有任一问题行则不写入")], required=False,
    )


# The push's body (documented as a raw schema: an array, which no serializer describes): one object per subject, item
# name → value. A value is read as text (numbers and booleans as their JSON text) and cleaned by the item's type.
PUSH_ROWS = {
    "type": "array",
    "maxItems": 5000,
    "description": "每个元素是一个主体的一行：{\"信息项名称\": 值}，须含主体标识信息项",
    "items": {
        "type": "object",
        "additionalProperties": {
            "oneOf": [{"type": "string", "nullable": True}, {"type": "number"}, {"type": "boolean"}],
            "description": "值：文本（数值、逻辑值按其文本读取，按信息项类型校验并规范化）；null 或空字符串清空",
        },
    },
}


class RejectionSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="行号（从 1 起，对应请求数组中的位置）")
    item = serializers.CharField(help_text="信息项")
    value = serializers.CharField(allow_blank=True, help_text="值（个人信息已脱敏）")
    reason = serializers.CharField(help_text="原因")


class PushResultSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    inserted = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    errors = RejectionSerializer(many=True)


class RecordReadSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    dataset = serializers.IntegerField()
    key = serializers.CharField()
    values = serializers.DictField(child=serializers.JSONField(allow_null=True))
    masked = serializers.BooleanField()
    version = serializers.IntegerField()
    updated_at = serializers.DateTimeField()
    under_verification = serializers.BooleanField()
    verification_notice = serializers.CharField()
    verification_case = serializers.IntegerField(allow_null=True)
