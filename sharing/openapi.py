"""The OpenAPI 3 document of one published entry's data interface (R20: 接口说明, downloadable beside the page).

The entry's items are the properties of its `Record`, typed as the data API serves them (sharing.data_api.records):
every value is text — what ingestion and push stored (aggregation.ingest.validation.clean_value) — so each item is a
nullable string (null: the row has no value), with the item's Chinese name, data type and description as its
description and, for a typed item shown in full, the pattern of its stored text: a date `YYYY-MM-DD` (format `date`),
a date-time `YYYY-MM-DD HH:MM:SS` (a space, not RFC 3339's `T`: no `date-time` format), a plain decimal, an integer,
`true` / `false`. "" (given empty) is allowed beside each pattern. A personal item (one with a masking kind,
aggregation.access.mask_kind) has no pattern: a caller without a grant for it reads its masked form.

Paths: the exchange methods the entry offers (pull, online query, bulk download) with their parameters — the item
filters of the pull among them (every item but the encrypted ones, which cannot be filtered) —, the signature headers
as four API-key security schemes required together, the `Error` answer with the stable codes (portal.api.codes).
"""

from __future__ import annotations

from typing import Any

from catalog.choices import DataType, ExchangeMethod
from catalog.models import CatalogEntry
from portal.api.codes import CODE_CHOICES

OPENAPI_VERSION = "3.0.3"
MAX_LIMIT = 5000

# Pattern (and format) of the stored text of each typed data type (aggregation.ingest.validation.converter).
_TYPED: dict[str, dict[str, str]] = {
    DataType.D: {"pattern": r"^\d{4}-\d{2}-\d{2}$", "format": "date"},
    DataType.T: {"pattern": r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"},
    DataType.N: {"pattern": r"^-?\d+(\.\d+)?$"},
    DataType.Y: {"pattern": r"^-?\d+(\.\d+)?$"},
    DataType.B: {"pattern": r"^-?\d+(\.\d+)?$"},
    DataType.F: {"pattern": r"^-?\d+(\.\d+)?$"},
    DataType.I: {"pattern": r"^-?\d+$"},
    DataType.L: {"enum": ["true", "false"]},
}
_SHAPES = {
    DataType.D: "日期 YYYY-MM-DD", DataType.T: "日期时间 YYYY-MM-DD HH:MM:SS（本地时间）",
    DataType.N: "十进制数的文本", DataType.Y: "十进制数的文本（金额）", DataType.B: "十进制数的文本",
    DataType.F: "十进制数的文本", DataType.I: "整数的文本", DataType.L: "true 或 false",
}

INTEGRITY = {
    "type": "object",
    "description": "证照、文书、合同类资源（R26.1）的完整性签名：可在 /api/v1/verify/ 核验",
    "properties": {
        "alg": {"type": "string"},
        "kid": {"type": "string", "description": "签名密钥编号"},
        "resource": {"type": "string"},
        "key_item": {"type": "string", "description": "主体标识信息项（无则为空字符串）"},
        "items": {"type": "array", "items": {"type": "string"}, "description": "签名覆盖的信息项"},
        "signature": {"type": "string"},
    },
    "required": ["alg", "kid", "resource", "key_item", "items", "signature"],
}
RECORD_REQUIRED = ["updated_at", "under_verification"]
SIGNATURE_HEADERS = {
    "clientId": ("X-Client-Id", "接入系统编号（jzc_…），由安全管理员发放"),
    "timestamp": ("X-Timestamp", "Unix 秒；与服务器时间相差不超过 300 秒"),
    "nonce": ("X-Nonce", "16–64 位 [A-Za-z0-9_-] 随机串，600 秒内不得重复"),
    "signature": ("X-Signature", "hex(HMAC-SHA256(secret, METHOD\\nPATH\\nSORTED_QUERY\\nTIMESTAMP\\nNONCE\\n"
                                 "hex(SHA-256(body))))，PATH 为解码后的路径，SORTED_QUERY 为按名称、值排序"
                                 "并按 RFC 3986 编码的查询参数"),
}


def record_fields() -> dict[str, Any]:
    """The properties every served record has beside its items (the general API document shares them)."""
    return {
        "updated_at": {"type": "string", "format": "date-time", "description": "该行最后变更时间（ISO 8601）"},
        "under_verification": {"type": "boolean", "description": "是否正在核校（R14.4）"},
        "verification_notice": {"type": "string", "description": "核校中时的提示（第十四条）"},
        "deleted": {"type": "boolean", "description": "仅带 since 的增量读取：该行已删除时为 true，且不含信息项"},
        "integrity": INTEGRITY,
    }


def error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "code": {"type": "string", "enum": [code for code, _label in CODE_CHOICES],
                     "description": "稳定的错误代码"},
            "detail": {"type": "string", "description": "错误说明（中文）"},
            "errors": {"type": "object", "additionalProperties": {}, "description": "400 invalid 时按参数给出的错误"},
        },
        "required": ["code", "detail"],
    }


