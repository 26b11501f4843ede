"""The informatization project pages (policy note; SPEC RP.1–RP.2): the department files, edits, submits, starts and
completes its projects; the bureau's reviewers review them against the checklist and the overlap search; the county
bureau reads its region's, the assessors the city's. Every change is one service call (services/projects.py)."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.choices import Role
from portal.errors import PortalError
from portal.models import Department
from portal.permissions import int_or_none, is_staff_of
from portal.shortcuts import access_or_404, http_refusal, role_required, service_errors
from security.views.common import post_step

from ..access import PROJECT_FILERS, PROJECT_READERS
from ..choices import DECLARED_ITEMS, CheckItem, ProjectState
from ..forms.projects import (
    ProjectApproveForm,
    ProjectFilterForm,
    ProjectForm,
    ProjectReturnForm,
    ProjectStepForm,
    resources_text,
)
from ..selectors.projects import HISTORY_LABELS, overlap, project_get, project_history, project_list
from ..services import projects as services
from ..services.projects import checklist_failures

PAGE_SIZE = 50
FILERS, READERS = PROJECT_FILERS, PROJECT_READERS


@role_required(*READERS)
def project_list_page(request):
    rows = project_list(user=request.user)
    departments = Department.objects.filter(pk__in=rows.values("department")).order_by("name")
    form = ProjectFilterForm(request.GET or None, departments=departments)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["state"]:
            rows = rows.filter(state=data["state"])
        if data["funding_kind"]:
            rows = rows.filter(funding_kind=data["funding_kind"])
        if data["department"]:
            rows = rows.filter(department=data["department"])
        if data["flagged"]:
            rows = rows.missing_catalog()
    elif form.is_bound:
        rows = rows.none()
    page = Paginator(rows, PAGE_SIZE).get_page(int_or_none(request.GET.get("page")))
    return render(request, "supervision/project_list.html", {
        "form": form, "page": page, "may_file": request.user.has_role(*FILERS) and bool(request.user.department_id)})


def _save(request, form, project=None):
    """Create or update through the service; the refusal on the form, or the project's page."""
    try:
        if project is None:
            project = services.project_create(actor=request.user, values=form.values(),
                                              resources=form.cleaned_data["resources"])
            messages.success(request, _("信息化项目已保存为草稿"))
        else:
            services.project_update(actor=request.user, project_id=project.pk, values=form.values(),
                                    resources=form.cleaned_data["resources"])
            messages.success(request, _("信息化项目已修改"))
    except PortalError as exc:
        http_refusal(exc)
        service_errors(form, exc)
        return None
    return redirect(project)


@role_required(*FILERS)
def project_create(request):
    if not request.user.department_id:
        raise Http404
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = _save(request, form)
        if done is not None:
            return done
    return render(request, "supervision/project_form.html", {"form": form, "project": None})


@role_required(*READERS)
def project_edit(request, project_id: int):
    project = access_or_404(project_get, user=request.user, project_id=project_id)
    if not is_staff_of(request.user, project.department_id):
        raise Http404
    if not project.is_editable:
        messages.error(request, _("只有草稿或已退回的项目可以修改"))
        return redirect(project)
    initial = {"name": project.name, "funding_kind": project.funding_kind, "budget": project.budget,
               "period_start": project.period_start, "period_end": project.period_end,
               "description": project.description, "declared_checks": project.declared_checks,
               "resources": resources_text(project)}
    form = ProjectForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        done = _save(request, form, project)
        if done is not None:
            return done
    return render(request, "supervision/project_form.html", {"form": form, "project": project})


def _checklist(project) -> list[dict]:
    failing = set(checklist_failures(project.declared_checks, project.review_checks))
    reviewed = project.reviewed_at is not None
    return [{"item": item, "declarable": item in DECLARED_ITEMS, "declared": item.value in project.declared_checks,
             "confirmed": item.value in project.review_checks if reviewed else None,
             "fails": item in DECLARED_ITEMS and item.value not in project.declared_checks,
             "failing": item.value in failing} for item in CheckItem]


@role_required(*READERS)
def project_detail(request, project_id: int):
    project = access_or_404(project_get, user=request.user, project_id=project_id)
    user = request.user
    filer = is_staff_of(user, project.department_id)
    reviewer = user.has_role(Role.BUREAU_REVIEWER)
    history = [(event, HISTORY_LABELS.get(event.action, event.action)) for event in project_history(project)]
    approve_form = ProjectApproveForm(initial={"checks": list(project.declared_checks)})
    return render(request, "supervision/project_detail.html", {
        "project": project, "filer": filer, "reviewer": reviewer, "checklist": _checklist(project),
        "declared_missing": [item for item in DECLARED_ITEMS if item.value not in project.declared_checks],
        "hits": overlap(project, user=user), "history": history, "states": ProjectState,
        "approve_form": approve_form, "return_form": ProjectReturnForm(), "step_form": ProjectStepForm()})


def _step(request, project_id: int, form_class, service, done: str):
    project = access_or_404(project_get, user=request.user, project_id=project_id)
    return post_step(request, project, form_class, partial(service, actor=request.user, project_id=project.pk), done)


@role_required(*READERS)
@require_POST
def project_submit(request, project_id: int):
    return _step(request, project_id, ProjectStepForm, services.project_submit, _("项目已提交审核"))


@role_required(*READERS)
@require_POST
def project_approve(request, project_id: int):
    return _step(request, project_id, ProjectApproveForm, services.project_approve, _("项目已批准"))


@role_required(*READERS)
@require_POST
def project_return(request, project_id: int):
    return _step(request, project_id, ProjectReturnForm, services.project_return, _("项目已退回申报部门"))


@role_required(*READERS)
@require_POST
def project_start(request, project_id: int):
    return _step(request, project_id, ProjectStepForm, services.project_start, _("已登记开工建设"))


@role_required(*READERS)
@require_POST
def project_complete(request, project_id: int):
    return _step(request, project_id, ProjectStepForm, services.project_complete, _("已登记建成"))
