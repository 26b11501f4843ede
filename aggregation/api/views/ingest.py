"""API of the ingest jobs: progress and results, the mapping step (待确认映射), the rejected-rows report."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ...models import IngestJob
from ...services import ingest as services
from ...views.ingest import report_response
from ..serializers import ingest as s


class IngestJobViewSet(viewsets.ReadOnlyModelViewSet):
    """导入任务（本人权限范围内的资源池），用于查询进度与结果。"""

    serializer_class = s.IngestJobSerializer

    def get_queryset(self):
        return IngestJob.objects.restrict(self.request.user, "view").select_related(
            "dataset__entry", "created_by").order_by("-id")

    @extend_schema(
        request=s.IngestMappingSerializer, responses=s.IngestJobSerializer, summary="确认列对应（待确认映射）",
        description=(
            "文件列 → 信息项；值为空字符串表示该列不导入。`near_matches` 中每一列（表头与信息项名称相近）都必须"
            "明确给出：对应的信息项或空字符串。文件未包含的信息项默认保留原值；`empty_items` 列出要以空值替换的"
            "信息项，`empty_all` 为 true 时全部未包含的信息项都以空值替换。"
        ),
    )
    @action(detail=True, methods=["post"], url_path="mapping")
    def mapping(self, request, pk=None):
        data = s.IngestMappingSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        job = services.ingest_job_set_mapping(
            actor=request.user, job_id=self.get_object().pk, mapping=v["mapping"], mode=v.get("mode") or None,
            empty_items=v.get("empty_items") or [], empty_all=v.get("empty_all", False),
        )
        return Response(s.IngestJobSerializer(self.get_queryset().get(pk=job.pk)).data)

    @extend_schema(
        summary="下载问题行报告（CSV）", responses={(200, "text/csv"): OpenApiTypes.BINARY},
        description="持有该资源“导入数据”权限的人看到上传时的原值；其他有权查看该任务的人看到脱敏后的值。",
    )
    @action(detail=True, methods=["get"], url_path="report")
    def report(self, request, pk=None):
        job, chunks = services.ingest_job_report(actor=request.user, job_id=self.get_object().pk)
        return report_response(job, chunks)
