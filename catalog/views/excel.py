"""Excel pages of the catalog (R8.1, R8.3): import a department's list, export it, the blank template,
and the master catalog export. Thin: the work and the audit events are in catalog.excel."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from portal.choices import STAFF_ROLES, Role
from portal.shortcuts import role_required

from ..excel.container import MAX_FILE_BYTES
from ..excel.exports import XLSX_CONTENT_TYPE, ExportFile, export_department_list, export_master, template_file
from ..excel.importing import import_catalog
from ..forms.excel import ImportForm


def _department_or_404(request):
    if request.user.department_id is None:
        raise Http404
    return request.user.department


def _xlsx_response(export: ExportFile) -> FileResponse:
    return FileResponse(
        export.file, as_attachment=True, filename=export.filename, content_type=XLSX_CONTENT_TYPE
    )


def _nav(request) -> dict:
    """The flags of the catalog's sub-navigation (catalog/_nav.html), as core's pages set them."""
    user = request.user
    return {
        "staff": True,
        "region": user.has_role(Role.COUNTY_BUREAU, Role.BUREAU_REVIEWER, Role.ASSESSOR),
        "reviewer": user.has_role(Role.BUREAU_REVIEWER),
        "current": "excel-import",
    }


@role_required(*STAFF_ROLES)
def excel_import(request):
    """Upload a filled template into the caller's own department's catalog list (its data staff or head,
    the same people catalog_entry_save lets file)."""
    department = _department_or_404(request)
    result = None
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > MAX_FILE_BYTES:
                form.add_error("file", _("文件过大，上限为 %(max)s MB") % {"max": MAX_FILE_BYTES // 1024 // 1024})
            else:
                result = import_catalog(
                    actor=request.user, department=department, data=upload.read(), filename=upload.name
                )
                if result.ok:
                    messages.success(
                        request,
                        _("导入成功：新增 %(created)s 条、更新 %(updated)s 条信息资源（共 %(items)s 个信息项），"
                          "%(unchanged)s 条与系统中一致未作修改。")
                        % {"created": result.created, "updated": result.updated, "items": result.items,
                           "unchanged": result.unchanged},
                    )
                    return redirect("catalog:excel-import")
    else:
        form = ImportForm()
    return render(
        request,
        "catalog/excel_import.html",
        {"form": form, "result": result, "department": department, "catalog_nav": _nav(request)},
    )


@require_GET
@role_required(*STAFF_ROLES)
def excel_export(request):
    """The caller's department's catalog list (every state) in the template layout."""
    department = _department_or_404(request)
    return _xlsx_response(export_department_list(actor=request.user, department=department))


@require_GET
@login_required
def excel_template(request):
    """The blank template with drop-downs and the「说明」sheet (no data: not audited)."""
    return _xlsx_response(template_file())


# The master catalog page's filters (views.entries.master passes the same names to selectors.entries.master_catalog).
MASTER_FILTERS = ("q", "provider", "classification", "share_type", "update_cycle")


@require_GET
@login_required
def master_export(request):
    """The master catalog as .xlsx, with the same filters and search as the master catalog page."""
    filters = {key: request.GET.get(key, "").strip() for key in MASTER_FILTERS if request.GET.get(key, "").strip()}
    return _xlsx_response(export_master(actor=request.user, filters=filters))
