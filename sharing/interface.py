"""Interface documentation of one published entry (R20.1), generated from its catalog metadata."""

from __future__ import annotations

import json
from typing import Any

from catalog.choices import DataType, ExchangeMethod
from catalog.models import CatalogEntry
from security.signing.scheme import canonical_request, sign

# The JSON type and an example value per catalog data type (the guide's letter codes), as the data API serves them:
# every value is the text ingestion and push stored (aggregation.ingest.validation.clean_value; the per-resource
# OpenAPI document, sharing.openapi, gives each its pattern).
_JSON_TYPES: dict[str, tuple[str, Any]] = {
    DataType.C: ("string", "示例文本"),
    DataType.M: ("string", "备注文本"),
    DataType.N: ("string（十进制数）", "12.5"),
    DataType.Y: ("string（十进制数，金额）", "1024"),
    DataType.D: ("string（日期 YYYY-MM-DD）", "2026-01-31"),
    DataType.T: ("string（日期时间 YYYY-MM-DD HH:MM:SS）", "2026-01-31 09:30:00"),
    DataType.L: ("string（true / false）", "true"),
    DataType.G: ("string", "…"),
    DataType.B: ("string（十进制数）", "3.1415926"),
    DataType.I: ("string（整数）", "42"),
    DataType.F: ("string（十进制数）", "1.5"),
}

EXAMPLE_CLIENT_ID = "jzc_0123456789abcdef01234567"
EXAMPLE_SECRET = "your-client-secret"  # noqa: S105 — a placeholder shown in documentation
EXAMPLE_TIMESTAMP = "1767225600"
EXAMPLE_NONCE = "3f9a1c2e7b5d4a60"


def _example_value(item) -> Any:
    if item.is_subject_key:
        return "91410800MA0000000X" if "信用" in item.name else "410802199001011234"
    return _JSON_TYPES.get(item.data_type, ("string", "…"))[1]


def interface_spec(entry: CatalogEntry, *, base_url: str = "") -> dict[str, Any]:
    """Endpoints per exchange method, fields with types, a signed example request and an example response."""
    resource = entry.resource_key
    items = list(entry.items.order_by("position"))
    fields = [
        {
            "name": i.name,
            "data_type": i.data_type,
            "data_type_label": i.get_data_type_display(),
            "json_type": _JSON_TYPES.get(i.data_type, ("string", ""))[0],
            "length": i.length,
            "is_subject_key": i.is_subject_key,
            "is_base_item": i.is_base_item,
            "description": i.description,
        }
        for i in items
    ]
    records = f"/api/v1/data/{resource}/records/"
    endpoints = []
    methods = set(entry.exchange_methods)
    if ExchangeMethod.API in methods:
        endpoints.append({"method": "GET", "path": records, "label": ExchangeMethod.API.label,
                          "params": "fields=a,b · limit (≤5000) · cursor · since=<ISO 时间> · <信息项>=<值>"})
    if ExchangeMethod.QUERY in methods:
        endpoints.append({"method": "GET", "path": records + "{key}/", "label": ExchangeMethod.QUERY.label,
                          "params": "key = 身份证号码 / 统一社会信用代码"})
    if ExchangeMethod.DOWNLOAD in methods:
        endpoints.append({"method": "GET", "path": f"/api/v1/data/{resource}/export/",
                          "label": ExchangeMethod.DOWNLOAD.label, "params": "format=csv|xlsx"})
    if ExchangeMethod.PUSH in methods:
        endpoints.append({"method": "—", "path": "", "label": ExchangeMethod.PUSH.label,
                          "params": "由平台按订阅推送至使用部门前置库"})
    endpoints.append({"method": "GET", "path": f"/api/v1/catalog/entries/{resource}/", "label": "目录信息",
                      "params": ""})

    query = "fields=" + ",".join(i.name for i in items[:3]) + "&limit=100" if items else "limit=100"
    canonical = canonical_request("GET", records, query, EXAMPLE_TIMESTAMP, EXAMPLE_NONCE, b"")
    signature = sign(EXAMPLE_SECRET, "GET", records, query, EXAMPLE_TIMESTAMP, EXAMPLE_NONCE, b"")
    headers = {
        "X-Client-Id": EXAMPLE_CLIENT_ID,
        "X-Timestamp": EXAMPLE_TIMESTAMP,
        "X-Nonce": EXAMPLE_NONCE,
        "X-Signature": signature,
        "X-Purpose": "业务协同：核验企业登记信息",
    }
    curl = "curl -G '{}{}' \\\n  --data-urlencode '{}' \\\n  --data-urlencode 'limit=100' \\\n  {}".format(
        base_url, records, query.split("&")[0],
        " \\\n  ".join(f"-H '{k}: {v}'" for k, v in headers.items()),
    )
    example_row = {i.name: _example_value(i) for i in items[:8]}
    response = {"results": [example_row], "next": f"{base_url}{records}?cursor=cD0xMDA%3D&limit=100"}
    return {
        "resource": resource,
        "fields": fields,
        "endpoints": endpoints,
        "example": {
            "query": query,
            "headers": headers,
            "canonical": canonical,
            "curl": curl,
            "secret": EXAMPLE_SECRET,
            "response": json.dumps(response, ensure_ascii=False, indent=2),
            "error": json.dumps({"code": "no_grant", "detail": "没有覆盖此次调用的有效授权，请先提交共享申请"},
                                ensure_ascii=False, indent=2),
        },
    }
