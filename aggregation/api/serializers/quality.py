"""API shapes of data quality."""

from __future__ import annotations

from rest_framework import serializers

from portal.api.params import IntegerParam, QuerySerializer

from ...models import QualityReport


class QualityReportSerializer(serializers.ModelSerializer):
    dataset_name = serializers.CharField(source="dataset.entry.name", read_only=True)
    department_name = serializers.CharField(source="department.name", read_only=True)

    class Meta:
        model = QualityReport
        fields = ["id", "dataset", "dataset_name", "department", "department_name", "day", "row_count",
                  "completeness", "completeness_avg", "valid_keys", "validity", "duplicate_keys", "load_duplicates",
                  "last_loaded_at", "cycle_days", "days_since_load", "timely", "consistency",
                  "inconsistent_subjects", "consistency_pairs_total", "computed_at"]
        read_only_fields = fields


class ConsistencyQuerySerializer(QuerySerializer):
    department = IntegerParam(required=False, help_text="提供部门编号（与列表的 department 相同）")


class ConsistencyItemSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="信息项")
    compared = serializers.IntegerField(help_text="双方均有取值的主体数")
    disagreeing = serializers.IntegerField(help_text="取值不一致的主体数")


def _side(prefix: str, label: str) -> dict:
    return {
        f"{prefix}_dataset": serializers.IntegerField(help_text=f"{label}数据资源（资源池数据集编号）"),
        f"{prefix}_dataset_name": serializers.CharField(help_text=f"{label}数据资源名称"),
        f"{prefix}_department_name": serializers.CharField(help_text=f"{label}提供部门"),
    }


ConsistencyComparisonSerializer = type("ConsistencyComparisonSerializer", (serializers.Serializer,), {
    **_side("a", "一方"), **_side("b", "另一方"),
    "compared": serializers.IntegerField(help_text="共同主体中至少一个信息项双方均有取值的主体数"),
    "disagreeing": serializers.IntegerField(help_text="至少一个信息项不一致的主体数"),
    "partial": serializers.BooleanField(help_text="超过单次比对上限，只比对了一部分"),
    "items": ConsistencyItemSerializer(many=True),
})

ConsistencyPairSerializer = type("ConsistencyPairSerializer", (serializers.Serializer,), {
    "key": serializers.CharField(help_text="主体标识（按调用者权限脱敏）"),
    "item": serializers.CharField(help_text="信息项"),
    **_side("a", "来源一"), "a_value": serializers.JSONField(help_text="来源一的取值（按调用者权限脱敏）"),
    **_side("b", "来源二"), "b_value": serializers.JSONField(help_text="来源二的取值（按调用者权限脱敏）"),
})


class ConsistencySerializer(serializers.Serializer):
    comparisons = ConsistencyComparisonSerializer(many=True)
    pairs = ConsistencyPairSerializer(many=True)
    pairs_total = serializers.IntegerField(help_text="不一致（主体、信息项）总数，含未列出的")
    hidden = serializers.IntegerField(help_text="涉及调用者无权查看的数据资源、未列出的不一致记录对数")
