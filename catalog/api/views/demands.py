"""Demand-list API (R8.1): list, create and change draft lines, submit, close, the catalog entries matching a line
(with reasons), and the Excel import, export and template in the catalog's template style (catalog.excel.demands).

The same rules as the pages: the list is restricted to the caller (selectors.demands.demand_list), every write is a
service of catalog.services.demands (which audits it), a line outside the caller's scope is a 404.
"""

from __future__ import annotations

from django.http import FileResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from catalog.excel.container import MAX_FILE_BYTES
from catalog.excel.demands import demand_template_file, export_demands, import_demands
from catalog.excel.exports import XLSX_CONTENT_TYPE, ExportFile
from catalog.models import DemandItem
from catalog.permissions import access_demand_by_id
from catalog.selectors import demands as selectors
from catalog.selectors.demand_matches import demand_matches
from catalog.services import demands as services
from portal.api.params import refuse_unknown_names
from portal.errors import PortalError

from ..filters import DemandFilterSet
from ..serializers import demands as s

_XLSX = {(200, XLSX_CONTENT_TYPE): OpenApiTypes.BINARY}


def _xlsx(export: ExportFile) -> FileResponse:
    return FileResponse(export.file, as_attachment=True, filename=export.filename, content_type=XLSX_CONTENT_TYPE)


@extend_schema_view(
    list=extend_schema(summary="需求清单（部门人员：本部门提出的和向本部门提出的；市局、县级主管部门：职责范围内）"),
    retrieve=extend_schema(summary="需求详情"),
)
class DemandViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """数据需求清单（R8.1）：部门填报履行职责所需、由其他部门提供的数据，提交市大数据局；目录中已有的数据直接申请共享。"""

    serializer_class = s.DemandSerializer
    queryset = DemandItem.objects.none()  # typing for the schema; get_queryset() restricts every request
    filterset_class = DemandFilterSet
    lookup_value_regex = r"\d+"
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        return selectors.demand_list(user=self.request.user)

    def get_object(self):
        return access_demand_by_id(self.request.user, self.kwargs["pk"])

    def perform_content_negotiation(self, request, force=False):
        if self.action in ("export", "template"):  # a file, whatever the Accept header asks; errors stay JSON
            renderer = self.get_renderers()[0]
            return renderer, renderer.media_type
        return super().perform_content_negotiation(request, force)

    def _answer(self, demand_id, status_code=status.HTTP_200_OK):
        return Response(s.DemandSerializer(self.get_queryset().get(pk=demand_id)).data, status=status_code)

    @extend_schema(
        summary="新增需求（草稿，本部门）", request=s.DemandInputSerializer, responses={201: s.DemandSerializer}
    )
    def create(self, request):
        payload = s.DemandInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        demand = services.demand_item_save(
            actor=request.user, department=request.user.department, values=dict(payload.validated_data)
        )
        return self._answer(demand.pk, status.HTTP_201_CREATED)

    @extend_schema(
        summary="修改草稿需求（只改所给字段）", request=s.DemandPatchSerializer, responses=s.DemandSerializer
    )
    def partial_update(self, request, pk=None):
        payload = s.DemandPatchSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        demand = access_demand_by_id(request.user, pk, action="change")
        values = {
            "needed_data": demand.needed_data,
            "item_names": list(demand.item_names),
            "purpose": demand.purpose,
            "legal_basis": demand.legal_basis,
            "provider": demand.provider,
        } | dict(payload.validated_data)
        services.demand_item_save(actor=request.user, department=demand.department, values=values, demand=demand)
        return self._answer(demand.pk)

    @extend_schema(summary="提交需求到市大数据局", request=None, responses=s.DemandSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        demand = services.demand_item_submit(actor=request.user, demand_id=pk)
        return self._answer(demand.pk)

    @extend_schema(
        summary="办结需求（需求部门或市局审核人员）", request=s.CloseSerializer, responses=s.DemandSerializer
    )
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        payload = s.CloseSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        demand = services.demand_item_close(actor=request.user, demand_id=pk, **payload.validated_data)
        return self._answer(demand.pk)

    @extend_schema(
        summary="可满足该需求的目录信息资源及匹配理由（按当前目录实时匹配）", responses=s.DemandMatchesSerializer
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def matches(self, request, pk=None):
        demand = access_demand_by_id(request.user, pk)
        return Response(s.DemandMatchesSerializer({"demand": demand.pk, "matches": demand_matches(demand=demand)}).data)

    @extend_schema(
        summary="Excel 导入需求清单（任何一处有误则整个文件不导入）",
        request={"multipart/form-data": s.DemandImportSerializer},
        responses={201: s.DemandImportResultSerializer, 400: s.DemandImportProblemsSerializer},
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    def import_(self, request):
        payload = s.DemandImportSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        upload = payload.validated_data["file"]
        if upload.size > MAX_FILE_BYTES:
            message = _("文件过大，上限为 %(max)s MB") % {"max": MAX_FILE_BYTES // 1024 // 1024}
            raise PortalError(message, code="invalid_file", errors={"file": [message]})
        result = import_demands(
            actor=request.user, department=request.user.department, data=upload.read(), filename=upload.name
        )
        if not result.ok:
            body = {
                "code": "invalid_file",
                "detail": _("发现 %(n)s 处错误，文件未导入任何数据") % {"n": len(result.errors)},
                "problems": [e.as_dict() for e in result.errors],
            }
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        ids = [d.pk for d in result.demands]
        demands = {d.pk: d for d in self.get_queryset().filter(pk__in=ids)}
        body = {
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "demands": [demands[i] for i in ids],
        }
        return Response(s.DemandImportResultSerializer(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="导出需求清单（.xlsx，筛选同列表）", filters=True, responses=_XLSX)
    @action(detail=False, methods=["get"])
    def export(self, request):
        refuse_unknown_names(request, None, DemandFilterSet)
        qs = self.filter_queryset(self.get_queryset())
        label = request.user.department.short_name or request.user.department.name if request.user.department else ""
        filters = {k: v for k, v in request.query_params.items() if k in DemandFilterSet.base_filters}
        return _xlsx(export_demands(actor=request.user, demands=qs, label=label or _("需求清单"), filters=filters))

    @extend_schema(summary="需求清单空白模板（.xlsx）", responses=_XLSX)
    @action(detail=False, methods=["get"])
    def template(self, request):
        return _xlsx(demand_template_file())
