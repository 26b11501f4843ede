"""Sharing request pages (R19.3): the form, the lists and the review queue, one request with its comment, approval,
rejection and withdrawal, and its attachments.

Thin: each page loads through a selector (404 outside the caller's scope) and each POST calls one service.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from catalog import resource_perms
from portal.choices import STAFF_ROLES, Role
from portal.errors import PortalError
from portal.permissions import int_or_none, is_staff_of
from portal.shortcuts import access_or_404, http_refusal, role_required

from .. import selectors
from ..choices import RequestState
from ..forms import ApproveForm, CommentForm, ReasonForm, SharingRequestForm
from ..models import SharingAttachment, SharingRequest
from ..permissions import access_request_by_id
from ..services.requests import (
    sharing_request_approve,
    sharing_request_comment,
    sharing_request_reject,
    sharing_request_submit,
    sharing_request_withdraw,
)
from .common import run_form_service, run_service


@role_required(*STAFF_ROLES)
def request_new(request, entry_id: int):
    entry = selectors.entry_with_items(entry_id, request.user)
    if entry is None:
        raise Http404
    form = SharingRequestForm(request.POST or None, request.FILES or None, entry=entry)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            req = sharing_request_submit(
                actor=request.user, entry_id=entry.pk, values=data, attachments=data["attachments"]
            )
        except PortalError as exc:
            http_refusal(exc)
            for field, msgs in (exc.errors or {}).items():
                form.add_error(field if field in form.fields else None, [str(m) for m in msgs])
            if not exc.errors:
                form.add_error(None, str(exc.detail))
        else:
            messages.success(request, _("共享申请已提交，市大数据局将在规定时限内审核"))
            return redirect(req.get_absolute_url())
    return render(request, "sharing/request_form.html", {"entry": entry, "form": form})


@login_required
def request_list(request):
    box = request.GET.get("box") or ("review" if request.user.has_role(Role.BUREAU_REVIEWER) else "mine")
    qs = selectors.sharing_request_list(user=request.user, filters={"box": box, "state": request.GET.get("state")})
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(request, "sharing/request_list.html", {
        "page": page, "box": box, "states": RequestState.choices, "state": request.GET.get("state", ""),
        "is_reviewer": request.user.has_role(Role.BUREAU_REVIEWER),
    })


@role_required(Role.BUREAU_REVIEWER)
def review_queue(request):
    return render(request, "sharing/review_queue.html", {"rows": selectors.review_queue(user=request.user)})


@login_required
def request_detail(request, pk: int):
    req = access_or_404(access_request_by_id, request.user, pk)
    user = request.user
    submitted = req.state == RequestState.SUBMITTED
    context = {
        "req": req,
        **selectors.request_detail(req),
        "can_comment": submitted and is_staff_of(user, req.entry.provider_id)
        and resource_perms.may(user, req.entry, resource_perms.COMMENT_REQUEST),
        "can_review": submitted and user.has_role(Role.BUREAU_REVIEWER) and user.department_id != req.consumer_id,
        "own_department_review": submitted and user.has_role(Role.BUREAU_REVIEWER)
        and user.department_id == req.consumer_id,
        "can_withdraw": submitted and is_staff_of(user, req.consumer_id),
        "comment_form": CommentForm(),
        "approve_form": ApproveForm(request_obj=req),
        "reject_form": ReasonForm(),
    }
    return render(request, "sharing/request_detail.html", context)


@login_required
@require_POST
def request_comment(request, pk: int):
    run_form_service(request, CommentForm(request.POST), sharing_request_comment, _("意见已提交"), _("请填写意见"),
                     request_id=pk)
    return redirect("sharing:request-detail", pk=pk)


@login_required
@require_POST
def request_approve(request, pk: int):
    form = ApproveForm(request.POST, request_obj=access_or_404(access_request_by_id, request.user, pk))
    run_form_service(request, form, sharing_request_approve, _("已批准，授权已生成"), request_id=pk)
    return redirect("sharing:request-detail", pk=pk)


@login_required
@require_POST
def request_reject(request, pk: int):
    run_form_service(request, ReasonForm(request.POST), sharing_request_reject, _("已驳回"), _("驳回须说明理由"),
                     request_id=pk)
    return redirect("sharing:request-detail", pk=pk)


@login_required
@require_POST
def request_withdraw(request, pk: int):
    run_service(request, sharing_request_withdraw, _("申请已撤回"), request_id=pk)
    return redirect("sharing:request-detail", pk=pk)


@login_required
def attachment_download(request, pk: int):
    att = SharingAttachment.objects.filter(pk=int_or_none(pk) or 0).select_related("request").first()
    if att is None or not SharingRequest.objects.restrict(request.user, "view").filter(pk=att.request_id).exists():
        raise Http404
    return FileResponse(att.file.open("rb"), as_attachment=True, filename=att.original_name)
