"""The data calls' bodies in the OpenAPI document (SPEC §9.2): a served record, the pull's page, the download's files.

What the readers give (sharing.data_api.records; this module only describes it): each projected item by its name, its
value the text ingestion and push stored (aggregation.ingest.validation.clean_value: trimmed text, ISO dates
`YYYY-MM-DD`, date-times `YYYY-MM-DD HH:MM:SS`, plain decimals, `true` / `false`), its masked form when read masked,
`""` when given empty, null when the row has no value (or it cannot be decrypted); beside them `updated_at`, the R14.4
verification flag (and its notice when set), `deleted` on an incremental read (`since`), `integrity` on document
resources (R26.1). The items differ per resource: the general document says "text or null" for any other property;
each resource's own document (sharing.openapi) names them with their types.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from ..export.download import FORMATS
from ..openapi import RECORD_REQUIRED, record_fields

ITEM_VALUE = {
    "type": "string", "nullable": True,
    "description": "信息项的值（文本；授权外的个人信息项为脱敏值；未填为空字符串，无值为 null）",
}


class DataRecordSerializer(serializers.Serializer):
    """Documentation only (DataRecordExtension): one served record."""

    class Meta:
        ref_name = "DataRecord"


class DataRecordExtension(OpenApiSerializerExtension):
    target_class = DataRecordSerializer

    def map_serializer(self, auto_schema, direction):
        return {
            "type": "object",
            "description": "一行数据：有权读取的信息项（名称 → 值）与下列字段。各资源的信息项及类型见其接口说明页的 "
                           "OpenAPI 文档。",
            "properties": record_fields(),
            "required": RECORD_REQUIRED,
            "additionalProperties": ITEM_VALUE,
        }


class DataPageSerializer(serializers.Serializer):
    results = DataRecordSerializer(many=True, help_text="本页的行（按游标顺序）")
    next = serializers.URLField(allow_null=True, help_text="下一页的完整链接（含不透明的 cursor）；最后一页为 null")

    class Meta:
        ref_name = "DataPage"


def _header(name: str, description: str, statuses: list[int], type_=str) -> OpenApiParameter:
    return OpenApiParameter(name, type_, OpenApiParameter.HEADER, response=statuses, required=True,
                            description=description)


_FILE = [200, 206]
EXPORT_HEADERS = [
    _header("Content-Disposition", "attachment; filename=\"<资源>-<日期>.csv|xlsx\"", _FILE),
    _header("X-Trace-Id", "本次下载的追踪号（文件内也有）", _FILE),
    _header("Accept-Ranges", "bytes：可带 Range 续传", _FILE),
    _header("Cache-Control", "no-store", _FILE),
    OpenApiParameter("Content-Range", str, OpenApiParameter.HEADER, response=[206, 416],
                     description="206：bytes 起点-终点/总长；416：bytes */总长"),
    OpenApiParameter("ETag", str, OpenApiParameter.HEADER, response=_FILE,
                     description="带 Range 的请求：文件的标识，续传时放入 If-Range"),
    OpenApiParameter("Repr-Digest", str, OpenApiParameter.HEADER, response=_FILE,
                     description="带 Range 的请求：整个文件的 SHA-256（RFC 9530，sha-256=:base64:）"),
]

_FILE_DESCRIPTION = {
    200: "整个文件（CSV：UTF-8，# 注释行为追踪信息，之后为表头和数据行；XLSX：一个工作表）",
    206: "续传：所请求的字节范围（Content-Range）",
}
EXPORT_RESPONSES = {
    (status, media.split(";")[0]): OpenApiResponse(OpenApiTypes.BINARY, description=_FILE_DESCRIPTION[status])
    for status in (200, 206) for media in FORMATS.values()
}
