"""API shapes of the base databases: a subject lookup and its merged values and sources."""

from __future__ import annotations

from rest_framework import serializers

from ...selectors.verification import VERIFICATION_NOTICE


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
    record = serializers.IntegerField(source="record.id")
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
