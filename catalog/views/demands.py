"""Demand-list pages (R8.1) and the bureau's gap list (R17.1)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.choices import Role
from portal.permissions import is_staff_of
from portal.shortcuts import access_or_404, role_required

from ..forms.base import apply_errors
from ..forms.demands import DemandForm, NoteForm
from ..permissions import access_demand_by_id
from ..selectors import demands as selectors
from ..services import demands as services
from .base import can_file, paginate, render_page, run_service, sharing_request_url


@login_required
def demand_list(request):
    user = request.user
    qs = selectors.demand_list(
        user=user, filters={"state": request.GET.get("state"), "addressed": request.GET.get("addressed")}
    )
    return render_page(
        request,
        "catalog/demand_list.html",
        {
            "page": paginate(request, qs),
            "can_file": can_file(user),
            "addressed": bool(request.GET.get("addressed")),
        },
    )


def _demand_form_page(request, demand=None):
    user = request.user
    form = DemandForm(
        request.POST or None,
        department=user.department,
        initial=(
            {
                "needed_data": demand.needed_data,
                "item_names": "、".join(demand.item_names),
                "purpose": demand.purpose,
                "legal_basis": demand.legal_basis,
                "provider": demand.provider_id,
            }
            if demand
            else None
        ),
    )
    if request.method == "POST" and form.is_valid():
        result, error = run_service(
            request,
            services.demand_item_save,
            actor=user,
            department=user.department,
            values=form.values(),
            demand=demand,
        )
        if error is None:
            if result.matches.exists():
                messages.warning(request, _("目录中已有可满足该需求的数据资源：请直接申请共享，不必重复采集。"))
            else:
                messages.success(request, _("已保存"))
            return redirect(result.get_absolute_url())
        apply_errors(form, None, error.errors, [])
        if not error.errors:
            form.add_error(None, str(error.detail))
    return render_page(request, "catalog/demand_form.html", {"form": form, "demand": demand})


@login_required
def demand_create(request):
    if not can_file(request.user):
        raise Http404
    return _demand_form_page(request)


@login_required
def demand_edit(request, pk: int):
    demand = access_or_404(access_demand_by_id, request.user, pk, action="change")
    return _demand_form_page(request, demand)


@login_required
def demand_detail(request, pk: int):
    user = request.user
    demand = access_or_404(access_demand_by_id, user, pk)
    matches = list(demand.matches.select_related("provider", "classification").order_by("code"))
    own = is_staff_of(user, demand.department_id)
    return render_page(
        request,
        "catalog/demand_detail.html",
        {
            "demand": demand,
            "matches": [(m, sharing_request_url(m)) for m in matches],
            "own": own,
            "can_close": demand.state == "submitted" and (own or user.has_role(Role.BUREAU_REVIEWER)),
            "note_form": NoteForm(),
        },
    )


@login_required
@require_POST
def demand_transition(request, pk: int, action: str):
    user = request.user
    calls = {
        "submit": (services.demand_item_submit, {}, _("已提交到市大数据局")),
        "close": (services.demand_item_close, {"note": request.POST.get("note", "")}, _("已办结")),
        "delete": (services.demand_item_delete, {}, _("已删除")),
    }
    if action not in calls:
        raise Http404
    fn, extra, done = calls[action]
    _result, error = run_service(request, fn, actor=user, demand_id=pk, **extra)
    if error is not None:
        messages.error(request, str(error.detail))
        return redirect("catalog:demand-detail", pk=pk)
    messages.success(request, done)
    return redirect(
        "catalog:demand-list" if action == "delete" else "catalog:demand-detail",
        **({} if action == "delete" else {"pk": pk}),
    )


@role_required(Role.BUREAU_REVIEWER)
def gap_list(request):
    """Submitted demands nothing in the catalog meets (R17.1): what the bureau must get catalogued."""
    return render_page(request, "catalog/gaps.html", {"page": paginate(request, selectors.gap_list(user=request.user))})

