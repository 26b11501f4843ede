"""/api/v1/catalog/resource-permissions/ (R28.2): the department head (own department) or the security
administrator (any department) reads and sets which data staff hold which per-resource permission."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.resource_perms import RESOURCE_PERMS
from catalog.selectors.resource_permissions import permission_matrix
from catalog.services.resource_permissions import require_assigner, resource_permissions_set
from portal.choices import Role
from portal.errors import NotFound, PortalError

from ..serializers import resource_permissions as s


def _department_id(user, given):
    if given:
        return given
    if user.has_role(Role.SECURITY_ADMIN):
        raise PortalError(_("请指定部门"), code="invalid", errors={"department": [_("请指定部门")]})
    if not getattr(user, "department_id", None):
        raise NotFound()
    return user.department_id


class ResourcePermissionView(APIView):
    """资源权限分配：部门主要负责人为本部门数据专员、安全管理员为任一部门，按资源分配归集数据、答复校核、共享申请意见三项权限。"""

    @extend_schema(summary="资源权限矩阵（一页资源 × 数据专员 × 三项权限）", parameters=[s.MatrixQuerySerializer],
                   responses=s.MatrixSerializer)
    def get(self, request):
        query = s.MatrixQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        department = require_assigner(request.user, _department_id(request.user, data.get("department")))
        matrix = permission_matrix(department=department, q=data.get("q", ""), page=data.get("page") or 1,
                                   user_id=data.get("user"))
        page = matrix.page
        return Response({
            "department": department.pk, "permissions": list(RESOURCE_PERMS),
            "staff": [{"id": u.pk, "username": u.username, "full_name": u.full_name} for u in matrix.staff],
            "count": page.paginator.count, "page": page.number, "pages": page.paginator.num_pages,
            "results": [
                {"entry": e.pk, "code": e.code, "name": e.name, "state": e.state,
                 "holders": [{"user": u.pk, "perms": [p for p, _label, held in perms if held]} for u, perms in e.cells]}
                for e in page
            ],
        })

    @extend_schema(summary="设置资源权限（所列人员在所列资源上恰好持有所给权限）", request=s.SetSerializer,
                   responses=s.SetResultSerializer)
    def post(self, request):
        body = s.SetSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        changes = resource_permissions_set(
            actor=request.user, department_id=_department_id(request.user, data.get("department")),
            assignments=[(a["user"], a["entry"], a["perms"]) for a in data["assignments"]],
        )
        return Response({
            "granted": [{"user": u, "entry": e, "perm": p} for u, e, p in changes.granted],
            "revoked": [{"user": u, "entry": e, "perm": p} for u, e, p in changes.revoked],
        })
