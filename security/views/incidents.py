"""The incident register's pages (R31): the security administrator reports, handles and closes; the bureau's
reviewers read. Every change is one service call (security/services/incidents.py)."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.choices import Role
from portal.errors import PortalError
from portal.permissions import int_or_none
from portal.shortcuts import access_or_404, http_refusal, role_required, service_errors

from ..forms.incidents import IncidentCloseForm, IncidentFilterForm, IncidentHandleForm, IncidentReportForm
from ..selectors.incidents import incident_get, incident_list
from ..services import incidents as services
from .common import post_step

PAGE_SIZE = 50
READERS = (Role.SECURITY_ADMIN, Role.BUREAU_REVIEWER)


@role_required(*READERS)
def incident_list_page(request):
    form = IncidentFilterForm(request.GET or None)
    rows = incident_list(user=request.user)
    if form.is_bound and form.is_valid():
        if form.cleaned_data["state"]:
            rows = rows.filter(state=form.cleaned_data["state"])
        if form.cleaned_data["severity"]:
            rows = rows.filter(severity=form.cleaned_data["severity"])
    elif form.is_bound:
        rows = rows.none()
    page = Paginator(rows, PAGE_SIZE).get_page(int_or_none(request.GET.get("page")))
    return render(request, "security/incident_list.html", {
        "form": form, "page": page, "may_report": request.user.has_role(Role.SECURITY_ADMIN)})


@role_required(*READERS)
def incident_report(request):
    if not request.user.has_role(Role.SECURITY_ADMIN):
        raise PermissionDenied(_("仅安全管理员可登记和处置安全事件"))
    form = IncidentReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            incident = services.security_incident_report(
                actor=request.user, title=data["title"], severity=data["severity"], occurred_at=data["occurred_at"],
                description=data["description"], resource_keys=data["resources"],
                department_ids=[d.pk for d in data["departments"]])
        except PortalError as exc:
            http_refusal(exc)
            service_errors(form, exc)
        else:
            messages.success(request, _("安全事件已登记"))
            return redirect(incident)
    return render(request, "security/incident_form.html", {"form": form})


@role_required(*READERS)
def incident_detail(request, incident_id: int):
    incident = access_or_404(incident_get, user=request.user, incident_id=incident_id)
    keeper = request.user.has_role(Role.SECURITY_ADMIN)
    return render(request, "security/incident_detail.html", {
        "incident": incident, "keeper": keeper,
        "handle_form": IncidentHandleForm(), "close_form": IncidentCloseForm()})


def _transition(request, incident_id: int, form_class, service, done: str):
    incident = access_or_404(incident_get, user=request.user, incident_id=incident_id)
    return post_step(request, incident, form_class, partial(service, actor=request.user, incident_id=incident.pk),
                     done)


@role_required(*READERS)
@require_POST
def incident_handle(request, incident_id: int):
    return _transition(request, incident_id, IncidentHandleForm, services.security_incident_handle,
                       _("已开始处置"))


@role_required(*READERS)
@require_POST
def incident_close(request, incident_id: int):
    return _transition(request, incident_id, IncidentCloseForm, services.security_incident_close, _("事件已关闭"))
