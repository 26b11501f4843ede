"""API shapes of the ingest jobs."""

from __future__ import annotations

from rest_framework import serializers

from ...choices import JobMode
from ...models import IngestJob


class IngestJobSerializer(serializers.ModelSerializer):
    resource = serializers.CharField(source="dataset.entry.resource_key", read_only=True)
    dataset_name = serializers.CharField(source="dataset.entry.name", read_only=True)
    status_display = serializers.CharField(source="state_display", read_only=True)
    awaiting_mapping = serializers.BooleanField(read_only=True, help_text="待确认映射：等待上传人确认列对应")
    header = serializers.ListField(child=serializers.CharField(), read_only=True)
    mapping = serializers.DictField(child=serializers.CharField(), read_only=True)
    near_matches = serializers.DictField(
        child=serializers.CharField(), read_only=True,
        help_text="表头与信息项名称相近、须确认或忽略的列 → 建议的信息项")
    empty_items = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="文件未包含、按选择以空值替换的信息项")
    kept_items = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="文件未包含、保留了原值的信息项")
    created_by = serializers.StringRelatedField(allow_null=True)  # the column allows none (null=True)

    class Meta:
        model = IngestJob
        fields = [
            "id", "resource", "dataset", "dataset_name", "original_name", "size", "file_sha256", "format", "encoding",
            "mode", "status", "status_display", "awaiting_mapping", "header", "mapping", "near_matches", "empty_items",
            "kept_items", "progress", "total_rows", "accepted_rows", "rejected_rows",
            "duplicate_rows", "inserted_rows", "updated_rows", "unchanged_rows", "log", "attempts", "created_by",
            "created_at", "started_at", "finished_at",
        ]
        read_only_fields = fields


class IngestMappingSerializer(serializers.Serializer):
    mapping = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=200),
        help_text="文件列名 → 信息项名称；空字符串表示该列不导入", allow_empty=False)
    mode = serializers.ChoiceField(choices=JobMode.choices, required=False)
    empty_items = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list,
        help_text="文件未包含、要以空值替换的信息项（其余未包含的保留原值）")
    empty_all = serializers.BooleanField(required=False, default=False, help_text="全部未包含的信息项都以空值替换")
