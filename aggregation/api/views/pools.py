"""API of the resource pool: provider push (SPEC §9.2; sharing.data_api's pull subclasses the push view so both
share one URL) and one record read (R14.4 flags, masked per the reader)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.params import path_text
from security.masking import mask

from ... import access
from ...selectors.pools import visible_record
from ...services import pools as services
from ..serializers import pools as s


class RecordPushView(APIView):
    """POST /api/v1/data/{resource}/records/ — the provider's data staff push rows (upsert by subject key)."""

    parser_classes = [JSONParser]  # the body is a JSON array: a form body never made one (415, not 400)

    @extend_schema(
        summary="提供部门推送数据（按主体标识新增或更新）",
        description=(
            "请求体为 JSON 数组，每个元素是一个主体的一行：{\"信息项名称\": 值}。行中未提供的信息项保留已存储的值；"
            "值为 null 或空字符串的信息项清空。"
            "按目录信息项校验（类型、长度、身份证号/统一社会"
            "信用代码校验位），有效行按主体标识新增或更新并保留变更历史，问题行逐行返回原因。"
            "`?mode=all_or_nothing` 时有任一问题行则不写入。每次最多 5000 行。只有提供部门的数据专员可以推送；"
            "看不到的资源返回 404。"
        ),
        request={"application/json": s.PUSH_ROWS},
        parameters=[s.PushQuerySerializer, OpenApiParameter("X-Purpose", str, OpenApiParameter.HEADER, required=False)],
        responses=s.PushResultSerializer,
    )
    def post(self, request, resource: str):
        from catalog.permissions import access_entry_by_resource

        entry = access_entry_by_resource(request.user, path_text(resource, "resource"), action="view")
        query = s.PushQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        result = services.records_push(
            actor=request.user, entry=entry, rows=request.data,
            purpose=request.headers.get("X-Purpose", ""),
            all_or_nothing=query.validated_data.get("mode") == "all_or_nothing",
        )
        kinds = access.mask_kinds(entry.dataset, entry.items.values_list("name", "data_type"))
        errors = [
            {"row": r.row, "item": r.item, "value": mask(r.value, kinds[r.item]) if kinds.get(r.item) else r.value,
             "reason": r.reason}
            for r in result.rejected
        ]
        body = {
            "received": len(request.data) if isinstance(request.data, list) else 0,
            "accepted": result.accepted, "rejected": len({r.row for r in result.rejected}),
            "inserted": result.inserted, "updated": result.updated, "unchanged": result.unchanged,
            "errors": errors,
        }
        return Response(s.PushResultSerializer(body).data)


class RecordReadView(APIView):
    """一条记录（按提供部门和共享范围可见，个人信息按权限脱敏），附核校状态（R14.4）。"""

    @extend_schema(responses=s.RecordReadSerializer, summary="读取一条记录")
    def get(self, request, dataset_pk: int, pk: int):
        found = visible_record(request.user, dataset_pk, pk)
        if found is None:
            raise Http404
        dataset, record = found
        read = services.record_read(actor=request.user, dataset=dataset, record=record, context={"api": True})
        return Response(s.RecordReadSerializer({
            "id": record.id, "dataset": dataset.pk, "key": read.key, "values": read.values, "masked": not read.full,
            "version": record.version, "updated_at": record.updated_at, **read.flags,
        }).data)
