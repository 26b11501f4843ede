"""Responsibility-list pages (R9): a department's list with its fulfilment, and its .xlsx export."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse

from portal.errors import NotFound
from portal.services.workdays import local_today

from ..excel.exports import XLSX_CONTENT_TYPE
from ..excel.responsibility import export_responsibility
from ..selectors import demands as demand_selectors
from ..selectors import responsibility as selectors
from .base import render_page


def _responsibility_department(request):
    try:
        return selectors.responsibility_department(user=request.user, wanted=request.GET.get("department"))
    except NotFound:
        raise Http404 from None


@login_required
def responsibility(request):
    department, departments = _responsibility_department(request)
    lines, unfiled = [], []
    if department is not None:
        items = list(selectors.responsibility_list(user=request.user, department_id=department.pk))
        lines = selectors.fulfilment(items, today=local_today())
        unfiled = list(demand_selectors.demands_addressed_unfiled(department=department))
    return render_page(
        request,
        "catalog/responsibility.html",
        {
            "department": department,
            "departments": departments,
            "lines": lines,
            "unfiled": unfiled,
        },
    )


@login_required
def responsibility_export(request):
    """The department's responsibility list as .xlsx (R9.1)."""
    department, _departments = _responsibility_department(request)
    if department is None:
        raise Http404
    items = list(selectors.responsibility_list(user=request.user, department_id=department.pk))
    lines = selectors.fulfilment(items, today=local_today())
    content = export_responsibility(actor=request.user, department=department, lines=lines)
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    filename = f"responsibility-{department.pk}-{local_today():%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response

