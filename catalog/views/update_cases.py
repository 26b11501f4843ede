"""Catalog update-case pages (R10): open, propose, submit, review."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.choices import Role
from portal.models import Deadline
from portal.permissions import is_staff_of
from portal.services.workdays import local_today
from portal.shortcuts import access_or_404

from ..choices import UpdateCaseState
from ..forms.base import apply_errors
from ..forms.entries import CommentForm
from ..forms.update_cases import UpdateCaseOpenForm
from ..permissions import access_entry_by_id, access_update_case_by_id
from ..selectors import update_cases as selectors
from ..services import update_cases as services
from .base import paginate, render_page, run_service
from .entries import entry_form_page


@login_required
def update_case_list(request):
    qs = selectors.update_case_list(user=request.user, filters={"state": request.GET.get("state")})
    return render_page(
        request, "catalog/update_case_list.html", {"page": paginate(request, qs), "states": UpdateCaseState}
    )


@login_required
def update_case_open(request, entry_pk: int):
    user = request.user
    entry = access_or_404(access_entry_by_id, user, entry_pk, action="change")
    form = UpdateCaseOpenForm(request.POST or None, initial={"trigger_date": local_today()})
    if request.method == "POST" and form.is_valid():
        case, error = run_service(
            request, services.update_case_open, actor=user, entry_id=entry.pk, **form.cleaned_data
        )
        if error is None:
            messages.success(request, _("已登记目录更新事由，请在时限内填写更新内容并提交申请"))
            return redirect(case.get_absolute_url())
        apply_errors(form, None, error.errors, [])
        if not error.errors:
            form.add_error(None, str(error.detail))
    return render_page(request, "catalog/update_case_open.html", {"form": form, "entry": entry})


@login_required
def update_case_detail(request, pk: int):
    user = request.user
    case = access_or_404(access_update_case_by_id, user, pk)
    own = is_staff_of(user, case.department_id)
    editable = own and case.state in (UpdateCaseState.DRAFT, UpdateCaseState.RETURNED)
    return render_page(
        request,
        "catalog/update_case_detail.html",
        {
            "case": case,
            "changes": services.update_case_changes(case) if case.state != UpdateCaseState.APPROVED else None,
            "clocks": list(Deadline.objects.for_case(case).select_related("department").order_by("id")),
            "editable": editable,
            "can_review": case.state == UpdateCaseState.SUBMITTED and user.has_role(Role.BUREAU_REVIEWER),
            "comment_form": CommentForm(),
        },
    )


@login_required
def update_case_edit(request, pk: int):
    case = access_or_404(access_update_case_by_id, request.user, pk, action="change")
    if case.state not in (UpdateCaseState.DRAFT, UpdateCaseState.RETURNED):
        messages.error(request, _("该更新申请已提交或已办结，不能修改"))
        return redirect(case.get_absolute_url())
    return entry_form_page(request, case=case)


@login_required
@require_POST
def update_case_transition(request, pk: int, action: str):
    user = request.user
    comment = request.POST.get("comment", "")
    calls = {
        "submit": (services.update_case_submit, {}, _("已提交更新申请，市大数据局将在 5 个工作日内审核")),
        "approve": (services.update_case_approve, {"comment": comment}, _("已审核通过，目录和责任清单已同步更新")),
        "return": (services.update_case_return, {"comment": comment}, _("已退回")),
        "withdraw": (services.update_case_withdraw, {"reason": comment}, _("已撤回")),
    }
    if action not in calls:
        raise Http404
    fn, extra, done = calls[action]
    _result, error = run_service(request, fn, actor=user, case_id=pk, **extra)
    if error is None:
        messages.success(request, done)
    else:
        messages.error(request, str(error.detail))
    return redirect("catalog:update-case-detail", pk=pk)

