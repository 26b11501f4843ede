"""Excel pages of the demand list (R8.1): import a department's demand list, export it, the blank template.
Thin: the work and the audit events are in catalog.excel.demands (the catalog's workbook engine)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from portal.choices import STAFF_ROLES
from portal.shortcuts import role_required

from ..excel.container import MAX_FILE_BYTES
from ..excel.demands import demand_template_file, export_demands, import_demands
from ..excel.exports import XLSX_CONTENT_TYPE, ExportFile
from ..forms.excel import DemandImportForm
from ..selectors import demands as selectors
from .base import render_page


def _department_or_404(request):
    if request.user.department_id is None:
        raise Http404
    return request.user.department


def _xlsx_response(export: ExportFile) -> FileResponse:
    return FileResponse(export.file, as_attachment=True, filename=export.filename, content_type=XLSX_CONTENT_TYPE)


@role_required(*STAFF_ROLES)
def demand_import(request):
    """Upload a filled demand-list template into the caller's own department's demand list (drafts)."""
    department = _department_or_404(request)
    result = None
    form = DemandImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            form.add_error("file", _("文件过大，上限为 %(max)s MB") % {"max": MAX_FILE_BYTES // 1024 // 1024})
        else:
            result = import_demands(actor=request.user, department=department, data=upload.read(), filename=upload.name)
            if result.ok:
                messages.success(
                    request,
                    _(
                        "导入成功：新增 %(created)s 项、修改 %(updated)s 项需求（草稿），"
                        "%(unchanged)s 项与系统中一致未作修改。请核对后逐项提交。"
                    )
                    % {"created": result.created, "updated": result.updated, "unchanged": result.unchanged},
                )
                return redirect("catalog:demand-list")
    return render_page(
        request, "catalog/demand_import.html", {"form": form, "result": result, "department": department}
    )


@require_GET
@role_required(*STAFF_ROLES)
def demand_export(request):
    """The caller's department's own demand list (every state) in the template layout; audited."""
    department = _department_or_404(request)
    qs = selectors.demand_list(user=request.user).filter(department=department)
    return _xlsx_response(
        export_demands(
            actor=request.user,
            demands=qs,
            label=department.short_name or department.name,
            filters={"department": department.pk},
        )
    )


@require_GET
@login_required
def demand_template(request):
    """The blank demand-list template with the「说明」sheet and the department drop-down (no data: not audited)."""
    return _xlsx_response(demand_template_file())
