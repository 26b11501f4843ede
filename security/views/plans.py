"""The emergency plans' pages (R31): the security administrator files plans and records reviews; the bureau's
reviewers read and download. A plan past its review date is flagged 逾期未评审."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from portal.choices import Role
from portal.errors import PortalError
from portal.permissions import int_or_none
from portal.shortcuts import access_or_404, http_refusal, role_required, service_errors

from ..forms.plans import PlanFileForm, PlanFilterForm, PlanReviewForm
from ..selectors.plans import plan_get, plan_list
from ..services import plans as services

PAGE_SIZE = 50
READERS = (Role.SECURITY_ADMIN, Role.BUREAU_REVIEWER)


def _list(request, file_form):
    form = PlanFilterForm(request.GET or None)
    overdue = bool(form.is_valid() and form.cleaned_data["overdue"])
    page = Paginator(plan_list(user=request.user, overdue_only=overdue), PAGE_SIZE).get_page(
        int_or_none(request.GET.get("page")))
    keeper = request.user.has_role(Role.SECURITY_ADMIN)
    return render(request, "security/plan_list.html", {"form": form, "page": page,
                                                       "file_form": file_form if keeper else None})


@role_required(*READERS)
def plan_list_page(request):
    """GET: the plans; POST (the security administrator): file a plan."""
    if request.method != "POST":
        return _list(request, PlanFileForm())
    form = PlanFileForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            plan = services.emergency_plan_file(actor=request.user, **form.cleaned_data)
        except PortalError as exc:
            http_refusal(exc)
            service_errors(form, exc)
        else:
            messages.success(request, _("应急预案已登记"))
            return redirect(plan)
    return _list(request, form)


@role_required(*READERS)
def plan_detail(request, plan_id: int):
    plan = access_or_404(plan_get, user=request.user, plan_id=plan_id)
    keeper = request.user.has_role(Role.SECURITY_ADMIN)
    form = PlanReviewForm(request.POST or None, request.FILES or None) if keeper else None
    if request.method == "POST":
        if not keeper:  # a reader in scope, not allowed to change (the service refuses the same)
            raise PermissionDenied(_("仅安全管理员可管理应急预案"))
        if form.is_valid():
            try:
                services.emergency_plan_review(actor=request.user, plan_id=plan.pk, **form.cleaned_data)
            except PortalError as exc:
                http_refusal(exc)
                service_errors(form, exc)
            else:
                messages.success(request, _("评审已记录"))
                return redirect(plan)
    return render(request, "security/plan_detail.html", {"plan": plan, "form": form})


@role_required(*READERS)
def plan_document(request, plan_id: int):
    """Download the plan's document; the download is audited."""
    plan = access_or_404(plan_get, user=request.user, plan_id=plan_id)
    with transaction.atomic():
        services.emergency_plan_downloaded(actor=request.user, plan=plan)
    return FileResponse(plan.file.open("rb"), as_attachment=True, filename=plan.original_name,
                        content_type=plan.content_type)
