"""API shapes of the ingest jobs."""

from __future__ import annotations

from rest_framework import serializers

from ...models import IngestJob


class IngestJobSerializer(serializers.ModelSerializer):
    resource = serializers.CharField(source="dataset.entry.resource_key", read_only=True)
    dataset_name = serializers.CharField(source="dataset.entry.name", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    created_by = serializers.StringRelatedField()

    class Meta:
        model = IngestJob
        fields = [
            "id", "resource", "dataset", "dataset_name", "original_name", "size", "format", "encoding", "mode",
            "status", "status_display", "progress", "total_rows", "accepted_rows", "rejected_rows",
            "duplicate_rows", "inserted_rows", "updated_rows", "unchanged_rows", "log", "attempts", "created_by",
            "created_at", "started_at", "finished_at",
        ]
        read_only_fields = fields
