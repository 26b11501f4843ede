"""A department's responsibility list (R9.1) as a workbook: one row per line with its fulfilment; audited."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _
from openpyxl import Workbook

from portal import audit
from portal.cells import xlsx_row


def export_responsibility(*, actor, department, lines) -> bytes:
    """The .xlsx of `department`'s responsibility `lines` (selectors.responsibility.fulfilment's); audited as a read.

    Headers follow the request's language (unlike the catalog template, which is the guide's Chinese).
    """
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("责任清单"))
    for column, width in zip("ABCDEFGHIJK", (24, 30, 30, 20, 12, 10, 10, 12, 8, 14, 18), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.append(
        xlsx_row(
            sheet,
            [
                _("部门"),
                _("信息资源代码"),
                _("信息资源名称"),
                _("信息项"),
                _("数据类型"),
                _("基础数据项"),
                _("更新周期"),
                _("起始日期"),
                _("依据版本"),
                _("落实情况"),
                _("最近数据时间"),
            ],
        )
    )
    for line in lines:
        r = line.item
        sheet.append(
            xlsx_row(
                sheet,
                [
                    department.name,
                    r.entry.code,
                    r.entry.name,
                    r.item_name or _("（整个资源）"),
                    r.get_data_type_display(),
                    _("是") if r.is_base_item else _("否"),
                    r.get_update_cycle_display(),
                    r.since,
                    r.entry_version,
                    line.status_label,
                    line.last_data_at.replace(tzinfo=None) if line.last_data_at else "",
                ],
            )
        )
    buffer = io.BytesIO()
    book.save(buffer)
    audit.record(actor=actor, action="catalog.responsibility.exported", obj=department, data={"lines": len(lines)})
    return buffer.getvalue()
