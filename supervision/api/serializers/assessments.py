"""The annual assessment's REST shapes (R33)."""

from __future__ import annotations

from rest_framework import serializers

from portal.api.params import DateParam, IntegerParam, QuerySerializer
from portal.validators import MAX_TEXT_LENGTH

from ...models import (
    Assessment,
    AssessmentAdjustment,
    AssessmentIndicator,
    AssessmentObjection,
    AssessmentResult,
    AssessmentScore,
)


class IndicatorSerializer(serializers.ModelSerializer):
    block_label = serializers.CharField(source="get_block_display", read_only=True)

    class Meta:
        model = AssessmentIndicator
        fields = ["key", "name", "block", "block_label", "weight", "position"]
        read_only_fields = fields


class AssessmentSerializer(serializers.ModelSerializer):
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    region = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True, help_text="考核区域编号；空为全市")
    indicators = IndicatorSerializer(many=True, read_only=True)

    class Meta:
        model = Assessment
        fields = ["id", "year", "title", "region", "state", "state_label", "objection_until", "computed_at",
                  "published_at", "indicators"]
        read_only_fields = fields


class AssessmentCreateSerializer(serializers.Serializer):
    year = IntegerParam(min_value=2000, max_value=9999)
    title = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    region = IntegerParam(min_value=1, required=False, allow_null=True, default=None, help_text="县(市)区编号")


class IndicatorRowSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=40)
    weight = IntegerParam(min_value=0, max_value=100)
    name = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)


class IndicatorSetSerializer(serializers.Serializer):
    indicators = IndicatorRowSerializer(many=True)


class ResultSerializer(serializers.ModelSerializer):
    department_name = serializers.CharField(source="department.name", read_only=True)
    grade_label = serializers.CharField(source="get_grade_display", read_only=True)

    class Meta:
        model = AssessmentResult
        fields = ["department", "department_name", "computed_points", "adjustment_points", "total", "veto", "rank",
                  "grade", "grade_label"]
        read_only_fields = fields


class ScoreSerializer(serializers.ModelSerializer):
    indicator = serializers.CharField(source="indicator.key", read_only=True)
    indicator_name = serializers.CharField(source="indicator.name", read_only=True)
    weight = serializers.IntegerField(source="indicator.weight", read_only=True)

    class Meta:
        model = AssessmentScore
        fields = ["department", "indicator", "indicator_name", "weight", "numerator", "denominator", "rate",
                  "points", "veto", "evidence_type", "counted_ids", "failed_ids", "computed_at"]
        read_only_fields = fields


class AdjustmentSerializer(serializers.ModelSerializer):
    indicator = serializers.CharField(source="indicator.key", read_only=True, allow_null=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)

    class Meta:
        model = AssessmentAdjustment
        fields = ["id", "department", "indicator", "delta", "reason", "created_by", "created_at"]
        read_only_fields = fields


class ObjectionSerializer(serializers.ModelSerializer):
    indicator = serializers.CharField(source="indicator.key", read_only=True, allow_null=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    filed_by = serializers.CharField(source="filed_by.username", read_only=True)

    class Meta:
        model = AssessmentObjection
        fields = ["id", "department", "indicator", "reason", "filed_by", "filed_at", "state", "state_label",
                  "answer", "answered_at", "adjustment"]
        read_only_fields = fields


class AdjustSerializer(serializers.Serializer):
    department = IntegerParam(min_value=1)
    indicator = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)
    delta = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=-100, max_value=100)
    reason = serializers.CharField(max_length=MAX_TEXT_LENGTH, allow_blank=True, help_text="调整理由（必填）")


class ObjectSerializer(serializers.Serializer):
    indicator = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)
    reason = serializers.CharField(max_length=MAX_TEXT_LENGTH)


class AnswerSerializer(serializers.Serializer):
    objection = IntegerParam(min_value=1)
    answer = serializers.CharField(max_length=MAX_TEXT_LENGTH)
    delta = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=-100, max_value=100,
                                     required=False, allow_null=True, default=None)


class OpenObjectionsSerializer(serializers.Serializer):
    until = DateParam(help_text="异议截止日期 YYYY-MM-DD")


class ScoresQuery(QuerySerializer):
    department = IntegerParam(min_value=1, required=False, help_text="部门编号")
