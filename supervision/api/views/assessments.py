"""/api/v1/supervision/assessments/ — the annual assessment (R33) over the same services and reads as the pages."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from portal.errors import NotFound

from ...selectors import assessments as reads
from ...services import assessments as services
from ..serializers.assessments import (
    AdjustmentSerializer,
    AdjustSerializer,
    AnswerSerializer,
    AssessmentCreateSerializer,
    AssessmentSerializer,
    IndicatorSetSerializer,
    ObjectionSerializer,
    ObjectSerializer,
    OpenObjectionsSerializer,
    ResultSerializer,
    ScoreSerializer,
    ScoresQuery,
)


@extend_schema_view(
    list=extend_schema(summary="年度考核列表"),
    retrieve=extend_schema(summary="年度考核详情（含指标体系）"),
)
class AssessmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """年度评估考核（R33）：考核人员（县(市)区大数据管理部门：本区域）组织、计算、调整、发布；部门查看本部门得分并在异议期内提出异议。"""

    lookup_value_regex = r"[0-9]+"
    serializer_class = AssessmentSerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_class = None

    def get_queryset(self):
        return reads.assessment_list(user=self.request.user).prefetch_related("indicators")

    def get_object(self):
        return reads.assessment_get(user=self.request.user, assessment_id=self.kwargs["pk"])

    def _detail(self, assessment_id):
        return Response(AssessmentSerializer(reads.assessment_get(user=self.request.user,
                                                                  assessment_id=assessment_id)).data)

    @extend_schema(summary="新建年度考核（默认指标体系）", request=AssessmentCreateSerializer,
                   responses={201: AssessmentSerializer},
                   description='每个年度每个范围（全市或一个县(市)区）只有一个考核：已存在时返回 409 '
                               '`{"code": "assessment_exists"}`，说明中给出已有考核的编号。')
    def create(self, request):
        payload = AssessmentCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        assessment = services.assessment_create(actor=request.user, year=data["year"], title=data["title"],
                                                region_id=data["region"])
        return Response(AssessmentSerializer(assessment).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="设置指标与权重（草稿；权重合计须为 100）", request=IndicatorSetSerializer,
                   responses=AssessmentSerializer)
    @action(detail=True, methods=["post"])
    def indicators(self, request, pk=None):
        payload = IndicatorSetSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        assessment = self.get_object()
        services.assessment_indicators_set(actor=request.user, assessment_id=assessment.pk,
                                           rows=payload.validated_data["indicators"])
        return self._detail(assessment.pk)

    @extend_schema(summary="开始计算（后台任务）", request=None, responses={202: AssessmentSerializer})
    @action(detail=True, methods=["post"])
    def compute(self, request, pk=None):
        assessment = self.get_object()
        services.assessment_compute(actor=request.user, assessment_id=assessment.pk)
        return Response(AssessmentSerializer(self.get_object()).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(summary="调整得分（须写明理由）", request=AdjustSerializer, responses={201: AdjustmentSerializer})
    @action(detail=True, methods=["post"])
    def adjust(self, request, pk=None):
        payload = AdjustSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        assessment = self.get_object()
        adjustment = services.assessment_adjust(
            actor=request.user, assessment_id=assessment.pk, department_id=data["department"], delta=data["delta"],
            reason=data["reason"], indicator_key=data["indicator"] or None)
        return Response(AdjustmentSerializer(adjustment).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="进入异议期", request=OpenObjectionsSerializer, responses=AssessmentSerializer)
    @action(detail=True, methods=["post"], url_path="open-objections")
    def open_objections(self, request, pk=None):
        payload = OpenObjectionsSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        assessment = self.get_object()
        services.assessment_objections_open(actor=request.user, assessment_id=assessment.pk,
                                            until=payload.validated_data["until"])
        return self._detail(assessment.pk)

    @extend_schema(summary="提出异议（本部门，异议期内）", request=ObjectSerializer,
                   responses={201: ObjectionSerializer})
    @action(detail=True, methods=["post"])
    def object(self, request, pk=None):
        payload = ObjectSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        assessment = self.get_object()
        objection = services.assessment_object(actor=request.user, assessment_id=assessment.pk,
                                               reason=payload.validated_data["reason"],
                                               indicator_key=payload.validated_data["indicator"] or None)
        return Response(ObjectionSerializer(objection).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="答复异议（可同时调整得分）", request=AnswerSerializer, responses=ObjectionSerializer)
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None):
        payload = AnswerSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        assessment = self.get_object()
        if not reads.objections(user=request.user, assessment=assessment).filter(pk=data["objection"]).exists():
            raise NotFound()
        objection = services.assessment_objection_answer(actor=request.user, objection_id=data["objection"],
                                                         answer=data["answer"], delta=data["delta"])
        return Response(ObjectionSerializer(objection).data)

    @extend_schema(summary="发布考核结果（排名与等次）", request=None, responses=AssessmentSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        assessment = self.get_object()
        services.assessment_publish(actor=request.user, assessment_id=assessment.pk)
        return self._detail(assessment.pk)

    @extend_schema(summary="考核结果（排名、等次）", responses=ResultSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def results(self, request, pk=None):
        assessment = self.get_object()
        rows = reads.results(user=request.user, assessment=assessment)
        return Response(ResultSerializer(rows, many=True).data)

    @extend_schema(summary="指标得分（含计入案件编号）", responses=ScoreSerializer(many=True),
                   parameters=[OpenApiParameter("department", int, description="部门编号")])
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def scores(self, request, pk=None):
        query = ScoresQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        assessment = self.get_object()
        rows = reads.scores(user=request.user, assessment=assessment,
                            department_id=query.validated_data.get("department"))
        return Response(ScoreSerializer(rows, many=True).data)

    @extend_schema(summary="得分调整记录", responses=AdjustmentSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def adjustments(self, request, pk=None):
        rows = reads.adjustments(user=request.user, assessment=self.get_object())
        return Response(AdjustmentSerializer(rows, many=True).data)

    @extend_schema(summary="异议", responses=ObjectionSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def objections(self, request, pk=None):
        rows = reads.objections(user=request.user, assessment=self.get_object())
        return Response(ObjectionSerializer(rows, many=True).data)
