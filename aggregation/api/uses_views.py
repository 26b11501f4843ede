"""API of the uses part: verification cases, base-database subjects, record reads, theme databases, quality.

Reads go through the same scope rules as the pages (404 outside them); every transition is an @action calling
one service; PortalError becomes {"code", "detail"} in the project's exception handler.
"""

from __future__ import annotations

from django.db import transaction
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import audit
from portal.errors import NotFound
from portal.services.workdays import WorkCalendar

from .. import access, basedb, quality, verification
from .. import theme as themes
from ..models_uses import QualityReport, ThemeDatabase, VerificationCase
from . import uses_serializers as s


class VerificationCaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """数据校核（R14）：使用部门申请，提供部门 10 个工作日内答复，延期须主要负责人同意。"""

    serializer_class = s.VerificationCaseSerializer
    queryset = VerificationCase.objects.none()  # typing for the schema; get_queryset() scopes every request
    lookup_value_regex = r"\d+"
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        qs = VerificationCase.objects.restrict(self.request.user).select_related(
            "dataset__entry", "provider", "requester"
        ).prefetch_related("evidence")
        params = self.request.query_params
        if params.get("state"):
            qs = qs.filter(state=params["state"])
        side = params.get("side")
        if side == "filed":
            qs = qs.filter(requester_id=self.request.user.department_id)
        elif side == "received":
            qs = qs.filter(provider_id=self.request.user.department_id)
        return verification.with_clocks(qs)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "calendar": WorkCalendar()}

    def _answer(self, case_id):
        case = verification.with_clocks(VerificationCase.objects.filter(pk=case_id)).select_related(
            "dataset__entry", "provider", "requester"
        ).prefetch_related("evidence").get()
        return Response(self.get_serializer(case).data)

    @extend_schema(
        request={"multipart/form-data": s.VerificationCaseCreateSerializer,
                 "application/json": s.VerificationCaseCreateSerializer},
        responses={201: s.VerificationCaseSerializer}, summary="申请数据校核",
    )
    def create(self, request):
        data = s.VerificationCaseCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        evidence = request.FILES.getlist("evidence") if hasattr(request, "FILES") else []
        case = verification.verification_case_file(
            actor=request.user, record_id=v["record"], dataset_id=v["dataset"], fields=v["fields"],
            description=v["description"], evidence=evidence or v.get("evidence") or [],
        )
        response = self._answer(case.pk)
        response.status_code = status.HTTP_201_CREATED
        return response

    @extend_schema(request=s.ExtensionRequestSerializer, responses=s.VerificationCaseSerializer, summary="申请延期")
    @action(detail=True, methods=["post"], url_path="extension")
    def request_extension(self, request, pk=None):
        data = s.ExtensionRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        verification.verification_extension_request(actor=request.user, case_id=pk, **data.validated_data)
        return self._answer(pk)

    @extend_schema(request=s.ExtensionDecisionSerializer, responses=s.VerificationCaseSerializer,
                   summary="主要负责人审批延期")
    @action(detail=True, methods=["post"], url_path="extension/decision")
    def decide_extension(self, request, pk=None):
        data = s.ExtensionDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        verification.verification_extension_decide(actor=request.user, case_id=pk, **data.validated_data)
        return self._answer(pk)

    @extend_schema(request=s.ConfirmSerializer, responses=s.VerificationCaseSerializer, summary="经核无误")
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        data = s.ConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        verification.verification_case_confirm(actor=request.user, case_id=pk, **data.validated_data)
        return self._answer(pk)

    @extend_schema(request=s.CorrectSerializer, responses=s.VerificationCaseSerializer, summary="更正数据")
    @action(detail=True, methods=["post"])
    def correct(self, request, pk=None):
        data = s.CorrectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        verification.verification_case_correct(actor=request.user, case_id=pk, **data.validated_data)
        return self._answer(pk)


class SubjectView(APIView):
    """基础库主体查询：人口（身份证号码）、法人（统一社会信用代码）、自然资源和空间地理、电子证照。"""

    @extend_schema(responses=s.SubjectSerializer, summary="基础库主体查询（个人信息脱敏）")
    def get(self, request, kind: str, key: str):
        return _subject(request, kind, key)


class SubjectLookupView(APIView):
    """同上，主体标识放在请求体中（不出现在 URL 和访问日志里）。"""

    @extend_schema(request=s.SubjectLookupSerializer, responses=s.SubjectSerializer, summary="基础库主体查询（POST）")
    def post(self, request, kind: str):
        data = s.SubjectLookupSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return _subject(request, kind, data.validated_data["key"])


def _subject(request, kind: str, key: str) -> Response:
    if not access.reads_data(request.user):
        raise NotFound()
    view = basedb.subject_view(actor=request.user, kind=kind, key=key)
    return Response(s.SubjectSerializer(view).data)


class RecordReadView(APIView):
    """一条记录（按提供部门和共享范围可见，个人信息按权限脱敏），附核校状态（R14.4）。"""

    @extend_schema(responses=s.RecordReadSerializer, summary="读取一条记录")
    def get(self, request, dataset_pk: int, pk: int):
        from ..models import Record

        user = request.user
        dataset = access.datasets_visible(user).select_related("entry").filter(pk=dataset_pk).first()
        record = (
            Record.objects.filter(dataset_id=dataset.pk, pk=pk, deleted_at__isnull=True).first() if dataset else None
        )
        if record is None:
            raise Http404
        full = access.full_values_allowed(user, dataset)
        items = list(dataset.entry.items.order_by("position").values_list("name", "data_type"))
        values = access.display_values(dataset, record.data, full=full, items=items)
        key = access.key_display(dataset, access.decrypt(record.key_enc), full=full)
        values[dataset.key_item_name] = key
        with transaction.atomic():
            audit.record(
                actor=user, action="aggregation.record.viewed", obj=record, object_repr=dataset.entry.name,
                data={"dataset": dataset.pk, "key": access.hash_hex(record.key_hash), "masked": not full, "api": True},
            )
        return Response(s.RecordReadSerializer({
            "id": record.pk, "dataset": dataset.pk, "key": key, "values": values, "masked": not full,
            "version": record.version, "updated_at": record.updated_at,
            **verification.verification_flags(record),
        }).data)


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
        parameters=[OpenApiParameter("after", OpenApiTypes.INT), OpenApiParameter("limit", OpenApiTypes.INT)],
        responses=s.ThemeRowsSerializer, summary="浏览主题库数据（按 id 键集分页）",
    )
    @action(detail=True, methods=["get"])
    def rows(self, request, pk=None):
        theme = themes.access_theme_by_id(request.user, pk)
        after = request.query_params.get("after", "")
        limit = request.query_params.get("limit", "")
        page = themes.theme_rows_page(
            actor=request.user, theme=theme, after=int(after) if after.isdigit() else None,
            limit=int(limit) if limit.isdigit() else themes.PAGE_SIZE,
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


class QualityReportViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """数据质量（R15）：范围内每个数据资源的最新质量指标。`?department=` 按部门筛选。"""

    serializer_class = s.QualityReportSerializer
    queryset = QualityReport.objects.none()
    pagination_class = None

    def get_queryset(self):
        department = self.request.query_params.get("department", "")
        department_id = int(department) if department.isdigit() else None
        return quality.latest_reports(self.request.user, department_id=department_id)
