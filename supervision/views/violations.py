"""Pages of the violations register (R35), the rectification orders (R36) and the notices of criticism (通报).

Readers: the assessor and the bureau's reviewers (city), a county bureau (its region), a department's data staff and
head (their own). The three administrators reach none of it (role_required and portal.confinement: 404). Every change
is one service call (supervision/services/violations.py, orders.py).
"""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.choices import Role
from portal.errors import PortalError
from portal.permissions import int_or_none
from portal.services.workdays import WorkCalendar, local_today
from portal.shortcuts import access_or_404, http_refusal, role_required, service_errors
from security.views.common import post_step

from ..choices import ORDER_AWAITING_REPORT, NoticeState, OrderState, ViolationState
from ..forms.violations import (
    NoticeEditForm,
    NoticeFilterForm,
    NoticePublishForm,
    OrderAcceptForm,
    OrderFilterForm,
    OrderIssueForm,
    OrderReferForm,
    OrderReportForm,
    OrderReturnForm,
    ViolationDismissForm,
    ViolationFileForm,
    ViolationFilterForm,
)
from ..models import ReportAttachment, Violation
from ..selectors.violations import (
    history,
    notice_get,
    notice_list,
    order_clock,
    order_get,
    order_list,
    violation_get,
    violation_list,
)
from ..services import orders as order_services
from ..services import violations as violation_services
from ..todo_violations import FALLING_DUE_WORKING_DAYS

PAGE_SIZE = 50
READERS = (Role.ASSESSOR, Role.BUREAU_REVIEWER, Role.COUNTY_BUREAU, Role.DEPT_STAFF, Role.DEPT_HEAD)
BUREAU = (Role.ASSESSOR, Role.BUREAU_REVIEWER)


def _page(request, rows):
    return Paginator(rows, PAGE_SIZE).get_page(int_or_none(request.GET.get("page")))


# ------------------------------------------------------------------------------------------------ violations


@role_required(*READERS)
def violation_list_page(request):
    form = ViolationFilterForm(request.GET or None)
    rows = violation_list(user=request.user)
    if form.is_bound and form.is_valid():
        for name in ("state", "category"):
            if form.cleaned_data[name]:
                rows = rows.filter(**{name: form.cleaned_data[name]})
    elif form.is_bound:
        rows = rows.none()
    assessor = request.user.has_role(Role.ASSESSOR)
    return render(request, "supervision/violation_list.html", {
        "form": form, "page": _page(request, rows), "assessor": assessor, "open_state": ViolationState.OPEN})


@role_required(*READERS)
def violation_file_page(request):
    if not request.user.has_role(Role.ASSESSOR):
        raise Http404
    form = ViolationFileForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            violation = violation_services.violation_file(
                actor=request.user, category=data["category"], department_id=data["department"].pk,
                title=data["title"], evidence=data["evidence"])
        except PortalError as exc:
            http_refusal(exc)
            service_errors(form, exc)
        else:
            messages.success(request, _("违规行为已登记"))
            return redirect(violation)
    return render(request, "supervision/violation_form.html", {"form": form})


@role_required(*READERS)
def violation_detail(request, violation_id: int):
    violation = access_or_404(violation_get, user=request.user, violation_id=violation_id)
    return render(request, "supervision/violation_detail.html", {
        "violation": violation, "history": history(violation),
        "assessor": request.user.has_role(Role.ASSESSOR), "dismiss_form": ViolationDismissForm()})


@role_required(*READERS)
@require_POST
def violation_dismiss(request, violation_id: int):
    violation = access_or_404(violation_get, user=request.user, violation_id=violation_id)
    return post_step(request, violation, ViolationDismissForm,
                     partial(violation_services.violation_dismiss, actor=request.user, violation_id=violation.pk),
                     _("违规行为已撤销"))


# ------------------------------------------------------------------------------------------------ orders


@role_required(*READERS)
def order_list_page(request):
    form = OrderFilterForm(request.GET or None)
    rows = order_list(user=request.user)
    if form.is_bound and form.is_valid():
        if form.cleaned_data["state"]:
            rows = rows.filter(state=form.cleaned_data["state"])
        if form.cleaned_data["due"] == "soon":
            horizon = WorkCalendar().add_working_days(local_today(), FALLING_DUE_WORKING_DAYS).date
            rows = rows.filter(state__in=ORDER_AWAITING_REPORT, due_on__lte=horizon)
    elif form.is_bound:
        rows = rows.none()
    return render(request, "supervision/order_list.html", {"form": form, "page": _page(request, rows)})


@role_required(*READERS)
def order_issue_page(request):
    """The assessor issues an order on the open violations selected on the register (one department)."""
    if not request.user.has_role(Role.ASSESSOR):
        raise Http404
    source = request.POST if request.method == "POST" else request.GET
    chosen = [pk for pk in (int_or_none(v) for v in source.getlist("violations")) if pk]
    candidates = list(Violation.objects.restrict(request.user, "order").filter(pk__in=chosen)
                      .select_related("department").order_by("pk"))
    form = OrderIssueForm(request.POST if request.method == "POST" else None, violations=candidates,
                          initial={"violations": [v.pk for v in candidates]})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            order = order_services.order_issue(actor=request.user, violation_ids=data["violations"],
                                               requirements=data["requirements"],
                                               working_days=data["working_days"], due_on=data["due_on"])
        except PortalError as exc:
            http_refusal(exc)
            service_errors(form, exc)
        else:
            messages.success(request, _("整改通知已签发"))
            return redirect(order)
    return render(request, "supervision/order_form.html", {"form": form, "candidates": candidates})


