"""/api/v1/data/{resource}/…: the data exchange methods of the sharing chapter (SPEC §9.2, R22.1, R25.1) — the pull
(which shares its URL with the provider's push, aggregation), the online query of one subject, the bulk download.

Thin: each view prepares the call (sharing.data_api.calls.prepare_call: resolve, authorize, validate, audit a refusal),
reads through sharing.data_api.records or streams through sharing.export, and writes the one read event. The records
are read from the read replica when one is configured (portal.db_router); the audit event always on the primary.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from aggregation.api.views.pools import RecordPushView
from catalog.choices import ExchangeMethod
from portal.db_router import replica_reads
from portal.errors import NotFound, PortalError

from ...data_api.calls import prepare_call, refuse
from ...data_api.records import next_url, read_page, subject_record, subject_values
from ...export.download import FORMATS, download_response, ranged_response
from ..data_schema import EXPORT_HEADERS, EXPORT_RESPONSES, DataPageSerializer, DataRecordSerializer

BOM_VALUES = {"": False, "0": False, "false": False, "no": False, "1": True, "true": True, "yes": True}

_PURPOSE = OpenApiParameter("X-Purpose", str, OpenApiParameter.HEADER, required=True,
                            description="本次调用的业务用途（记录在审计日志中）")
_FIELDS = OpenApiParameter("fields", str, required=False, description="逗号分隔的信息项；缺省为有权读取的全部信息项")


class RecordsView(RecordPushView):
    """/api/v1/data/{resource}/records/ — GET: pull (data interface); POST: the provider's push (AGG-1)."""

    @extend_schema(
        summary="数据接口：分页拉取（游标分页、字段投影、精确筛选、增量）",
        description=(
            "返回 {\"results\": [...], \"next\": 下一页链接或 null}。`fields` 缺省为有权读取的全部信息项；"
            "`limit` 缺省 100，最大 5000；`cursor` 取自 next 链接，不透明；`since`（ISO 8601 时间）只返回此后"
            "变更的行（含已删除行，`deleted: true`）；其余参数按信息项精确筛选（主体标识经盲索引）。"
            "授权外的信息项返回 403 no_grant；参数错误返回 400 invalid。每次调用都记录审计日志。"
        ),
        parameters=[_PURPOSE, _FIELDS, OpenApiParameter("limit", int, required=False),
                    OpenApiParameter("cursor", str, required=False),
                    OpenApiParameter("since", OpenApiTypes.DATETIME, required=False)],
        responses=DataPageSerializer,
    )
    def get(self, request, resource: str):
        call = prepare_call(request, resource, method=ExchangeMethod.API, paged=True)
        with replica_reads():  # the records only; the policy read the primary, the audit event is written there
            results, cursor = read_page(call)
        call.record_read(len(results), limit=call.limit)
        return Response({"results": results, "next": next_url(request, cursor)})


class RecordDetailView(APIView):
    """GET /api/v1/data/{resource}/records/{key}/ — online query of one subject (在线查询)."""

    @extend_schema(
        summary="在线查询：按身份证号 / 统一社会信用代码查询一个主体", operation_id="data_record_query",
        description="返回有权读取的信息项；无此主体返回 404 not_found。每次查询都记录审计日志。",
        parameters=[_PURPOSE, _FIELDS], responses=DataRecordSerializer,
    )
    def get(self, request, resource: str, key: str):
        call = prepare_call(request, resource, method=ExchangeMethod.QUERY, filters_allowed=False, subject_key=key)
        with replica_reads():
            record = subject_record(call, key)
            row = None if record is None else subject_values(call, record)
        if record is None:
            call.record_read(0, found=False)
            raise NotFound(_("没有该主体的数据"))
        call.record_read(1, found=True)
        return Response(row)


class ExportView(APIView):
    """GET /api/v1/data/{resource}/export/?format=csv|xlsx — streamed bulk download of the caller's slice."""

    def perform_content_negotiation(self, request, force=False):
        # `format` is this endpoint's own parameter (csv|xlsx), not DRF's renderer override; errors stay JSON.
        renderer = self.get_renderers()[0]
        return renderer, renderer.media_type

    @extend_schema(
        summary="批量下载：流式 CSV / XLSX", operation_id="data_export",
        description=(
            "有权读取的信息项（授权外的个人信息项脱敏），可用 fields、since 与信息项精确筛选。文件内含追踪信息"
            "（下载人、授权、时间、追踪号）：CSV 为表头前的 # 注释行，XLSX 为文档属性和隐藏的 trace 列。"
            "`bom=1` 在 CSV 前加 UTF-8 BOM 以便 Excel 打开。带 `Range: bytes=起点-` 时先生成整个文件，返回 206、"
            "Content-Range、Repr-Digest（SHA-256）和 ETag；续传时带 `If-Range: <ETag>`，文件未变则返回其余部分，"
            "已变则以 200 返回新文件；范围无效返回 416 range_not_satisfiable。"
        ),
        parameters=[_PURPOSE, _FIELDS,
                    OpenApiParameter("format", str, enum=list(FORMATS), required=True),
                    OpenApiParameter("bom", bool, required=False),
                    OpenApiParameter("since", OpenApiTypes.DATETIME, required=False),
                    OpenApiParameter("Range", str, OpenApiParameter.HEADER, required=False,
                                     description="单个字节范围，如 bytes=0- 或 bytes=1048576-"),
                    OpenApiParameter("If-Range", str, OpenApiParameter.HEADER, required=False,
                                     description="续传：上次响应的 ETag"),
                    *EXPORT_HEADERS],
        responses=EXPORT_RESPONSES,
    )
    def get(self, request, resource: str):
        call = prepare_call(request, resource, method=ExchangeMethod.DOWNLOAD)
        fmt = request.query_params.get("format", "")
        if fmt not in FORMATS:
            message = _("format 须为 csv 或 xlsx")
            raise refuse(request.user, entry=call.entry, resource=resource, method=call.method, purpose=call.purpose,
                         exc=PortalError(message, code="invalid", errors={"format": [message]}),
                         items=call.projection)
        bom = request.query_params.get("bom", "")
        if bom not in BOM_VALUES:  # a typed parameter: `bom=maybe` is refused, not read as "no"
            message = _("bom 须为 1 或 0（true 或 false）")
            raise refuse(request.user, entry=call.entry, resource=resource, method=call.method, purpose=call.purpose,
                         exc=PortalError(message, code="invalid", errors={"bom": [message]}), items=call.projection)
        bom = BOM_VALUES[bom]
        range_header = request.headers.get("Range")
        if range_header is not None:
            def refused(exc):
                return refuse(request.user, entry=call.entry, resource=resource, method=call.method,
                              purpose=call.purpose, exc=exc, items=call.projection)

            return ranged_response(call, fmt=fmt, bom=bom, range_header=range_header,
                                   if_range=request.headers.get("If-Range"), refuse=refused)
        return download_response(call, fmt=fmt, bom=bom)
