"""API shapes of data quality."""

from __future__ import annotations

from rest_framework import serializers

from ...models import QualityReport


class QualityReportSerializer(serializers.ModelSerializer):
    dataset_name = serializers.CharField(source="dataset.entry.name", read_only=True)
    department_name = serializers.CharField(source="department.name", read_only=True)

    class Meta:
        model = QualityReport
        fields = ["id", "dataset", "dataset_name", "department", "department_name", "day", "row_count",
                  "completeness", "completeness_avg", "valid_keys", "validity", "duplicate_keys", "load_duplicates",
                  "last_loaded_at", "cycle_days", "days_since_load", "timely", "computed_at"]
        read_only_fields = fields
