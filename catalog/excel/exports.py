"""The blank template, a department's catalog list and the master catalog as .xlsx files; exports of data are
audited as reads."""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from typing import Any

from portal import audit

from ..selectors.entries import catalog_entry_list, master_catalog
from .writing import write_workbook

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class ExportFile:
    file: Any  # a binary file object positioned at 0
    filename: str
    entries: int
    items: int


def _spooled() -> tempfile.SpooledTemporaryFile:
    return tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)


def template_file() -> ExportFile:
    """The blank template with drop-downs and the「说明」sheet."""
    out = _spooled()
    write_workbook([], out)
    out.seek(0)
    return ExportFile(out, "政务信息资源目录导入模板.xlsx", 0, 0)


def _export_rows(qs):
    """Entries in the queryset's own order, with their items, 500 at a time (constant memory)."""
    return qs.select_related("provider", "classification").prefetch_related("items").iterator(chunk_size=500)


def export_department_list(*, actor, department) -> ExportFile:
    """The department's catalog list (every state) as .xlsx; audited as a data read."""
    out = _spooled()
    qs = catalog_entry_list(user=actor, filters={"provider": department.pk})
    n_entries, n_items = write_workbook(_export_rows(qs), out)
    audit.record(
        actor=actor, action="catalog.excel.exported", department=department,
        data={"scope": "department_list", "department": department.pk, "entries": n_entries, "items": n_items},
    )
    out.seek(0)
    stamp = dt.date.today().strftime("%Y%m%d")
    return ExportFile(out, f"{department.short_name or department.name}_目录清单_{stamp}.xlsx", n_entries, n_items)


def export_master(*, actor, filters: dict[str, Any]) -> ExportFile:
    """The master catalog (总目录) as .xlsx, filtered and searched like its page (`q` = search); audited."""
    out = _spooled()
    n_entries, n_items = write_workbook(_export_rows(master_catalog(user=actor, filters=filters)), out)
    audit.record(
        actor=actor, action="catalog.excel.exported",
        data={"scope": "master", "filters": {k: v for k, v in filters.items() if v not in (None, "", [])},
              "entries": n_entries, "items": n_items},
    )
    out.seek(0)
    stamp = dt.date.today().strftime("%Y%m%d")
    return ExportFile(out, f"焦作市政务数据资源总目录_{stamp}.xlsx", n_entries, n_items)

