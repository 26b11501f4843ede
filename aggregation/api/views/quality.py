"""API of data quality (R15): the latest figures of each dataset in scope, and their consistency pairs."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ...models import QualityReport
from ...selectors import quality
from ...services.quality import consistency_read
from ..filters import QualityReportFilterSet
from ..serializers import quality as s


def _side(prefix: str, dataset) -> dict:
    return {f"{prefix}_dataset": dataset.pk, f"{prefix}_dataset_name": dataset.entry.name,
            f"{prefix}_department_name": dataset.department.name}


class QualityReportViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """数据质量（R15）：范围内每个数据资源的最新质量指标。`?department=` 按部门筛选。"""

    serializer_class = s.QualityReportSerializer
    queryset = QualityReport.objects.none()
    pagination_class = None
    filterset_class = QualityReportFilterSet

    def get_queryset(self):
        return quality.latest_reports(self.request.user)

    @extend_schema(parameters=[s.ConsistencyQuerySerializer], responses=s.ConsistencySerializer,
                   summary="数据一致性：同一主体的基础数据项在不同部门来源间不一致的记录对（按调用者权限脱敏）")
    @action(detail=False, methods=["get"])
    def consistency(self, request):
        query = s.ConsistencyQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        reports = quality.latest_reports(request.user, department_id=query.validated_data.get("department"))
        view = consistency_read(actor=request.user, reports=reports)
        return Response({
            "comparisons": [{**_side("a", c["a"]), **_side("b", c["b"]), "compared": c["compared"],
                             "disagreeing": c["disagreeing"], "partial": c["partial"], "items": c["items"]}
                            for c in view.comparisons],
            "pairs": [{"key": p["key"], "item": p["item"], **_side("a", p["a"]), "a_value": p["a_value"],
                       **_side("b", p["b"]), "b_value": p["b_value"]} for p in view.pairs],
            "pairs_total": view.pairs_total, "hidden": view.hidden,
        })
