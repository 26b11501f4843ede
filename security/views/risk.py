"""The risk assessment register's pages (R32): the security administrator schedules and records; the bureau's
reviewers read. Each row shows its clock (working days left, overdue) by the kernel's rule."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.choices import Role
from portal.errors import PortalError
from portal.permissions import int_or_none
from portal.shortcuts import access_or_404, http_refusal, role_required, service_errors

from ..forms.risk import RiskCompleteForm, RiskFilterForm, RiskScheduleForm
from ..selectors.risk import risk_assessment_get, risk_assessment_list, risk_row, risk_rows
from ..services import risk as services
from .common import post_step

PAGE_SIZE = 50
READERS = (Role.SECURITY_ADMIN, Role.BUREAU_REVIEWER)


def _list(request, schedule_form):
    form = RiskFilterForm(request.GET or None)
    rows = risk_assessment_list(user=request.user)
    if form.is_bound and form.is_valid():
        if form.cleaned_data["state"]:
            rows = rows.filter(state=form.cleaned_data["state"])
    elif form.is_bound:
        rows = rows.none()
    page = Paginator(rows, PAGE_SIZE).get_page(int_or_none(request.GET.get("page")))
    keeper = request.user.has_role(Role.SECURITY_ADMIN)
    return render(request, "security/risk_list.html", {
        "form": form, "page": page, "rows": risk_rows(page.object_list),
        "schedule_form": schedule_form if keeper else None})


@role_required(*READERS)
def risk_list(request):
    """GET: the register; POST (the security administrator): schedule a department's assessment."""
    if request.method != "POST":
        return _list(request, RiskScheduleForm())
    form = RiskScheduleForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            assessment = services.risk_assessment_schedule(
                actor=request.user, department_id=data["department"].pk, cycle=data["cycle"],
                due_date=data["due_date"])
        except PortalError as exc:
            http_refusal(exc)
            service_errors(form, exc)
        else:
            messages.success(request, _("风险评估已安排"))
            return redirect(assessment)
    return _list(request, form)


@role_required(*READERS)
def risk_detail(request, assessment_id: int):
    assessment = access_or_404(risk_assessment_get, user=request.user, assessment_id=assessment_id)
    return render(request, "security/risk_detail.html", {
        "row": risk_row(assessment), "assessment": assessment,
        "keeper": request.user.has_role(Role.SECURITY_ADMIN), "complete_form": RiskCompleteForm()})


@role_required(*READERS)
@require_POST
def risk_complete(request, assessment_id: int):
    assessment = access_or_404(risk_assessment_get, user=request.user, assessment_id=assessment_id)
    step = partial(services.risk_assessment_complete, actor=request.user, assessment_id=assessment.pk)
    return post_step(request, assessment, RiskCompleteForm, step, _("风险评估结果已登记，已按周期安排下一次评估"))
