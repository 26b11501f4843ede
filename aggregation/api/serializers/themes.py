"""API shapes of the theme databases: definitions, build jobs, browsed rows."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api.params import IntegerParam, QuerySerializer

from ...choices import ThemeTrigger
from ...models import ThemeBuildJob, ThemeDatabase


class ThemeJobSerializer(serializers.ModelSerializer):
    class Meta:
        model = ThemeBuildJob
        fields = ["id", "status", "trigger", "progress", "row_count", "log", "created_at", "started_at", "finished_at",
                  "source_loads"]
        read_only_fields = fields


class ThemeSerializer(serializers.ModelSerializer):
    department_name = serializers.CharField(source="department.name", read_only=True)
    sources = serializers.SerializerMethodField()
    latest_job = serializers.SerializerMethodField()
    # "" while no rebuild is due: declared here because a read-only model field loses allow_blank, so the schema's
    # enum would not admit the empty string the API answers.
    rebuild_reason = serializers.ChoiceField(choices=ThemeTrigger.choices, allow_blank=True, read_only=True)

    class Meta:
        model = ThemeDatabase
        fields = ["id", "name", "department", "department_name", "description", "key_kind", "join_mode",
                  "row_count", "built_at", "rebuild_due_at", "rebuild_reason", "sources", "latest_job"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_sources(self, obj) -> list:
        return [{"dataset": s.dataset_id, "items": list(s.item_names)} for s in obj.sources.all()]

    @extend_schema_field(ThemeJobSerializer(allow_null=True))
    def get_latest_job(self, obj):
        jobs = list(obj.jobs.all())
        return ThemeJobSerializer(jobs[0]).data if jobs else None


class ThemeRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    values = serializers.DictField(child=serializers.JSONField(allow_null=True))
    updated_at = serializers.DateTimeField(allow_null=True)


class ThemeRowsQuerySerializer(QuerySerializer):
    after = IntegerParam(required=False, help_text="上一页返回的 next；缺省从头开始")
    limit = IntegerParam(required=False, help_text="每页行数，缺省 50，最多 500")


class ThemeRowsSerializer(serializers.Serializer):
    columns = serializers.ListField(child=serializers.DictField())
    results = ThemeRowSerializer(many=True)
    next = serializers.IntegerField(allow_null=True, help_text="下一页的 after 参数；null 表示没有更多")
