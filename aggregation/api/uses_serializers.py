"""API shapes of the uses part (separate input and output serializers where they differ)."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models_uses import QualityReport, ThemeBuildJob, ThemeDatabase, VerificationCase
from ..verification import MAX_EVIDENCE_FILES, VERIFICATION_NOTICE


class EvidenceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="original_name")
    size = serializers.IntegerField()
    content_type = serializers.CharField()
    sha256 = serializers.CharField()
    url = serializers.SerializerMethodField()

    def get_url(self, obj) -> str:
        return reverse("aggregation:verification-evidence", args=[obj.case_id, obj.pk])


class VerificationCaseSerializer(serializers.ModelSerializer):
    dataset_name = serializers.CharField(source="dataset.entry.name", read_only=True)
    provider_name = serializers.CharField(source="provider.name", read_only=True)
    requester_name = serializers.CharField(source="requester.name", read_only=True)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    due_on = serializers.DateField(read_only=True, allow_null=True)
    clock_state = serializers.CharField(read_only=True, allow_null=True)
    extended_days = serializers.IntegerField(read_only=True, allow_null=True)
    remaining_working_days = serializers.SerializerMethodField()
    under_verification = serializers.SerializerMethodField()
    verification_notice = serializers.SerializerMethodField()
    evidence = EvidenceSerializer(many=True, read_only=True)

    class Meta:
        model = VerificationCase
        fields = [
            "id", "dataset", "dataset_name", "record", "provider", "provider_name", "requester", "requester_name",
            "fields", "description", "state", "state_display", "received_on", "due_on", "clock_state",
            "extended_days", "remaining_working_days", "extension_state", "extension_days", "extension_reason",
            "extension_comment", "answer", "corrected_items", "correction", "created_at", "answered_at",
            "under_verification", "verification_notice", "evidence",
        ]
        read_only_fields = fields

    def get_remaining_working_days(self, obj) -> int | None:
        """Working days left on the verification clock (negative: overdue); null once answered."""
        due = getattr(obj, "due_on", None)
        if not obj.is_open or due is None:
            return None
        calendar = self.context.get("calendar")
        if calendar is None:
            from portal.services.workdays import WorkCalendar

            calendar = self.context["calendar"] = WorkCalendar()
        return calendar.remaining_working_days(due)

    def get_under_verification(self, obj) -> bool:
        return obj.is_open

    def get_verification_notice(self, obj) -> str:
        return str(VERIFICATION_NOTICE) if obj.is_open else ""


class VerificationCaseCreateSerializer(serializers.Serializer):
    dataset = serializers.IntegerField()
    record = serializers.IntegerField()
    fields = serializers.ListField(child=serializers.CharField(max_length=100), allow_empty=False)
    description = serializers.CharField(max_length=4000)
    evidence = serializers.ListField(
        child=serializers.FileField(), required=False, default=list, max_length=MAX_EVIDENCE_FILES,
        help_text="PDF/JPG/PNG/DOCX/XLSX，每个不超过 10 MB（multipart/form-data）",
    )


class ExtensionRequestSerializer(serializers.Serializer):
    working_days = serializers.IntegerField(min_value=1, max_value=10)
    reason = serializers.CharField(max_length=2000)


class ExtensionDecisionSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ConfirmSerializer(serializers.Serializer):
    explanation = serializers.CharField(max_length=4000)


class CorrectSerializer(serializers.Serializer):
    values = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=2000))
    explanation = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class SubjectLookupSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=100)


class SubjectValueSerializer(serializers.Serializer):
    item = serializers.CharField()
    value = serializers.JSONField(allow_null=True)
    masked = serializers.BooleanField()
    source = serializers.CharField()
    dataset = serializers.IntegerField(source="dataset_id")
    dataset_name = serializers.CharField()
    updated_at = serializers.DateTimeField()


class SubjectSourceSerializer(serializers.Serializer):
    dataset = serializers.IntegerField(source="dataset.pk")
    dataset_name = serializers.CharField(source="dataset.entry.name")
    department = serializers.CharField()
    record = serializers.IntegerField(source="record.pk")
    updated_at = serializers.DateTimeField()
    under_verification = serializers.BooleanField()
    verification_notice = serializers.SerializerMethodField()

    def get_verification_notice(self, obj) -> str:
        return str(VERIFICATION_NOTICE) if obj["under_verification"] else ""


class SubjectSerializer(serializers.Serializer):
    kind = serializers.CharField(source="db.kind")
    label = serializers.CharField(source="db.label")
    key = serializers.CharField(source="key_display")
    found = serializers.BooleanField()
    under_verification = serializers.SerializerMethodField()
    verification_notice = serializers.SerializerMethodField()
    values = SubjectValueSerializer(many=True)
    sources = SubjectSourceSerializer(many=True)

    def get_under_verification(self, obj) -> bool:
        return any(s["under_verification"] for s in obj.sources)

    def get_verification_notice(self, obj) -> str:
        return str(VERIFICATION_NOTICE) if self.get_under_verification(obj) else ""


class RecordReadSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    dataset = serializers.IntegerField()
    key = serializers.CharField()
    values = serializers.DictField(child=serializers.JSONField(allow_null=True))
    masked = serializers.BooleanField()
    version = serializers.IntegerField()
    updated_at = serializers.DateTimeField()
    under_verification = serializers.BooleanField()
    verification_notice = serializers.CharField()
    verification_case = serializers.IntegerField(allow_null=True)


class ThemeJobSerializer(serializers.ModelSerializer):
    class Meta:
        model = ThemeBuildJob
        fields = ["id", "status", "progress", "row_count", "log", "created_at", "started_at", "finished_at"]
        read_only_fields = fields


class ThemeSerializer(serializers.ModelSerializer):
    department_name = serializers.CharField(source="department.name", read_only=True)
    sources = serializers.SerializerMethodField()
    latest_job = serializers.SerializerMethodField()

    class Meta:
        model = ThemeDatabase
        fields = ["id", "name", "department", "department_name", "description", "key_kind", "join_mode",
                  "row_count", "built_at", "sources", "latest_job"]
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


class ThemeRowsSerializer(serializers.Serializer):
    columns = serializers.ListField(child=serializers.DictField())
    results = ThemeRowSerializer(many=True)
    next = serializers.IntegerField(allow_null=True, help_text="下一页的 after 参数；null 表示没有更多")


class QualityReportSerializer(serializers.ModelSerializer):
    dataset_name = serializers.CharField(source="dataset.entry.name", read_only=True)
    department_name = serializers.CharField(source="department.name", read_only=True)

    class Meta:
        model = QualityReport
        fields = ["id", "dataset", "dataset_name", "department", "department_name", "day", "row_count",
                  "completeness", "completeness_avg", "valid_keys", "validity", "duplicate_keys", "load_duplicates",
                  "last_loaded_at", "cycle_days", "days_since_load", "timely", "computed_at"]
        read_only_fields = fields
