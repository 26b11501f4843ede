"""API of the ingest jobs (read-only: progress and results)."""

from __future__ import annotations

from rest_framework import viewsets

from ...models import IngestJob
from ..serializers import ingest as s


class IngestJobViewSet(viewsets.ReadOnlyModelViewSet):
    """导入任务（本人权限范围内的资源池），用于查询进度与结果。"""

    serializer_class = s.IngestJobSerializer

    def get_queryset(self):
        return IngestJob.objects.restrict(self.request.user, "view").select_related(
            "dataset__entry", "created_by").order_by("-id")
