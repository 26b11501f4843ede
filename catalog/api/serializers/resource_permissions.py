"""Shapes of the per-resource permission API (R28.2): the assignment matrix of a department, and a save."""

from __future__ import annotations

from rest_framework import serializers

from catalog.resource_perms import RESOURCE_PERMS
from portal.api.params import IntegerParam, QuerySerializer
from portal.validators import text_problem

MAX_ID = 10**18 - 1  # what fits a bigint; a larger number is refused before it reaches SQL


class MatrixQuerySerializer(QuerySerializer):
    department = IntegerParam(required=False, help_text="部门 id；部门主要负责人缺省为本部门，安全管理员必填")
    q = serializers.CharField(required=False, allow_blank=True, max_length=100, help_text="资源名称或代码（包含）")
    user = IntegerParam(required=False, help_text="只看这一名数据专员")
    page = IntegerParam(required=False, help_text="页码，从 1 开始；每页 20 个资源")

    def validate_q(self, value):
        problem = text_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value


class StaffSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField()


class HolderSerializer(serializers.Serializer):
    user = serializers.IntegerField()
    perms = serializers.ListField(child=serializers.ChoiceField(choices=RESOURCE_PERMS))


class MatrixRowSerializer(serializers.Serializer):
    entry = serializers.IntegerField()
    code = serializers.CharField(allow_null=True)
    name = serializers.CharField()
    state = serializers.CharField()
    holders = HolderSerializer(many=True,
                               help_text="每名数据专员在该资源上持有的权限（部门主要负责人不列出，默认全部持有）")


class MatrixSerializer(serializers.Serializer):
    department = serializers.IntegerField()
    permissions = serializers.ListField(child=serializers.CharField(), help_text="load_data / answer_verification / "
                                        "comment_request")
    staff = StaffSerializer(many=True)
    count = serializers.IntegerField(help_text="符合条件的资源数")
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    results = MatrixRowSerializer(many=True)


class AssignmentSerializer(serializers.Serializer):
    user = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    entry = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    perms = serializers.ListField(child=serializers.ChoiceField(choices=RESOURCE_PERMS), allow_empty=True,
                                  max_length=len(RESOURCE_PERMS),
                                  help_text="保存后该人员在该资源上恰好持有这些权限（空表示全部收回）")


class SetSerializer(serializers.Serializer):
    department = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False,
                                          help_text="部门 id；部门主要负责人缺省为本部门，安全管理员必填")
    assignments = AssignmentSerializer(many=True, allow_empty=False, max_length=5000)


class ChangeSerializer(serializers.Serializer):
    user = serializers.IntegerField()
    entry = serializers.IntegerField()
    perm = serializers.CharField()


class SetResultSerializer(serializers.Serializer):
    granted = ChangeSerializer(many=True)
    revoked = ChangeSerializer(many=True)
