"""Sharing API shapes: requests (input and output differ), grants."""

from __future__ import annotations

from rest_framework import serializers

from portal.api.params import DateParam

from ..choices import Purpose
from ..models import Grant, SharingComment, SharingRequest


class CommentSerializer(serializers.ModelSerializer):
    department = serializers.CharField(source="department.name")
    author = serializers.CharField(source="author.__str__")

    class Meta:
        model = SharingComment
        fields = ["id", "department", "author", "body", "created_at"]


class SharingRequestSerializer(serializers.ModelSerializer):
    consumer = serializers.CharField(source="consumer.name")
    entry_code = serializers.CharField(source="entry.code")
    entry_name = serializers.CharField(source="entry.name")
    provider = serializers.CharField(source="entry.provider.name")
    grant = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)  # none until approved
    comments = CommentSerializer(many=True, read_only=True)

    class Meta:
        model = SharingRequest
        fields = [
            "id", "consumer", "entry", "entry_code", "entry_name", "provider", "legal_basis", "duty_basis",
            "business_need", "purpose", "purpose_detail", "items", "methods", "valid_from", "valid_to", "state",
            "submitted_on", "decided_at", "decision_reason", "grant", "comments",
        ]


class SharingRequestInputSerializer(serializers.Serializer):
    entry = serializers.IntegerField()
    legal_basis = serializers.CharField()
    duty_basis = serializers.CharField()
    business_need = serializers.CharField()
    purpose = serializers.ChoiceField(choices=Purpose.choices)
    purpose_detail = serializers.CharField(required=False, allow_blank=True, max_length=200)
    items = serializers.ListField(child=serializers.CharField(max_length=100), allow_empty=False)
    methods = serializers.ListField(child=serializers.CharField(max_length=20), allow_empty=False)
    valid_from = DateParam()
    valid_to = DateParam()


class CommentInputSerializer(serializers.Serializer):
    body = serializers.CharField()


class ApproveInputSerializer(serializers.Serializer):
    items = serializers.ListField(child=serializers.CharField(max_length=100), required=False, allow_empty=False)
    valid_from = DateParam(required=False)
    valid_to = DateParam(required=False)
    comment = serializers.CharField(required=False, allow_blank=True)


class ReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField()


class GrantSerializer(serializers.ModelSerializer):
    consumer = serializers.CharField(source="consumer.name")
    entry_code = serializers.CharField(source="entry.code")
    entry_name = serializers.CharField(source="entry.name")
    resource = serializers.CharField(source="entry.resource_key")

    class Meta:
        model = Grant
        fields = [
            "id", "request", "consumer", "entry", "entry_code", "entry_name", "resource", "items", "purpose",
            "methods", "valid_from", "valid_to", "state", "created_at", "revoked_at", "revoke_reason",
        ]
