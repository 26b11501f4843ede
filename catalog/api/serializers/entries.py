"""Catalog entry API shapes: list / detail with items and interface documentation, inputs of filing and review."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from catalog.choices import (
    GUIDE_SHARE_MODE,
    DataType,
    ExchangeMethod,
    FormatClass,
    OpenType,
    Sensitivity,
    ShareType,
    UpdateCycle,
)
from catalog.models import CatalogEntry, CatalogEntryVersion, DataItem


class DepartmentRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    credit_code = serializers.CharField()
    region = serializers.CharField(source="region.name")


class ClassificationRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.IntegerField()
    resource_class = serializers.CharField()


class DataItemSerializer(serializers.ModelSerializer):
    data_type_label = serializers.CharField(source="get_data_type_display", read_only=True)

    class Meta:
        model = DataItem
        fields = [
            "position",
            "name",
            "data_type",
            "data_type_label",
            "length",
            "is_subject_key",
            "is_base_item",
            "description",
            "sensitivity",
            "derived_from",
        ]


class EntryListSerializer(serializers.ModelSerializer):
    resource = serializers.CharField(
        source="resource_key", read_only=True, help_text="URL 中使用的资源标识：资源代码中的“/”换成“-”"
    )
    provider = DepartmentRefSerializer(read_only=True)
    classification = ClassificationRefSerializer(read_only=True)
    share_type_label = serializers.CharField(source="get_share_type_display", read_only=True)
    update_cycle_label = serializers.CharField(source="get_update_cycle_display", read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = CatalogEntry
        fields = [
            "resource",
            "code",
            "name",
            "provider",
            "provider_code",
            "classification",
            "summary",
            "format_class",
            "format_type",
            "share_type",
            "share_type_label",
            "exchange_methods",
            "open_type",
            "update_cycle",
            "update_cycle_label",
            "publish_date",
            "state",
            "state_label",
            "version",
            "updated_at",
            "url",
        ]

    def get_url(self, entry) -> str:
        return reverse("catalog-api:entry-detail", args=[entry.resource_key], request=self.context.get("request"))


class InterfaceDocSerializer(serializers.Serializer):
    """How to get the data (R20.1): the data endpoints of this resource and the guide's share modes."""

    exchange_methods = serializers.ListField(child=serializers.DictField())
    records = serializers.CharField(help_text="拉取：GET，分页游标 cursor，字段投影 fields，增量 since")
    query = serializers.CharField(help_text="在线查询：GET …/records/{身份证号或统一社会信用代码}/")
    export = serializers.CharField(help_text="批量下载：GET …/export/?format=csv|xlsx")
    subject_key = serializers.CharField(allow_null=True)
    openapi = serializers.CharField()
    requires_grant = serializers.BooleanField()


class EntryDetailSerializer(EntryListSerializer):
    items = DataItemSerializer(many=True, read_only=True)
    interface = serializers.SerializerMethodField()

    class Meta(EntryListSerializer.Meta):
        fields = [
            *EntryListSerializer.Meta.fields,
            "share_condition",
            "no_share_basis",
            "open_condition",
            "related_codes",
            "is_secret",
            "items",
            "interface",
        ]

    @extend_schema_field(InterfaceDocSerializer)
    def get_interface(self, entry) -> dict:
        request = self.context.get("request")
        base = f"/api/v1/data/{entry.resource_key}"
        labels = dict(ExchangeMethod.choices)
        key = next((i.name for i in entry.items.all() if i.is_subject_key), None)
        return {
            "exchange_methods": [
                {"method": m, "label": str(labels.get(m, m)), "guide_mode": GUIDE_SHARE_MODE.get(m, "")}
                for m in entry.exchange_methods
            ],
            "records": f"{base}/records/",
            "query": f"{base}/records/{{key}}/",
            "export": f"{base}/export/?format=csv",
            "subject_key": key,
            "openapi": request.build_absolute_uri("/api/schema/") if request else "/api/schema/",
            "requires_grant": entry.share_type != ShareType.UNCONDITIONAL,
        }


class DataItemInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    data_type = serializers.ChoiceField(choices=DataType.choices)
    length = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    is_subject_key = serializers.BooleanField(default=False)
    is_base_item = serializers.BooleanField(default=False)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    sensitivity = serializers.ChoiceField(
        choices=Sensitivity.choices, required=False, allow_blank=True, default="",
        help_text="public 非个人信息 / personal 个人信息 / sensitive 个人敏感信息；留空则按信息项名称建议",
    )
    derived_from = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default="",
        help_text="可由本条目哪一信息项推出（如出生日期←公民身份号码）；留空则按名称建议",
    )


class EntryInputSerializer(serializers.Serializer):
    """A draft entry as filed by its department; the service checks the catalog rules (errors by field)."""

    classification = serializers.CharField(help_text="分类代码（项及以下），如 303")
    name = serializers.CharField(max_length=200)
    summary = serializers.CharField()
    format_class = serializers.ChoiceField(choices=FormatClass.choices)
    format_type = serializers.CharField(max_length=100)
    share_type = serializers.ChoiceField(choices=ShareType.choices)
    share_condition = serializers.CharField(required=False, allow_blank=True, default="")
    no_share_basis = serializers.CharField(required=False, allow_blank=True, default="")
    exchange_methods = serializers.ListField(
        child=serializers.ChoiceField(choices=ExchangeMethod.choices), default=list
    )
    open_type = serializers.ChoiceField(choices=OpenType.choices, default=OpenType.CLOSED)
    open_condition = serializers.CharField(required=False, allow_blank=True, default="")
    update_cycle = serializers.ChoiceField(choices=UpdateCycle.choices)
    related_codes = serializers.ListField(child=serializers.CharField(max_length=64), default=list)
    is_secret = serializers.BooleanField(default=False)
    items = DataItemInputSerializer(many=True, default=list)


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class ReturnSerializer(serializers.Serializer):
    comment = serializers.CharField(help_text="退回意见（必填）")


class ApproveSerializer(serializers.Serializer):
    """The bureau confirms the sharing type, or changes it with the condition / basis it needs (R18.1)."""

    share_type = serializers.ChoiceField(choices=ShareType.choices, required=False)
    share_condition = serializers.CharField(required=False, allow_blank=True)
    no_share_basis = serializers.CharField(required=False, allow_blank=True)
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class VersionSerializer(serializers.ModelSerializer):
    approved_by = serializers.CharField(source="approved_by.__str__")

    class Meta:
        model = CatalogEntryVersion
        fields = ["number", "approved_at", "approved_by", "update_case", "snapshot"]