def _item_facts(entry: CatalogEntry, items: list) -> tuple[dict[str, str | None], set[str]]:
    """({item: masking kind or None}, encrypted items) as the data API decides them for `entry`'s dataset (or, with
    no data loaded yet, as the dataset would be made: aggregation.access.mask_kind on the items' declarations)."""
    from aggregation import access
    from aggregation.ingest import planning
    from aggregation.ingest.validation import key_kind_of
    from aggregation.models import Dataset

    pairs = [(i.name, i.data_type) for i in items]
    dataset = Dataset.objects.filter(entry=entry).first()
    if dataset is not None:
        return access.mask_kinds(dataset, pairs), set(dataset.encrypted_items or ())
    key = next((i for i in items if i.is_subject_key), None)
    declared = access.item_declarations(items)
    encrypted = set(planning.encrypted_item_names(items))  # as aggregation.services.pools.dataset_ensure makes it
    kinds = {name: access.mask_kind(name, data_type, key_item=key.name if key else None,
                                    key_kind=key_kind_of(key.name, key.data_type) if key else "",
                                    encrypted_items=encrypted, declared=declared.get(name))
             for name, data_type in pairs}
    return kinds, encrypted


def item_schema(item, mask_kind: str | None) -> dict[str, Any]:
    words = [item.name, item.get_data_type_display()]
    if item.length:
        words.append(f"长度 {item.length}")
    shape = _SHAPES.get(item.data_type)
    if shape:
        words.append(shape)
    if item.is_subject_key:
        words.append("主体标识")
    if mask_kind:
        words.append("个人信息：未获授权读取原值时为脱敏值")
    if item.description:
        words.append(item.description)
    schema: dict[str, Any] = {"type": "string", "nullable": True, "description": "；".join(words),
                              "x-data-type": item.data_type}
    typed = _TYPED.get(item.data_type)
    if typed and not mask_kind:
        # The second branch has no type of its own: null (the parent's `nullable`) passes it, as "" does.
        schema["anyOf"] = [typed, {"maxLength": 0, "description": "未填"}]
    return schema


