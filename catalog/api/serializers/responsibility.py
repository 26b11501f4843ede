"""Shapes of the responsibility-list API (R9.1): one department's lines with their fulfilment, and the demands
addressed to it that no entry meets yet."""

from __future__ import annotations

from rest_framework import serializers

from portal.api.params import IntegerParam, QuerySerializer


class ResponsibilityQuerySerializer(QuerySerializer):
    department = IntegerParam(required=False, help_text="部门 id；部门人员缺省为本部门，市局、县级主管部门必填")


class ResponsibilityLineSerializer(serializers.Serializer):
    entry = serializers.IntegerField(source="item.entry_id")
    code = serializers.CharField(source="item.entry.code", allow_null=True)
    name = serializers.CharField(source="item.entry.name")
    item_name = serializers.CharField(source="item.item_name", help_text="信息项；为空表示整个资源（非结构化）")
    is_base_item = serializers.BooleanField(source="item.is_base_item")
    update_cycle = serializers.CharField(source="item.update_cycle")
    status = serializers.CharField(
        help_text="filed 已编目 / updating 目录更新中 / on_time 按时更新 / late 未按周期更新 / no_data 未归集数据")
    status_label = serializers.CharField()
    last_data_at = serializers.DateTimeField(allow_null=True)
    since = serializers.DateField(source="item.since")


class UnfiledDemandSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    needed_data = serializers.CharField()
    department = serializers.CharField(source="department.name", help_text="需求部门")
    submitted_at = serializers.DateTimeField(allow_null=True)


class ResponsibilitySerializer(serializers.Serializer):
    department = serializers.IntegerField(source="department.pk")
    department_name = serializers.CharField(source="department.name")
    lines = ResponsibilityLineSerializer(many=True)
    unfiled_demands = UnfiledDemandSerializer(many=True, help_text="提向本部门、尚无目录满足的数据需求（待编目）")
