"""Pages of the theme databases (主题库, R13.2): list, definition form, browsing a built theme, rebuilds."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.db import one_snapshot
from portal.errors import PortalError
from portal.permissions import is_department_member
from portal.shortcuts import access_or_404, http_refusal, role_required

from ..access import DATA_READER_ROLES
from ..choices import ThemeJobStatus
from ..forms.themes import ThemeForm
from ..models import ThemeDatabase
from ..selectors.themes import access_theme_by_id, source_choices, theme_last_build
from ..services import themes
from .common import run_form


@login_required
@role_required(*DATA_READER_ROLES)
def theme_list(request):
    themes_qs = ThemeDatabase.objects.restrict(request.user).select_related("department").prefetch_related("jobs")
    return render(request, "aggregation/theme_list.html", {
        "themes": themes_qs.order_by("department__name", "name")[:500],
        "can_create": is_department_member(request.user),
    })


def _theme_form_page(request, theme_obj=None):
    user = request.user
    datasets = list(source_choices(user))
    initial = None
    if theme_obj is not None:
        initial = {
            "name": theme_obj.name, "description": theme_obj.description, "key_kind": theme_obj.key_kind,
            "join_mode": theme_obj.join_mode,
            "columns": [f"{s.dataset_id}:{n}" for s in theme_obj.sources.all() for n in s.item_names],
        }
    form = ThemeForm(request.POST or None, initial=initial, datasets=datasets)
    if request.method == "POST" and form.is_valid():
        saved = run_form(request, form, lambda: themes.theme_save(
            actor=user, name=form.cleaned_data["name"], description=form.cleaned_data["description"],
            key_kind=form.cleaned_data["key_kind"], join_mode=form.cleaned_data["join_mode"],
            sources=form.sources(), theme_id=theme_obj.pk if theme_obj else None,
        ), _("主题库定义已保存，请点击“生成”构建数据"))
        if saved is not None:
            return redirect(saved.get_absolute_url())
    return render(request, "aggregation/theme_form.html", {"form": form, "theme": theme_obj})


@login_required
def theme_create(request):
    if not is_department_member(request.user):
        raise Http404
    return _theme_form_page(request)


@login_required
def theme_edit(request, pk: int):
    return _theme_form_page(request, access_or_404(access_theme_by_id, request.user, pk, action="change"))


@login_required
@one_snapshot()
def theme_detail(request, pk: int):
    """Browse a built theme (keyset pages of 50, masked), its definition and its build jobs — all read from one
    snapshot, so the count, the rows and the jobs agree even while a build commits."""
    theme_obj = access_or_404(access_theme_by_id, request.user, pk)
    after = request.GET.get("after", "")
    page = themes.theme_rows_page(actor=request.user, theme=theme_obj, after=int(after) if after.isdigit() else None)
    can_change = ThemeDatabase.objects.restrict(request.user, "change").filter(pk=theme_obj.pk).exists()
    last_build, loads = theme_last_build(request.user, theme_obj)
    return render(request, "aggregation/theme_detail.html", {
        "theme": theme_obj, "page": page, "jobs": theme_obj.jobs.all()[:10], "can_change": can_change,
        "last_build": last_build, "loads": loads,
        "sources": theme_obj.sources.select_related("dataset__entry", "dataset__department"),
    })


@login_required
@require_POST
def theme_rebuild(request, pk: int):
    try:
        themes.theme_rebuild_request(actor=request.user, theme_id=pk)
    except PortalError as exc:
        http_refusal(exc)
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, _("已提交生成任务"))
    return redirect("aggregation:theme-detail", pk=pk)


@login_required
def theme_job(request, pk: int, job_pk: int):
    """The job's status and progress (htmx polls this fragment while the job runs)."""
    theme_obj = access_or_404(access_theme_by_id, request.user, pk)
    job = get_object_or_404(theme_obj.jobs, pk=job_pk)
    response = render(request, "aggregation/_theme_job.html", {"theme": theme_obj, "job": job})
    if request.htmx and job.status not in (ThemeJobStatus.PENDING, ThemeJobStatus.RUNNING):
        # The poll saw the build end: the page's rows and counts are from before it, so htmx reloads the page once
        # (the reloaded page shows the ended job without polling it).
        response["HX-Refresh"] = "true"
    return response