def _errors(*statuses: int) -> dict[str, Any]:
    words = {400: "参数错误（invalid）", 401: "未认证或签名错误", 403: "无授权、停用或来源地址不允许",
             404: "资源或主体不存在", 416: "字节范围无效", 429: "超过调用频率", 503: "服务暂不可用，请稍后重试"}
    return {str(s): {"description": words[s],
                     "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            for s in statuses}


def _param(name: str, where: str, schema: dict, description: str, *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "schema": schema, "description": description}


def resource_openapi(entry: CatalogEntry, *, base_url: str = "") -> dict[str, Any]:
    """The OpenAPI 3 document of `entry`'s data interface (module doc); `entry.items` in position order."""
    resource = entry.resource_key
    items = sorted(entry.items.all(), key=lambda i: i.position)
    kinds, encrypted = _item_facts(entry, items)
    names = [i.name for i in items]
    record = {
        "type": "object",
        "description": "一行数据：有权读取的信息项（fields 缺省为全部有权读取的信息项）与下列字段",
        "properties": {**{i.name: item_schema(i, kinds.get(i.name)) for i in items}, **record_fields()},
        "required": RECORD_REQUIRED,
        "additionalProperties": False,
    }
    page = {
        "type": "object",
        "properties": {
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/Record"}},
            "next": {"type": "string", "format": "uri", "nullable": True,
                     "description": "下一页的完整链接（含不透明的 cursor）；最后一页为 null"},
        },
        "required": ["results", "next"],
        "additionalProperties": False,
    }
    purpose = {"$ref": "#/components/parameters/Purpose"}
    fields = {"$ref": "#/components/parameters/Fields"}
    since = _param("since", "query", {"type": "string", "format": "date-time"},
                   "ISO 8601 时间：只返回此后变更的行（含已删除行，deleted: true）")
    records = f"/api/v1/data/{resource}/records/"
    methods = set(entry.exchange_methods)
    paths: dict[str, Any] = {}
    if ExchangeMethod.API in methods:
        filters = [_param(i.name, "query", {"type": "string"}, f"按“{i.name}”精确筛选")
                   for i in items if i.is_subject_key or i.name not in encrypted]
        paths[records] = {"get": {
            "operationId": "pull", "summary": "数据接口：分页拉取", "tags": ["数据"],
            "parameters": [purpose, fields,
                           _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                                                     "default": 100}, "每页行数"),
                           _param("cursor", "query", {"type": "string"}, "取自上一页的 next 链接，不透明"),
                           since, *filters],
            "responses": {"200": {"description": "一页数据",
                                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}}}},
                          **_errors(400, 401, 403, 404, 429, 503)},
        }}
    if ExchangeMethod.QUERY in methods:
        paths[records + "{key}/"] = {"get": {
            "operationId": "query", "summary": "在线查询：按主体标识查询一个主体", "tags": ["数据"],
            "parameters": [_param("key", "path", {"type": "string"}, "身份证号码 / 统一社会信用代码", required=True),
                           purpose, fields],
            "responses": {"200": {"description": "该主体的一行",
                                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Record"}}}},
                          **_errors(400, 401, 403, 404, 429, 503)},
        }}
    if ExchangeMethod.DOWNLOAD in methods:
        binary = {"schema": {"type": "string", "format": "binary"}}
        files = {"text/csv": binary, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": binary}
        header = {"schema": {"type": "string"}}
        paths[f"/api/v1/data/{resource}/export/"] = {"get": {
            "operationId": "export", "summary": "批量下载：CSV / XLSX（可续传）", "tags": ["数据"],
            "parameters": [purpose, fields,
                           _param("format", "query", {"type": "string", "enum": ["csv", "xlsx"]}, "文件格式",
                                  required=True),
                           _param("bom", "query", {"type": "boolean"}, "CSV 前加 UTF-8 BOM"), since,
                           _param("Range", "header", {"type": "string"}, "续传：bytes=起点-"),
                           _param("If-Range", "header", {"type": "string"}, "续传：上次响应的 ETag")],
            "responses": {
                "200": {"description": "整个文件", "content": files,
                        "headers": {"Content-Disposition": header, "X-Trace-Id": header, "ETag": header,
                                    "Repr-Digest": header}},
                "206": {"description": "所请求的字节范围", "content": files,
                        "headers": {"Content-Range": header, "ETag": header, "Repr-Digest": header}},
                **_errors(400, 401, 403, 404, 416, 429, 503)},
        }}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": f"{entry.name}（{resource}）数据接口",
            "version": str(entry.version or 1),
            "description": (f"提供部门：{entry.provider.name}；共享类型：{entry.get_share_type_display()}；"
                            f"信息项：{'、'.join(names)}。每个值均以文本返回（见各信息项说明）；"
                            "每次调用都须签名并带 X-Purpose，且记录审计日志。"),
        },
        "servers": [{"url": base_url or "/"}],
        "security": [{name: [] for name in SIGNATURE_HEADERS}],
        "paths": paths,
        "components": {
            "securitySchemes": {name: {"type": "apiKey", "in": "header", "name": header, "description": words}
                                for name, (header, words) in SIGNATURE_HEADERS.items()},
            "parameters": {
                "Purpose": _param("X-Purpose", "header", {"type": "string"},
                                  "本次调用的业务用途（UTF-8 百分号编码；记录在审计日志中）", required=True),
                "Fields": _param("fields", "query", {"type": "string"},
                                 "逗号分隔的信息项（" + "、".join(names) + "）；缺省为有权读取的全部信息项"),
            },
            "schemas": {"Record": record, "Page": page, "Error": error_schema()},
        },
    }
