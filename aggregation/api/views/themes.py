"""API of the theme databases: definitions, browsing a built theme (masked), rebuilds."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ...models import ThemeDatabase
from ...selectors.themes import access_theme_by_id
from ...services import themes
from ..serializers import themes as s


class ThemeViewSet(viewsets.ReadOnlyModelViewSet):
    """主题库：定义、生成任务与数据浏览（脱敏）。"""

    serializer_class = s.ThemeSerializer
    queryset = ThemeDatabase.objects.none()
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return (
            ThemeDatabase.objects.restrict(self.request.user)
            .select_related("department")
            .prefetch_related("sources", "jobs")
        )

    @extend_schema(
        parameters=[s.ThemeRowsQuerySerializer], responses=s.ThemeRowsSerializer,
        summary="浏览主题库数据（按 id 键集分页）",
    )
    @action(detail=True, methods=["get"])
    def rows(self, request, pk=None):
        theme = access_theme_by_id(request.user, pk)
        query = s.ThemeRowsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = themes.theme_rows_page(
            actor=request.user, theme=theme, after=query.validated_data.get("after"),
            limit=query.validated_data.get("limit", themes.PAGE_SIZE),
        )
        columns = [{"key": c["key"], "item": c["item"], "dataset": c["dataset"].pk, "source": c["source"]}
                   for c in page["columns"]]
        return Response({"columns": columns, "results": [
            {"id": r["id"], "key": r["key"], "values": r["values"], "updated_at": r["updated_at"]} for r in page["rows"]
        ], "next": page["next"]})

    @extend_schema(request=None, responses={202: s.ThemeJobSerializer}, summary="重新生成主题库")
    @action(detail=True, methods=["post"])
    def rebuild(self, request, pk=None):
        job = themes.theme_rebuild_request(actor=request.user, theme_id=pk)
        return Response(s.ThemeJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
