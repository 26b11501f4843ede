"""/api/v1/catalog/responsibility/ (R9.1): a department's responsibility list with each line's fulfilment, as the page
shows it (catalog/views/responsibility.py; one rule for the department asked: selectors.responsibility_department)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.errors import PortalError
from portal.services.workdays import local_today

from ...selectors import demands as demand_selectors
from ...selectors import responsibility as selectors
from ..serializers import responsibility as s


class ResponsibilityView(APIView):
    """责任清单：部门的职责事项与目录、数据是否按更新周期归集；以及尚待编目的数据需求。"""

    @extend_schema(summary="部门责任清单及履行情况", parameters=[s.ResponsibilityQuerySerializer],
                   responses=s.ResponsibilitySerializer)
    def get(self, request):
        query = s.ResponsibilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        department, _departments = selectors.responsibility_department(
            user=request.user, wanted=query.validated_data.get("department"))
        if department is None:
            raise PortalError(_("请指定部门"), code="invalid", errors={"department": [_("请指定部门")]})
        items = list(selectors.responsibility_list(user=request.user, department_id=department.pk))
        return Response(s.ResponsibilitySerializer({
            "department": department,
            "lines": selectors.fulfilment(items, today=local_today()),
            "unfiled_demands": list(demand_selectors.demands_addressed_unfiled(department=department)),
        }).data)