@role_required(*READERS)
def order_detail(request, order_id: int):
    order = access_or_404(order_get, user=request.user, order_id=order_id)
    user = request.user
    return render(request, "supervision/order_detail.html", {
        "order": order, "clock": order_clock(order), "history": history(order),
        "assessor": user.has_role(Role.ASSESSOR),
        "may_report": order.state in ORDER_AWAITING_REPORT and user.department_id == order.department_id
        and user.has_role(Role.DEPT_STAFF, Role.DEPT_HEAD),
        "reported": order.state == OrderState.REPORTED,
        "accept_form": OrderAcceptForm(), "return_form": OrderReturnForm(), "refer_form": OrderReferForm(),
        "notice": getattr(order, "notice", None) if user.has_role(*BUREAU) else None})


@role_required(*READERS)
def order_report_page(request, order_id: int):
    order = access_or_404(order_get, user=request.user, order_id=order_id)
    form = OrderReportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            order_services.order_report(actor=request.user, order_id=order.pk, body=form.cleaned_data["body"],
                                        attachments=form.cleaned_data["attachments"])
        except PortalError as exc:
            http_refusal(exc)
            service_errors(form, exc)
        else:
            messages.success(request, _("整改报告已提交"))
            return redirect(order)
    return render(request, "supervision/order_report.html", {"order": order, "form": form})


def _order_step(request, order_id: int, form_class, service, done: str):
    order = access_or_404(order_get, user=request.user, order_id=order_id)
    return post_step(request, order, form_class, partial(service, actor=request.user, order_id=order.pk), done)


@role_required(*READERS)
@require_POST
def order_accept(request, order_id: int):
    return _order_step(request, order_id, OrderAcceptForm, order_services.order_accept, _("整改已验收"))


@role_required(*READERS)
@require_POST
def order_return(request, order_id: int):
    return _order_step(request, order_id, OrderReturnForm, order_services.order_return, _("整改报告已退回"))


@role_required(*READERS)
@require_POST
def order_refer(request, order_id: int):
    return _order_step(request, order_id, OrderReferForm, order_services.order_refer, _("已记录移送有权机关"))


@role_required(*READERS)
def order_attachment(request, order_id: int, attachment_id: int):
    """Download a rectification document; the download is audited."""
    order = access_or_404(order_get, user=request.user, order_id=order_id)
    attachment = (ReportAttachment.objects.select_related("report__order")
                  .filter(pk=int_or_none(attachment_id) or 0, report__order=order).first())
    if attachment is None:
        raise Http404
    with transaction.atomic():
        order_services.report_attachment_downloaded(actor=request.user, attachment=attachment)
    return FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.original_name,
                        content_type=attachment.content_type)


# ------------------------------------------------------------------------------------------------ notices (通报)


@role_required(*READERS)
def notice_list_page(request):
    form = NoticeFilterForm(request.GET or None)
    rows = notice_list(user=request.user)
    if form.is_bound and form.is_valid():
        if form.cleaned_data["state"]:
            rows = rows.filter(state=form.cleaned_data["state"])
    elif form.is_bound:
        rows = rows.none()
    return render(request, "supervision/notice_list.html", {
        "form": form, "page": _page(request, rows), "bureau": request.user.has_role(*BUREAU)})


@role_required(*READERS)
def notice_detail(request, notice_id: int):
    notice = access_or_404(notice_get, user=request.user, notice_id=notice_id)
    bureau = request.user.has_role(*BUREAU)
    return render(request, "supervision/notice_detail.html", {
        "notice": notice, "bureau": bureau, "draft": notice.state == NoticeState.DRAFT,
        "history": history(notice) if bureau else []})


@role_required(*READERS)
def notice_edit_page(request, notice_id: int):
    notice = access_or_404(notice_get, user=request.user, notice_id=notice_id)
    if not request.user.has_role(*BUREAU):
        raise Http404
    form = NoticeEditForm(request.POST or None, initial={"title": notice.title, "body": notice.body})
    if request.method == "POST" and form.is_valid():
        try:
            order_services.notice_edit(actor=request.user, notice_id=notice.pk, **form.cleaned_data)
        except PortalError as exc:
            http_refusal(exc)
            service_errors(form, exc)
        else:
            messages.success(request, _("通报已保存"))
            return redirect(notice)
    return render(request, "supervision/notice_form.html", {"notice": notice, "form": form})


@role_required(*READERS)
@require_POST
def notice_publish(request, notice_id: int):
    notice = access_or_404(notice_get, user=request.user, notice_id=notice_id)
    return post_step(request, notice, NoticePublishForm,
                     partial(order_services.notice_publish, actor=request.user, notice_id=notice.pk),
                     _("通报已发布"))
