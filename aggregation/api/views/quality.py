"""API of data quality (R15): the latest figures of each dataset in scope."""

from __future__ import annotations

from rest_framework import mixins, viewsets

from ...models import QualityReport
from ...selectors import quality
from ..filters import QualityReportFilterSet
from ..serializers import quality as s


class QualityReportViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """数据质量（R15）：范围内每个数据资源的最新质量指标。`?department=` 按部门筛选。"""

    serializer_class = s.QualityReportSerializer
    queryset = QualityReport.objects.none()
    pagination_class = None
    filterset_class = QualityReportFilterSet

    def get_queryset(self):
        return quality.latest_reports(self.request.user)
