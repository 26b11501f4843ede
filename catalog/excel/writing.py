"""Write catalog entries in the template layout: styled headers, drop-downs, the「说明」sheet (the blank
template is the same workbook without entries)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from portal.cells import xlsx_cell, xlsx_row

from ..choices import DataType, ExchangeMethod, FormatClass, OpenType, Sensitivity, ShareType, UpdateCycle
from ..models import Classification
from .columns import ENTRY_SHEET, ITEM_SHEET, NOTE_SHEET, Column, entry_columns, item_columns, zh_label, zh_labels

HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_REQUIRED_FONT = Font(bold=True, color="C00000")
HEADER_FONT = Font(bold=True)
VALIDATION_ROWS = 2000


def header_cells(ws, columns: list[Column]) -> list[WriteOnlyCell]:
    cells = []
    for col in columns:
        cell = WriteOnlyCell(ws, value=col.header)
        cell.font = _REQUIRED_FONT if col.required else HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        if col.note:
            cell.comment = Comment(col.note, "焦作市大数据平台")
        cells.append(cell)
    return cells


def _date_cell(ws, value: dt.date | None) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    if value is not None:
        cell.number_format = "yyyy-mm-dd"
    return cell


def list_validation(formula: str, sqref: str, *, strict: bool = True, prompt: str = "") -> DataValidation:
    dv = DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=strict)
    if strict:
        dv.errorTitle = "输入值无效"
        dv.error = "请从下拉列表中选择"
    if prompt:
        dv.promptTitle = "填写提示"
        dv.prompt = prompt
        dv.showInputMessage = True
    dv.add(sqref)
    return dv


def _inline(labels: Iterable[str]) -> str:
    return '"' + ",".join(labels) + '"'


def _add_validations(ws, columns: list[Column], last_row: int, classification_range: str | None) -> None:
    for index, col in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sqref = f"{letter}2:{letter}{last_row}"
        if col.kind == "choice":
            labels = [label for _v, label in zh_labels(col.choices)]
            ws.data_validations.append(list_validation(_inline(labels), sqref))
        elif col.kind == "multi":
            labels = [label for _v, label in zh_labels(col.choices)]
            # A drop-down for one value; several values typed by hand are allowed (no error box).
            ws.data_validations.append(list_validation(_inline(labels), sqref, strict=False, prompt=col.note))
        elif col.kind == "bool":
            ws.data_validations.append(list_validation('"是,否"', sqref))
        elif col.field == "classification" and classification_range:
            ws.data_validations.append(list_validation(classification_range, sqref, strict=False, prompt=col.note))
        elif col.kind == "date":
            dv = DataValidation(type="date", operator="greaterThan", formula1="1", allow_blank=True,
                                showErrorMessage=True, errorTitle="日期无效", error="请填写 YYYY-MM-DD 格式的日期")
            dv.add(sqref)
            ws.data_validations.append(dv)


class NoteSheet:
    """The「说明」sheet of a template being written (write-only): rows appended in order, each numbered from 1, every
    cell through portal.cells (xlsx_row); `bold` makes header-styled cells, `title` the sheet's first line."""

    def __init__(self, wb: Workbook, widths: Iterable[tuple[str, int]]):
        self.ws = wb.create_sheet(NOTE_SHEET)
        for letter, width in widths:
            self.ws.column_dimensions[letter].width = width
        self.rows = 0

    def append(self, cells) -> int:
        """Append one row; returns its number."""
        self.ws.append(xlsx_row(self.ws, cells))
        self.rows += 1
        return self.rows

    def bold(self, *values) -> list[WriteOnlyCell]:
        cells = [WriteOnlyCell(self.ws, value=v) for v in values]
        for cell in cells:
            cell.font = HEADER_FONT
            cell.fill = HEADER_FILL
        return cells

    def title(self, text: str) -> int:
        cell = WriteOnlyCell(self.ws, value=text)
        cell.font = Font(bold=True, size=13)
        return self.append([cell])


