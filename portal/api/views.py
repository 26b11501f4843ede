"""Kernel API: who am I, organisations, my deadlines and messages, the working-day calculator."""

from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import audit_bundle
from portal.choices import Role
from portal.errors import PortalError
from portal.models import Deadline, Department, Notification, Region
from portal.services.notifications import notification_mark_read
from portal.services.settings import keys_of, settings_update, values_of
from portal.services.workdays import WorkCalendar, local_today
from portal.todo import my_clocks, todo_groups

from . import serializers as s
from .filters import DeadlineFilterSet, NotificationFilterSet


def not_found(request, exception=None):
    """handler404: a path under /api/ that no route matches (`/api/v1/jobs/abc/` where ids are digits) or a plain
    Django view's Http404 answers the API's JSON error like any API 404 (the document lists it), not the HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "detail": _("对象不存在或无权查看")}, status=404)
    return page_not_found(request, exception)


class AuditSealKeyView(APIView):
    """GET /api/v1/audit/seal-key/ — the public key(s) of the audit trail's seals (R29.1), for outside verifiers."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(summary="审计日志封存签名公钥（Ed25519，无需认证）", responses=OpenApiTypes.OBJECT, auth=[],
                   description="current：当前签名密钥；keys：当前及已退役的全部公钥（按 kid）。"
                               "用于 clients/audit_verify_bundle.py --public-key 独立校验审计日志封存包。")
    def get(self, request):
        known = audit_bundle.public_keys()
        return Response({"alg": "Ed25519", "current": audit_bundle.current_kid(), "keys": known,
                         "statement": audit_bundle.SEAL_STATEMENT, "hash_rule": audit_bundle.HASH_RULE})


class MeView(APIView):
    @extend_schema(responses=s.MeSerializer, summary="当前用户及其角色")
    def get(self, request):
        return Response(s.MeSerializer(request.user).data)


class TodoView(APIView):
    """我的待办：分配给我的计时事项（最多 200 项）及各章节的无时限待办，与首页相同。"""

    @extend_schema(responses=s.TodoSerializer, summary="我的待办")
    def get(self, request):
        user, today = request.user, local_today()
        return Response(s.TodoSerializer({"deadlines": list(my_clocks(user)[:200]),
                                          "groups": todo_groups(user, today=today)}).data)


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


def _settings_serializer(owner: str, name: str):
    """The schema of one administrator's settings (the service validates; this only documents)."""
    from rest_framework import serializers

    fields = {}
    for key in keys_of(owner):
        common = {"required": False, "help_text": str(key.help_text), "label": str(key.label)}
        if key.kind == "bool":
            fields[key.key] = serializers.BooleanField(**common)
        elif key.kind == "int":
            fields[key.key] = serializers.IntegerField(min_value=key.minimum, max_value=key.maximum, **common)
        else:
            fields[key.key] = serializers.CharField(max_length=key.max_length, allow_blank=True, **common)
    return type(name, (serializers.Serializer,), fields)


SystemSettingsSerializer = _settings_serializer(Role.SYSTEM_ADMIN, "SystemSettingsSerializer")
SecuritySettingsSerializer = _settings_serializer(Role.SECURITY_ADMIN, "SecuritySettingsSerializer")


class _SettingsView(APIView):
    """One administrator's settings, its keys only; for anybody else the endpoint does not exist (404)."""

    owner: str = ""
    api_error_statuses = (404,)  # anybody but the owner (portal.api.schema)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        has_role = getattr(request.user, "has_role", None)
        if has_role is None or not has_role(self.owner):
            raise Http404

    def get(self, request):
        return Response(values_of(self.owner))

    def patch(self, request):
        data = request.data if isinstance(request.data, dict) else None
        if data is None:
            raise PortalError(_("请求体须为 JSON 对象"), code="invalid")
        owned = {key.key for key in keys_of(self.owner)}
        if not set(data) <= owned:  # another administrator's key is as unknown here as a made-up one
            raise PortalError(_("包含未知的设置项，可修改的设置项：%(keys)s") % {"keys": "、".join(sorted(owned))},
                              code="invalid")
        settings_update(actor=request.user, values=dict(data))
        return Response(values_of(self.owner))


@extend_schema(tags=["settings"])
class SystemSettingsView(_SettingsView):
    owner = Role.SYSTEM_ADMIN

    @extend_schema(responses=SystemSettingsSerializer, summary="系统设置（系统管理员）")
    def get(self, request):
        return super().get(request)

    @extend_schema(request=SystemSettingsSerializer, responses=SystemSettingsSerializer, summary="修改系统设置")
    def patch(self, request):
        return super().patch(request)


@extend_schema(tags=["security"])
class SecuritySettingsView(_SettingsView):
    owner = Role.SECURITY_ADMIN

    @extend_schema(responses=SecuritySettingsSerializer, summary="安全设置（安全管理员）")
    def get(self, request):
        return super().get(request)

    @extend_schema(request=SecuritySettingsSerializer, responses=SecuritySettingsSerializer, summary="修改安全设置")
    def patch(self, request):
        return super().patch(request)
