"""Informatization projects as the API shows and takes them (the rules are the service's: services/projects.py)."""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api.params import ChoiceParam, DateParam
from portal.validators import MAX_TEXT_LENGTH

from ...choices import DECLARED_ITEMS, CheckItem, FundingKind
from ...models import InformatizationProject, ProjectResource
from ...services.projects import DESCRIPTION_MAX, MAX_RESOURCES, checklist_failures

_AMOUNT = re.compile(r"-?[0-9]{1,12}(\.[0-9]+)?")


class ResourceSerializer(serializers.ModelSerializer):
    resource = serializers.SerializerMethodField(help_text="对应目录的资源标识；未关联时为空")
    resource_name = serializers.CharField(source="entry.name", read_only=True, allow_null=True,
                                          help_text="对应目录的名称")

    class Meta:
        model = ProjectResource
        fields = ["name", "resource", "resource_name"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_resource(self, resource) -> str | None:
        return resource.entry.resource_key if resource.entry_id else None


class ProjectSerializer(serializers.ModelSerializer):
    department_name = serializers.CharField(source="department.name", read_only=True)
    funding_kind_label = serializers.CharField(source="get_funding_kind_display", read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    resources = ResourceSerializer(many=True, read_only=True)
    checklist_failures = serializers.SerializerMethodField(
        help_text="未通过的核查项：部门未承诺的共建共享要求，及（审核后）审核员未核实的项")
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    reviewed_by = serializers.CharField(source="reviewed_by.username", read_only=True, allow_null=True)
    missing_resources = serializers.ListField(child=serializers.CharField(), read_only=True,
                                              help_text="已建成项目中尚未编入本部门已发布目录的信息资源名称")

    class Meta:
        model = InformatizationProject
        fields = ["id", "name", "department", "department_name", "funding_kind", "funding_kind_label", "budget",
                  "period_start", "period_end", "description", "resources", "declared_checks", "review_checks",
                  "checklist_failures", "state", "state_label", "submitted_at", "reviewed_by", "reviewed_at",
                  "review_opinion", "return_reason", "started_on", "completed_on", "missing_resources",
                  "created_by", "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=CheckItem.choices)))
    def get_checklist_failures(self, project) -> list[str]:
        confirmed = project.review_checks if project.reviewed_at else CheckItem.values
        return checklist_failures(project.declared_checks, confirmed)


class AmountField(serializers.DecimalField):
    """万元: a JSON number or a decimal string in ASCII digits (Python's Decimal reads full-width digits too). The
    sign is the service's to judge, with its own message."""

    default_error_messages = {"invalid": gettext_lazy("须为金额（万元，半角数字，最多两位小数）")}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (str, int, float)):
            self.fail("invalid")
        if not _AMOUNT.fullmatch(str(data).strip()):
            self.fail("invalid")
        return super().to_internal_value(data)


class ResourceInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=MAX_TEXT_LENGTH, help_text="信息资源名称")
    resource = serializers.CharField(max_length=MAX_TEXT_LENGTH, required=False, allow_blank=True, default="",
                                     help_text="本部门对应目录的资源标识（可省略）")


class ProjectInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=MAX_TEXT_LENGTH, help_text="项目名称")
    funding_kind = ChoiceParam(choices=FundingKind.choices,
                               help_text="government 政府投资 / joint 共建 / purchased 购买服务 / operation 运维经费")
    budget = AmountField(max_digits=14, decimal_places=None, help_text="预算（万元），不小于 0，最多两位小数")
    period_start = DateParam(help_text="建设期开始（YYYY-MM-DD）")
    period_end = DateParam(help_text="建设期结束（YYYY-MM-DD）")
    description = serializers.CharField(max_length=DESCRIPTION_MAX, help_text="建设内容")
    resources = ResourceInputSerializer(many=True, required=False, default=list, max_length=MAX_RESOURCES,
                                        help_text="拟产生的信息资源")
    declared_checks = serializers.ListField(
        child=ChoiceParam(choices=[(i.value, i.label) for i in DECLARED_ITEMS]), required=False, default=list,
        max_length=len(DECLARED_ITEMS),
        help_text="部门承诺的共建共享要求（gov_cloud、egov_network、data_platform、no_exchange）")


class ProjectApproveSerializer(serializers.Serializer):
    checks = serializers.ListField(child=ChoiceParam(choices=CheckItem.choices), max_length=len(CheckItem),
                                   help_text="审核员逐项核实的核查项；五项须全部核实且部门已承诺前四项，否则不予审批")
    opinion = serializers.CharField(max_length=DESCRIPTION_MAX, required=False, allow_blank=True, default="",
                                    help_text="审核意见")


class ProjectReturnSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=DESCRIPTION_MAX, help_text="退回理由")
    checks = serializers.ListField(child=ChoiceParam(choices=CheckItem.choices), max_length=len(CheckItem),
                                   required=False, default=list, help_text="已核实的核查项")


class OverlapHitSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[("project", "信息化项目"), ("entry", "目录资源")])
    id = serializers.IntegerField(source="obj.pk")
    name = serializers.CharField(source="obj.name")
    department = serializers.SerializerMethodField(help_text="申报部门或提供方名称")
    reasons = serializers.ListField(child=serializers.CharField(), help_text="检出原因")

    @extend_schema_field(serializers.CharField())
    def get_department(self, hit) -> str:
        return hit.obj.department.name if hit.kind == "project" else hit.obj.provider.name
