"""The informatization project register's API (/api/v1/supervision/projects/): the same people, services and
transitions as the pages (supervision/views/projects.py)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ...access import PROJECT_READERS
from ...models import InformatizationProject
from ...selectors.projects import overlap, project_get, project_list
from ...services import projects as services
from ..filters import ProjectFilterSet
from ..serializers.projects import (
    OverlapHitSerializer,
    ProjectApproveSerializer,
    ProjectInputSerializer,
    ProjectReturnSerializer,
    ProjectSerializer,
)


class IsProjectReader(permissions.BasePermission):
    message = "仅部门数据专员、部门主要负责人、县(市)区大数据管理部门、市大数据局审核员和考核人员可查阅信息化项目"

    def has_permission(self, request, view) -> bool:
        return request.user.has_role(*PROJECT_READERS)


def _values(data: dict) -> dict:
    return {k: data[k] for k in ("name", "funding_kind", "budget", "period_start", "period_end", "description",
                                 "declared_checks")}


@extend_schema_view(
    list=extend_schema(summary="信息化项目列表"),
    retrieve=extend_schema(summary="信息化项目详情"),
)
class ProjectViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """政务信息化项目（政策解读；RP.1–RP.2）：部门数据专员和主要负责人申报本部门项目（草稿 → 提交审核），
    市大数据局审核员按共建共享清单审核（批准或退回），部门登记开工和建成；
    建成后拟产生的信息资源须编入目录，未编入的项目被标记。"""

    lookup_value_regex = r"[0-9]+"
    serializer_class = ProjectSerializer
    filterset_class = ProjectFilterSet
    permission_classes = [permissions.IsAuthenticated, IsProjectReader]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI generator: no caller, no database
            return InformatizationProject.objects.none()
        return project_list(user=self.request.user).prefetch_related("resources__entry")

    def get_object(self):
        return project_get(user=self.request.user, project_id=self.kwargs["pk"])

    def _answer(self, project, code=status.HTTP_200_OK) -> Response:
        return Response(ProjectSerializer(project_get(user=self.request.user, project_id=project.pk)).data,
                        status=code)

    @extend_schema(summary="申报信息化项目（草稿）", request=ProjectInputSerializer, responses={201: ProjectSerializer})
    def create(self, request):
        payload = ProjectInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        project = services.project_create(actor=request.user, values=_values(data), resources=data["resources"])
        return self._answer(project, status.HTTP_201_CREATED)

    @extend_schema(summary="修改信息化项目（草稿或已退回；全部字段和信息资源）", request=ProjectInputSerializer,
                   responses=ProjectSerializer)
    def update(self, request, pk=None):
        payload = ProjectInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        project = self.get_object()
        services.project_update(actor=request.user, project_id=project.pk, values=_values(data),
                                resources=data["resources"])
        return self._answer(project)

    def _step(self, service, **kwargs) -> Response:
        project = self.get_object()
        service(actor=self.request.user, project_id=project.pk, **kwargs)
        return self._answer(project)

    @extend_schema(summary="提交审核（草稿/已退回 → 待审核）", request=None, responses=ProjectSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._step(services.project_submit)

    @extend_schema(summary="审核批准（待审核 → 已批准）；核查清单未通过时拒绝（checklist_failed）",
                   request=ProjectApproveSerializer, responses=ProjectSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        payload = ProjectApproveSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self._step(services.project_approve, **payload.validated_data)

    @extend_schema(summary="退回（待审核 → 已退回）", request=ProjectReturnSerializer, responses=ProjectSerializer)
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        payload = ProjectReturnSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self._step(services.project_return, **payload.validated_data)

    @extend_schema(summary="登记开工建设（已批准 → 建设中）", request=None, responses=ProjectSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._step(services.project_start)

    @extend_schema(summary="登记建成（建设中 → 已建成），并核查信息资源是否已编入目录", request=None,
                   responses=ProjectSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        return self._step(services.project_complete)

    @extend_schema(summary="重叠检索：可能重复建设的项目和目录资源，附检出原因",
                   responses=OverlapHitSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def overlap(self, request, pk=None):
        hits = overlap(self.get_object(), user=request.user)
        return Response(OverlapHitSerializer(hits, many=True).data)
