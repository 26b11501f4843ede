"""Update-case API shapes (R10)."""

from __future__ import annotations

from rest_framework import serializers

from catalog.choices import UpdateTrigger
from catalog.models import CatalogUpdateCase
from portal.api.params import DateParam

from .entries import EntryInputSerializer


class UpdateCaseSerializer(serializers.ModelSerializer):
    entry = serializers.CharField(source="entry.resource_key")
    department = serializers.CharField(source="department.name")
    state_label = serializers.CharField(source="get_state_display")

    class Meta:
        model = CatalogUpdateCase
        fields = [
            "id",
            "entry",
            "department",
            "trigger_kind",
            "trigger_date",
            "trigger_document",
            "trigger_description",
            "state",
            "state_label",
            "submitted_on",
            "decided_at",
            "comment",
            "proposed",
        ]


class UpdateCaseOpenSerializer(serializers.Serializer):
    entry = serializers.CharField(help_text="资源标识（resource）")
    trigger_kind = serializers.ChoiceField(choices=UpdateTrigger.choices)
    trigger_date = DateParam()
    trigger_document = serializers.CharField(max_length=200)
    trigger_description = serializers.CharField(required=False, allow_blank=True, default="")


class UpdateCaseProposalSerializer(EntryInputSerializer):
    classification = serializers.CharField(required=False, help_text="不可变更；省略即可")

