"""Shapes of the demand-list API (R8.1): a line, its input, its matches with reasons, the Excel import's answer."""

from __future__ import annotations

from rest_framework import serializers

from catalog.models import DemandItem
from portal.models import Department


class DemandEntryRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    resource = serializers.CharField(source="resource_key")
    code = serializers.CharField(allow_null=True)
    name = serializers.CharField()
    provider = serializers.CharField(source="provider.name")


class DemandSerializer(serializers.ModelSerializer):
    department_name = serializers.CharField(source="department.name")
    provider_name = serializers.CharField(source="provider.name", allow_null=True, default=None)
    state_label = serializers.CharField(source="get_state_display")
    matches = DemandEntryRefSerializer(many=True, help_text="目录中已有、可满足该需求的信息资源（保存和提交时匹配）")

    class Meta:
        model = DemandItem
        fields = [
            "id",
            "department",
            "department_name",
            "needed_data",
            "item_names",
            "purpose",
            "legal_basis",
            "provider",
            "provider_name",
            "state",
            "state_label",
            "matches",
            "matched_at",
            "close_note",
            "created_at",
            "updated_at",
            "submitted_at",
        ]
        read_only_fields = fields


class DemandInputSerializer(serializers.Serializer):
    """A draft line of the caller's own department's demand list."""

    needed_data = serializers.CharField(max_length=200, help_text="所需数据，如 企业营业执照信息")
    item_names = serializers.ListField(
        child=serializers.CharField(max_length=100), default=list, max_length=200, help_text="所需信息项"
    )
    purpose = serializers.CharField(max_length=2000, help_text="用途")
    legal_basis = serializers.CharField(max_length=2000, help_text="依据（法律法规或部门职责）")
    provider = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.filter(is_active=True),
        allow_null=True,
        required=False,
        default=None,
        help_text="提供部门编号；不清楚时为 null",
    )


class DemandPatchSerializer(DemandInputSerializer):
    """The fields to change of a draft line; the others keep their values."""

    needed_data = serializers.CharField(max_length=200, required=False)
    item_names = serializers.ListField(child=serializers.CharField(max_length=100), required=False, max_length=200)
    purpose = serializers.CharField(max_length=2000, required=False)
    legal_basis = serializers.CharField(max_length=2000, required=False)
    provider = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.filter(is_active=True), allow_null=True, required=False
    )


class CloseSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500, help_text="办结说明（必填）")


class DemandMatchSerializer(serializers.Serializer):
    entry = DemandEntryRefSerializer()
    common_items = serializers.ListField(child=serializers.CharField(), help_text="该信息资源含有的所需信息项")
    reasons = serializers.ListField(child=serializers.CharField(), help_text="匹配理由")


class DemandMatchesSerializer(serializers.Serializer):
    demand = serializers.IntegerField()
    matches = DemandMatchSerializer(many=True)


class DemandImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="按需求清单模板填写的 .xlsx 文件（GET …/demands/template/ 下载）")


class DemandImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    demands = DemandSerializer(many=True, help_text="新增或修改的需求（草稿）")


class CellProblemSerializer(serializers.Serializer):
    sheet = serializers.CharField(help_text="工作表；「文件」为整个文件的问题")
    row = serializers.IntegerField(allow_null=True)
    column = serializers.CharField(help_text="列字母；空为整行或整个工作表")
    header = serializers.CharField()
    value = serializers.CharField()
    message = serializers.CharField()


class DemandImportProblemsSerializer(serializers.Serializer):
    """The refusal: `invalid_file` with the problems by sheet, row and column; `invalid` (no file) with `errors`."""

    code = serializers.CharField(help_text="invalid_file：文件有误，未导入任何数据；invalid：请求中没有文件")
    detail = serializers.CharField()
    problems = CellProblemSerializer(many=True, required=False, help_text="invalid_file 时：每个问题所在的位置")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False, help_text="invalid 时：按字段"
    )
