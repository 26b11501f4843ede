"""Kernel API: who am I, organisations, my deadlines and messages, the working-day calculator."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.models import Deadline, Department, Notification, Region
from portal.services.notifications import notification_mark_read
from portal.services.workdays import WorkCalendar

from . import serializers as s
from .filters import DeadlineFilterSet, NotificationFilterSet


class MeView(APIView):
    @extend_schema(responses=s.MeSerializer, summary="当前用户及其角色")
    def get(self, request):
        return Response(s.MeSerializer(request.user).data)


class RegionViewSet(viewsets.ReadOnlyModelViewSet):
    """焦作市及所辖县(市)区。"""

    queryset = Region.objects.all()
    serializer_class = s.RegionSerializer
    pagination_class = None


class DepartmentViewSet(viewsets.ReadOnlyModelViewSet):
    """政务部门名录（公开给所有登录用户：共享申请需要知道提供部门）。"""

    queryset = Department.objects.filter(is_active=True).select_related("region")
    serializer_class = s.DepartmentSerializer
    pagination_class = None


class DeadlineViewSet(viewsets.ReadOnlyModelViewSet):
    """My pending work: running clocks assigned to me (`?scope=all`: everything in my role scope)."""

    serializer_class = s.DeadlineSerializer
    filterset_class = DeadlineFilterSet
    pagination_class = None

    def get_queryset(self):
        # Whatever either `scope` may show; DeadlineFilterSet narrows it to the one asked for (mine by default).
        qs, user = Deadline.objects.select_related("department"), self.request.user
        return qs.restrict(user, "view") | qs.assigned_to(user)


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = s.NotificationSerializer
    filterset_class = NotificationFilterSet
    queryset = Notification.objects.none()  # typing for the schema; get_queryset() scopes every request
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return Notification.objects.filter(recipient=self.request.user)

    @extend_schema(request=None, responses={200: None}, summary="标记为已读")
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        updated = notification_mark_read(user=request.user, notification_id=int(pk))
        return Response({"updated": updated})


class WorkingDaysView(APIView):
    @extend_schema(
        parameters=[s.WorkingDaysQuerySerializer],
        responses=s.WorkingDaysResultSerializer,
        summary="计算 N 个工作日后的日期（起算日不计入）",
    )
    def get(self, request):
        query = s.WorkingDaysQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        start, days = query.validated_data["start"], query.validated_data["days"]
        due = WorkCalendar().add_working_days(start, days)
        return Response({"start": start, "days": days, "due": due.date, "provisional": due.provisional})