def _note_sheet(wb: Workbook, classifications: list[tuple[str, str]]) -> str | None:
    """The「说明」sheet: what each column means, the value lists, and the classification code table.

    Returns the range of「代码 名称」cells the drop-down of「信息资源分类」offers (None without a tree).
    """
    note = NoteSheet(wb, (("A", 18), ("B", 22), ("C", 70), ("D", 30)))
    ws, append, bold = note.ws, note.append, note.bold
    note.title("政务信息资源目录导入模板（依据《政务信息资源目录编制指南（试行）》）")
    for line in (
        "1. 「信息资源」工作表每行一条信息资源；「信息项」工作表每行一个信息项，"
        "用「资源序号」对应到信息资源的「序号」。",
        "2. 红色列标题为必填项。新增信息资源时「信息资源代码」留空，由系统按编码规则（分类码/提供方代码+顺序码）生成。",
        "3. 导出文件中的「信息资源代码」用于修改本部门处于「草稿」或「已退回」状态的条目，请勿改动；"
        "与系统中完全相同的行不做修改；已发布条目请通过目录更新申请修改。",
        "4. 不要合并单元格，不要改动工作表名称和列标题。只能导入本部门的目录。",
        "5. 导入时逐格校验，任何一处有误则整个文件都不导入，并列出每个错误所在的工作表、行和列。",
        "6. 有条件共享须填写共享条件；不予共享须填写不予共享依据（法律、行政法规或党中央、国务院政策依据）。",
    ):
        append([line])
    append([])
    append(bold("工作表", "列", "填写说明"))
    for sheet, columns in ((ENTRY_SHEET, entry_columns()), (ITEM_SHEET, item_columns())):
        for col in columns:
            text = col.note
            if col.kind in ("choice", "multi"):
                values = "、".join(label for _v, label in zh_labels(col.choices))
                text = f"{text}；可选值：{values}" if text else f"可选值：{values}"
            append([sheet, xlsx_cell(ws, col.header + ("（必填）" if col.required else "")), text])
    append([])
    append(bold("分类代码表", "分类代码", "分类名称", "下拉选项（代码 名称）"))
    if not classifications:
        append(["", "", "（暂无分类，请联系市大数据局维护分类体系）"])
        return None
    first = last = 0
    for code, name in classifications:
        last = append(["", xlsx_cell(ws, code), xlsx_cell(ws, name), xlsx_cell(ws, f"{code} {name}")])
        first = first or last
    return f"'{NOTE_SHEET}'!$D${first}:$D${last}"


def _classification_table() -> list[tuple[str, str]]:
    """The classifications an entry may use: active, 项 or finer (core refuses a bare 类)."""
    rows = Classification.objects.filter(is_active=True, level__gte=2).order_by("code").values_list("code", "name")
    return list(rows[:2000])


def write_workbook(entries: Iterable, out) -> tuple[int, int]:
    """Write `entries` (CatalogEntry with prefetched `items`) in the template layout to `out`.

    With no entries this is the blank template. Returns (entry count, item count).
    """
    wb = Workbook(write_only=True)
    entry_ws = wb.create_sheet(ENTRY_SHEET)
    item_ws = wb.create_sheet(ITEM_SHEET)
    e_cols, i_cols = entry_columns(), item_columns()
    for ws, cols in ((entry_ws, e_cols), (item_ws, i_cols)):
        for index, col in enumerate(cols, start=1):
            ws.column_dimensions[get_column_letter(index)].width = col.width
        ws.freeze_panes = "A2"
    classification_range = _note_sheet(wb, _classification_table())  # created third: read last
    entry_ws.append(header_cells(entry_ws, e_cols))
    item_ws.append(header_cells(item_ws, i_cols))
    n_entries = n_items = 0
    for seq, entry in enumerate(entries, start=1):
        n_entries += 1
        entry_ws.append(xlsx_row(entry_ws, _entry_row(entry_ws, seq, entry)))
        for item in entry.items.all():
            n_items += 1
            item_ws.append(xlsx_row(item_ws, _item_row(item_ws, seq, item)))
    _add_validations(entry_ws, e_cols, max(VALIDATION_ROWS, n_entries + 500), classification_range)
    _add_validations(item_ws, i_cols, max(VALIDATION_ROWS * 10, n_items + 2000), None)
    wb.save(out)
    return n_entries, n_items


def _yes_no(flag: bool) -> str:
    return "是" if flag else "否"


def _entry_row(ws, seq: int, entry) -> list:
    return [
        seq,
        xlsx_cell(ws, entry.code or ""),
        xlsx_cell(ws, entry.name),
        xlsx_cell(ws, entry.classification.code if entry.classification_id else ""),
        xlsx_cell(ws, entry.provider.name),
        xlsx_cell(ws, entry.provider_code or entry.provider.credit_code),
        xlsx_cell(ws, entry.summary),
        zh_label(FormatClass, entry.format_class) if entry.format_class else "",
        xlsx_cell(ws, entry.format_type or ""),
        zh_label(ShareType, entry.share_type) if entry.share_type else "",
        xlsx_cell(ws, entry.share_condition or ""),
        xlsx_cell(ws, entry.no_share_basis or ""),
        "、".join(zh_label(ExchangeMethod, m) for m in (entry.exchange_methods or [])),
        zh_label(OpenType, entry.open_type) if entry.open_type else "",
        xlsx_cell(ws, entry.open_condition or ""),
        zh_label(UpdateCycle, entry.update_cycle) if entry.update_cycle else "",
        _date_cell(ws, entry.publish_date),
        xlsx_cell(ws, "、".join(entry.related_codes or [])),
        _yes_no(entry.is_secret),
    ]


def _item_row(ws, seq: int, item) -> list:
    return [
        seq,
        xlsx_cell(ws, item.name),
        zh_label(DataType, item.data_type) if item.data_type else "",
        item.length,
        _yes_no(item.is_subject_key),
        _yes_no(item.is_base_item),
        xlsx_cell(ws, item.description or ""),
        zh_label(Sensitivity, item.sensitivity) if item.sensitivity else "",
        xlsx_cell(ws, item.derived_from or ""),
    ]

