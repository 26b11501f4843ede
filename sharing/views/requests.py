"""Sharing pages: the shared catalog, interface specs, requests and their review, grants, API clients.

Thin: each page loads through a selector (404 outside the caller's scope) and each POST calls one service.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from catalog.choices import ExchangeMethod, ShareType
from portal.choices import Role
from portal.errors import NotFound, PermissionDenied, PortalError
from portal.permissions import int_or_none
from portal.shortcuts import role_required

from . import selectors, services
from .access import read_permission
from .choices import GrantState, RequestState
from .forms import (
    ApiClientForm,
    ApproveForm,
    CatalogFilterForm,
    CommentForm,
    ReasonForm,
    SharingRequestForm,
)
from .interface import interface_spec
from .models import Grant, SharingAttachment, SharingRequest
from .permissions import access_request_by_id
from .querysets import STAFF_ROLES


def _http(exc: PortalError):
    """Out of scope → 404, in scope but not allowed → 403; other refusals are shown as messages."""
    if isinstance(exc, NotFound):
        raise Http404 from exc
    if isinstance(exc, PermissionDenied):
        raise DjangoPermissionDenied(str(exc.detail)) from exc


def _error_text(exc: PortalError) -> str:
    parts = [str(exc.detail)]
    for msgs in (exc.errors or {}).values():
        parts.extend(str(m) for m in (msgs if isinstance(msgs, list | tuple) else [msgs]))
    return " ".join(dict.fromkeys(parts))


# ---------------------------------------------------------------- shared catalog and interface specs


@login_required
def index(request):
    """共享目录: published entries by sharing type, with conditions and exchange methods (R21.1)."""
    form = CatalogFilterForm(request.GET or None)
    filters = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {k: v for k, v in data.items() if v and k != "provider"}
        if data.get("provider"):
            filters["provider"] = data["provider"].pk
    qs = selectors.shared_catalog(user=request.user, filters=filters)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    counts = selectors.shared_catalog_counts(user=request.user)
    tabs = [{"value": "", "label": _("全部"), "count": sum(counts.values())}] + [
        {"value": t.value, "label": t.label, "count": counts[t.value]} for t in ShareType
    ]
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("share_type", None)
    standing = selectors.department_standing(department_id=request.user.department_id,
                                             entry_ids=[e.pk for e in page.object_list])
    return render(request, "sharing/catalog.html", {
        "form": form, "page": page, "tabs": tabs, "current_type": filters.get("share_type", ""),
        "granted": standing["granted"], "pending": standing["pending"],
        "query": query.urlencode(), "can_request": request.user.has_role(*STAFF_ROLES),
    })


@login_required
def interface_spec_view(request, entry_id: int):
    """接口说明 of one published entry (R20.1): endpoints, fields, a signed example request and response."""
    entry = selectors.entry_with_items(entry_id, request.user)
    if entry is None:
        raise Http404
    spec = interface_spec(entry, base_url=request.build_absolute_uri("/").rstrip("/"))
    readable = None
    if request.user.department_id and entry.exchange_methods:
        method = ExchangeMethod.API if ExchangeMethod.API in entry.exchange_methods else entry.exchange_methods[0]
        try:
            perm = read_permission(department=request.user.department, entry=entry, items=None, method=method)
            readable = {"items": perm.items, "grant": perm.grant, "basis": perm.basis}
        except PortalError as exc:
            readable = {"items": (), "error": str(exc.detail), "code": exc.code}
    return render(request, "sharing/interface_spec.html", {"entry": entry, "spec": spec, "readable": readable})


# ---------------------------------------------------------------- requests


@role_required(*STAFF_ROLES)
def request_new(request, entry_id: int):
    entry = selectors.entry_with_items(entry_id, request.user)
    if entry is None:
        raise Http404
    form = SharingRequestForm(request.POST or None, request.FILES or None, entry=entry)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            req = services.sharing_request_submit(
                actor=request.user, entry_id=entry.pk, values=data, attachments=data["attachments"]
            )
        except PortalError as exc:
            _http(exc)
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


def _visible_request(user, pk) -> SharingRequest:
    try:
        return access_request_by_id(user, pk)
    except NotFound as exc:
        raise Http404 from exc


@login_required
def request_detail(request, pk: int):
    req = _visible_request(request.user, pk)
    user = request.user
    submitted = req.state == RequestState.SUBMITTED
    context = {
        "req": req,
        **selectors.request_detail(req),
        "can_comment": submitted and user.has_role(*STAFF_ROLES) and user.department_id == req.entry.provider_id,
        "can_review": submitted and user.has_role(Role.BUREAU_REVIEWER) and user.department_id != req.consumer_id,
        "own_department_review": submitted and user.has_role(Role.BUREAU_REVIEWER)
        and user.department_id == req.consumer_id,
        "can_withdraw": submitted and user.has_role(*STAFF_ROLES) and user.department_id == req.consumer_id,
        "comment_form": CommentForm(),
        "approve_form": ApproveForm(request_obj=req),
        "reject_form": ReasonForm(),
    }
    if context["deadline"] and context["deadline"].is_running:
        from portal.services.workdays import WorkCalendar

        context["remaining"] = WorkCalendar().remaining_working_days(context["deadline"].due_on)
    return render(request, "sharing/request_detail.html", context)


def _run(request, fn, success: str, **kwargs):
    try:
        result = fn(actor=request.user, **kwargs)
    except PortalError as exc:
        _http(exc)
        messages.error(request, _error_text(exc))
        return None
    messages.success(request, success)
    return result


@login_required
@require_POST
def request_comment(request, pk: int):
    form = CommentForm(request.POST)
    if form.is_valid():
        _run(request, services.sharing_request_comment, _("意见已提交"), request_id=pk, body=form.cleaned_data["body"])
    else:
        messages.error(request, _("请填写意见"))
    return redirect("sharing:request-detail", pk=pk)


@login_required
@require_POST
def request_approve(request, pk: int):
    req = _visible_request(request.user, pk)
    form = ApproveForm(request.POST, request_obj=req)
    if form.is_valid():
        data = form.cleaned_data
        _run(request, services.sharing_request_approve, _("已批准，授权已生成"), request_id=pk,
             items=data["items"], valid_from=data["valid_from"], valid_to=data["valid_to"], comment=data["comment"])
    else:
        messages.error(request, " ".join(str(m) for errs in form.errors.values() for m in errs))
    return redirect("sharing:request-detail", pk=pk)


@login_required
@require_POST
def request_reject(request, pk: int):
    form = ReasonForm(request.POST)
    if form.is_valid():
        _run(request, services.sharing_request_reject, _("已驳回"), request_id=pk, reason=form.cleaned_data["reason"])
    else:
        messages.error(request, _("驳回须说明理由"))
    return redirect("sharing:request-detail", pk=pk)


@login_required
@require_POST
def request_withdraw(request, pk: int):
    _run(request, services.sharing_request_withdraw, _("申请已撤回"), request_id=pk)
    return redirect("sharing:request-detail", pk=pk)


@login_required
def attachment_download(request, pk: int):
    att = SharingAttachment.objects.filter(pk=int_or_none(pk) or 0).select_related("request").first()
    if att is None or not SharingRequest.objects.restrict(request.user, "view").filter(pk=att.request_id).exists():
        raise Http404
    return FileResponse(att.file.open("rb"), as_attachment=True, filename=att.original_name)


# ---------------------------------------------------------------- grants


@login_required
def grant_list(request):
    box = request.GET.get("box", "")
    qs = selectors.grant_list(user=request.user, filters={"box": box, "state": request.GET.get("state")})
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(request, "sharing/grant_list.html", {
        "page": page, "box": box, "states": GrantState.choices, "state": request.GET.get("state", ""),
        "revoke_form": ReasonForm(),
        "can_revoke_ids": set(
            Grant.objects.restrict(request.user, "revoke").filter(pk__in=[g.pk for g in page.object_list])
            .exclude(state=GrantState.REVOKED).values_list("pk", flat=True)
        ),
    })


@login_required
@require_POST
def grant_revoke(request, pk: int):
    form = ReasonForm(request.POST)
    if form.is_valid():
        _run(request, services.grant_revoke, _("授权已撤销"), grant_id=pk, reason=form.cleaned_data["reason"])
    else:
        messages.error(request, _("撤销须说明理由"))
    return redirect("sharing:grant-list")


# ---------------------------------------------------------------- API clients (security admin)


@role_required(Role.SECURITY_ADMIN)
@never_cache
def client_list(request):
    """List and register; the secret of a new client is shown in this response only, never stored in clear."""
    form = ApiClientForm(request.POST or None)
    secret = new_client = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            new_client, secret = services.api_client_register(
                actor=request.user, department_id=data["department"].pk, name=data["name"],
                rate_per_minute=data["rate_per_minute"], contact=data["contact"],
            )
        except PortalError as exc:
            _http(exc)
            form.add_error(None, _error_text(exc))
        else:
            form = ApiClientForm()
    return render(request, "sharing/client_list.html", {
        "form": form, "clients": selectors.api_client_list(user=request.user), "secret": secret,
        "new_client": new_client, "reason_form": ReasonForm(),
    })


@role_required(Role.SECURITY_ADMIN)
@require_POST
def client_suspend(request, pk: int):
    form = ReasonForm(request.POST)
    if form.is_valid():
        _run(request, services.api_client_suspend, _("接入系统已停用"), client_pk=pk,
             reason=form.cleaned_data["reason"])
    else:
        messages.error(request, _("停用须说明原因"))
    return redirect("sharing:client-list")


@role_required(Role.SECURITY_ADMIN)
@require_POST
def client_resume(request, pk: int):
    _run(request, services.api_client_resume, _("接入系统已恢复"), client_pk=pk)
    return redirect("sharing:client-list")


@role_required(Role.SECURITY_ADMIN)
@require_POST
@never_cache
def client_rotate(request, pk: int):
    try:
        client, secret = services.api_client_rotate_secret(actor=request.user, client_pk=pk)
    except PortalError as exc:
        _http(exc)
        messages.error(request, _error_text(exc))
        return redirect("sharing:client-list")
    return render(request, "sharing/client_list.html", {
        "form": ApiClientForm(), "clients": selectors.api_client_list(user=request.user), "secret": secret,
        "new_client": client, "rotated": True, "reason_form": ReasonForm(),
    })
