"""API shapes of the verification cases (separate input and output serializers where they differ)."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from portal.selectors.deadlines import deadline_row
from portal.services.workdays import WorkCalendar

from ...models import VerificationCase
from ...selectors.verification import VERIFICATION_NOTICE
from ...services.verification import MAX_EVIDENCE_FILES


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
        return deadline_row(obj, calendar=self.context.setdefault("calendar", WorkCalendar())).remaining

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
