"""A department's demand list (需求清单, R8.1) as a workbook, in the catalog template's style: import and export.

The workbook holds the sheet「需求清单」(one row per demand line) and a「说明」sheet (what each column means and the
departments the「提供部门」drop-down offers). The engine is the catalog's: the reading skeleton, rows and formula rule
(`reading.read_upload`, `reading.data_rows`), the header and cell readers (`reading`), the styled headers and
drop-downs (`writing`); every cell written goes through `portal.cells`.

Import reads the file without the database first (container, sheet, headers, merged cells, formulas, cell values,
repeated lines), then checks it against the database (providers, the lines a「编号」names) and saves every line
through `services.demands.demand_item_save` in one transaction: a file is imported completely or not at all, and
each problem is reported on its sheet, row and column in Chinese.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from portal import audit
from portal.cells import xlsx_cell, xlsx_row
from portal.choices import AuditResult
from portal.errors import PortalError
from portal.models import Department

from ..choices import DemandState
from ..models import DemandItem
from ..permissions import require_department_staff
from ..services.demands import demand_item_save
from ..validation import clean_text
from .columns import NOTE_SHEET, Column, zh_label
from .exports import ExportFile
from .reading import (
    SPLIT_MULTI,
    CellError,
    ParsedWorkbook,
    cell_value,
    data_rows,
    file_sheet,
    read_header,
    read_upload,
)
from .writing import NoteSheet, header_cells, list_validation

logger = logging.getLogger(__name__)

DEMAND_SHEET = "需求清单"
MAX_DEMAND_ROWS = 1000
VALIDATION_ROWS = 2000
# Written on export, never read on import (the service decides them).
EXPORT_ONLY = ("department", "state", "matches")


def demand_columns() -> list[Column]:
    """The「需求清单」sheet."""
    return [
        Column(
            "编号",
            "id",
            "int",
            width=8,
            aliases=("需求编号",),
            header_optional=True,
            note="新增需求留空；导出文件中的编号用于修改本部门处于草稿状态的需求，请勿改动",
        ),
        Column(
            "所需数据",
            "needed_data",
            required=True,
            width=28,
            aliases=("需求数据", "所需数据资源"),
            max_length=200,
            note="需要其他部门提供的数据，如：企业营业执照信息",
        ),
        Column(
            "所需信息项",
            "item_names",
            width=30,
            aliases=("信息项", "所需数据项"),
            note="可填多个，用「、」或逗号分隔，如：统一社会信用代码、企业名称",
        ),
        Column(
            "用途",
            "purpose",
            required=True,
            width=30,
            aliases=("数据用途",),
            max_length=2000,
            note="用于哪项业务，如：办理社会组织登记时核验",
        ),
        Column(
            "依据",
            "legal_basis",
            required=True,
            width=30,
            aliases=("需求依据", "法律依据"),
            max_length=2000,
            note="法律法规或部门职责依据",
        ),
        Column(
            "提供部门",
            "provider",
            width=26,
            aliases=("数据提供部门",),
            max_length=200,
            note="填写部门全称，可从下拉列表选择；不清楚由哪个部门提供时留空",
        ),
        Column("需求部门", "department", width=22, header_optional=True, note="导出时填写；导入时不读取（为本部门）"),
        Column("状态", "state", width=10, header_optional=True, note="导出时填写；导入时不读取"),
        Column(
            "已有数据来源",
            "matches",
            width=36,
            header_optional=True,
            note="导出时填写：目录中可满足该需求的信息资源；导入时不读取",
        ),
    ]


# --------------------------------------------------------------------------------------------------
# Parse: no database


@dataclass
class ParsedDemand:
    row: int
    demand_id: int | None
    provider_name: str
    values: dict[str, Any]


@dataclass
class ParsedDemands(ParsedWorkbook):
    lines: list[ParsedDemand] = field(default_factory=list)
    letters: dict[str, str] = field(default_factory=dict)  # field -> column letter

    def discard(self) -> None:
        super().discard()
        self.lines.clear()


def parse_demand_workbook(data: bytes, filename: str = "") -> ParsedDemands:
    """Read an uploaded demand list into lines, and every problem found on the way (no database)."""
    parsed = ParsedDemands()

    def read(sheets: dict) -> None:
        if DEMAND_SHEET in sheets:
            _parse_lines(sheets[DEMAND_SHEET], parsed)

    read_upload(data, filename, parsed, (DEMAND_SHEET,), read)
    return parsed


def _parse_lines(ws, parsed: ParsedDemands) -> None:
    columns = read_header(ws, demand_columns(), parsed)
    if columns is None or any(e.row == 1 for e in parsed.errors):
        return  # wrong headers: reading the rows under them would only guess
    parsed.letters = {c.field: get_column_letter(i + 1) for i, c in columns.items()}
    seen_ids: dict[int, int] = {}
    seen_lines: dict[tuple[str, str], int] = {}
    for row in data_rows(ws, DEMAND_SHEET, columns, MAX_DEMAND_ROWS, parsed):
        number = row.number
        values: dict[str, Any] = {}
        for index, col, raw in row.cells(columns):
            if col.field in EXPORT_ONLY:
                continue
            value, message = cell_value(col, raw)
            if message:
                parsed.add(DEMAND_SHEET, number, get_column_letter(index + 1), col.header, raw, message)
                continue
            values[col.field] = value
        demand_id = values.pop("id", None)
        provider_name = clean_text(values.pop("provider", "") or "")
        values["item_names"] = [n for n in SPLIT_MULTI.split(values.get("item_names") or "") if n]
        line = ParsedDemand(row=number, demand_id=demand_id, provider_name=provider_name, values=values)
        parsed.lines.append(line)
        if demand_id is not None:
            if demand_id in seen_ids:
                parsed.add(
                    DEMAND_SHEET,
                    number,
                    parsed.letters.get("id"),
                    "编号",
                    demand_id,
                    _("编号「%(id)s」在本文件中重复（第 %(row)s 行已使用）")
                    % {"id": demand_id, "row": seen_ids[demand_id]},
                )
            else:
                seen_ids[demand_id] = number
        key = (clean_text(values.get("needed_data")), provider_name)
        if key[0]:
            if key in seen_lines:
                parsed.add(
                    DEMAND_SHEET,
                    number,
                    parsed.letters.get("needed_data"),
                    "所需数据",
                    key[0],
                    _("与第 %(row)s 行重复（所需数据和提供部门都相同）") % {"row": seen_lines[key]},
                )
            else:
                seen_lines[key] = number
    if not parsed.lines and not parsed.errors:
        parsed.add(DEMAND_SHEET, 2, "", "", "", _("工作表中没有需求数据"))


# --------------------------------------------------------------------------------------------------
# Check against the database and save: all or nothing


CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"


@dataclass
class DemandImportResult:
    errors: list[CellError]
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    demands: list[DemandItem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class _Rollback(Exception):
    pass


_IMPORT_LOCK = 0x4A5A0E2  # pg advisory lock namespace (with the department id); the catalog import's is 0x4A5A0E1


def import_demands(*, actor, department, data: bytes, filename: str = "") -> DemandImportResult:
    """Import an uploaded demand list into `department`'s; nothing is saved if any cell is wrong.

    Rows without 编号 create draft lines, rows naming an own draft line update it (both through
    `demand_item_save`, which audits and matches each line), rows identical to the line they name are left alone.
    Raises PermissionDenied / NotFound for a caller who may not file for `department`. Writes one audit event
    `catalog.demand.imported`, with result failure and the error count when nothing was imported.
    """
    require_department_staff(actor, department)
    parsed = parse_demand_workbook(data, filename)
    result = DemandImportResult(errors=parsed.errors)
    if not parsed.errors:
        try:
            with transaction.atomic():
                with connection.cursor() as cur:  # one import per department at a time
                    cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_IMPORT_LOCK, department.pk])
                plan = _validate(parsed, department)
                if parsed.errors:
                    raise _Rollback
                for line in parsed.lines:
                    action, target = plan[line.row]
                    if action == UNCHANGED:
                        result.unchanged += 1
                        continue
                    demand = _save_line(parsed, line, actor, department, target)
                    if demand is not None:
                        result.created += action == CREATE
                        result.updated += action == UPDATE
                        result.demands.append(demand)
                if parsed.errors:
                    raise _Rollback
                audit.record(
                    actor=actor,
                    action="catalog.demand.imported",
                    department=department,
                    data={
                        "filename": filename,
                        "created": result.created,
                        "updated": result.updated,
                        "unchanged": result.unchanged,
                    },
                )
        except _Rollback:
            result.created = result.updated = result.unchanged = 0
            result.demands = []
    result.errors = sorted(parsed.errors, key=lambda e: (e.sheet != file_sheet(), e.row or 0, len(e.column), e.column))
    if result.errors:
        audit.record(
            actor=actor,
            action="catalog.demand.imported",
            department=department,
            result=AuditResult.FAILURE,
            data={"filename": filename, "errors": len(result.errors), "lines": len(parsed.lines)},
        )
    return result


def _validate(parsed: ParsedDemands, department) -> dict[int, tuple[str, DemandItem | None]]:
    """Resolve each line's provider and the line its 编号 names; problems go on their cells."""
    letters = parsed.letters
    names = {n for line in parsed.lines if (n := line.provider_name)}
    providers: dict[str, list[Department]] = {}
    candidates = Department.objects.filter(Q(name__in=names) | Q(short_name__in=names), is_active=True) if names else []
    for dept in candidates:
        for key in {dept.name, dept.short_name}:
            if key in names:
                providers.setdefault(key, []).append(dept)
    ids = [line.demand_id for line in parsed.lines if line.demand_id is not None]
    existing = {d.pk: d for d in DemandItem.objects.filter(pk__in=ids, department=department)}
    plan: dict[int, tuple[str, DemandItem | None]] = {}
    for line in parsed.lines:
        provider = None
        if line.provider_name:
            found = providers.get(line.provider_name, [])
            if len(found) != 1:
                message = (
                    _("提供部门「%(name)s」不存在，请从下拉列表选择部门全称；不清楚由哪个部门提供时留空")
                    if not found
                    else _("「%(name)s」对应多个部门，请填写部门全称")
                )
                parsed.add(
                    DEMAND_SHEET,
                    line.row,
                    letters.get("provider"),
                    "提供部门",
                    line.provider_name,
                    message % {"name": line.provider_name},
                )
                continue
            provider = found[0]
        line.values["provider"] = provider
        target = None
        if line.demand_id is not None:
            target = existing.get(line.demand_id)
            if target is None:
                parsed.add(
                    DEMAND_SHEET,
                    line.row,
                    letters.get("id"),
                    "编号",
                    line.demand_id,
                    _("编号「%(id)s」不是本部门需求清单中的需求；新增需求请将编号留空") % {"id": line.demand_id},
                )
                continue
            if _same(target, line.values):
                plan[line.row] = (UNCHANGED, target)
                continue
            if target.state != DemandState.DRAFT:
                parsed.add(
                    DEMAND_SHEET,
                    line.row,
                    letters.get("id"),
                    "编号",
                    line.demand_id,
                    _("该需求状态为「%(state)s」，已提交的需求不能通过导入修改")
                    % {"state": zh_label(DemandState, target.state)},
                )
                continue
        plan[line.row] = (CREATE, None) if target is None else (UPDATE, target)
    return plan


def _same(demand: DemandItem, values: dict[str, Any]) -> bool:
    provider = values.get("provider")
    return (
        demand.needed_data == clean_text(values.get("needed_data"))
        and list(demand.item_names) == list(dict.fromkeys(clean_text(n) for n in values.get("item_names") or []))
        and demand.purpose == clean_text(values.get("purpose"))
        and demand.legal_basis == clean_text(values.get("legal_basis"))
        and demand.provider_id == (provider.pk if provider else None)
    )


def _save_line(parsed: ParsedDemands, line: ParsedDemand, actor, department, target) -> DemandItem | None:
    """Save one line in a savepoint; a refusal is put on the line's cells (and the file rolled back later)."""
    try:
        with transaction.atomic():
            return demand_item_save(actor=actor, department=department, values=dict(line.values), demand=target)
    except PortalError as exc:
        headers = {c.field: c.header for c in demand_columns()}
        if exc.errors:
            for key, messages in exc.errors.items():
                name = key.split(".")[0]
                value = line.provider_name if name == "provider" else line.values.get(name, "")
                for message in messages if isinstance(messages, list | tuple) else [messages]:
                    parsed.add(
                        DEMAND_SHEET, line.row, parsed.letters.get(name, ""), headers.get(name, ""), value, message
                    )
        else:
            parsed.add(DEMAND_SHEET, line.row, "", "", line.values.get("needed_data", ""), exc.detail)
    except IntegrityError:
        parsed.add(
            DEMAND_SHEET,
            line.row,
            "",
            "",
            line.values.get("needed_data", ""),
            _("保存时与已有数据冲突（可能有人同时修改），请稍后重试"),
        )
    return None


# --------------------------------------------------------------------------------------------------
# Write: the blank template and a list of demand lines


def _departments() -> list[str]:
    return list(
        Department.objects.filter(is_active=True).order_by("region__code", "name").values_list("name", flat=True)[:2000]
    )


def _note_sheet(wb: Workbook, departments: list[str]) -> str | None:
    """The「说明」sheet; returns the range of department names the「提供部门」drop-down offers."""
    note = NoteSheet(wb, (("A", 18), ("B", 70)))
    ws, append, bold = note.ws, note.append, note.bold
    note.title("政务数据需求清单导入模板")
    for text in (
        "1. 「需求清单」工作表每行一项数据需求：本部门履行职责需要、由其他部门提供的数据。",
        "2. 红色列标题为必填项。新增需求时「编号」留空；导出文件中的「编号」用于修改本部门处于「草稿」状态的需求，"
        "与系统中完全相同的行不做修改。",
        "3. 「需求部门」「状态」「已有数据来源」由系统填写，导入时不读取。",
        "4. 不要合并单元格，不要使用公式，不要改动工作表名称和列标题。",
        "5. 导入时逐格校验，任何一处有误则整个文件都不导入，并列出每个错误所在的行和列。",
        "6. 导入的需求为草稿，请在需求清单页面核对后提交到市大数据局。",
    ):
        append([text])
    append([])
    append(bold("列", "填写说明"))
    for col in demand_columns():
        append([xlsx_cell(ws, col.header + ("（必填）" if col.required else "")), xlsx_cell(ws, col.note)])
    append([])
    append(bold("部门名称表", "「提供部门」可选的部门"))
    if not departments:
        return None
    first = last = 0
    for name in departments:
        last = append(["", xlsx_cell(ws, name)])
        first = first or last
    return f"'{NOTE_SHEET}'!$B${first}:$B${last}"


def write_demands(demands: Iterable[DemandItem], out) -> int:
    """Write demand lines (with `department`, `provider` and prefetched `matches`) to `out`; returns the count.

    With no lines this is the blank template.
    """
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(DEMAND_SHEET)
    columns = demand_columns()
    for index, col in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = col.width
    ws.freeze_panes = "A2"
    department_range = _note_sheet(wb, _departments())
    ws.append(header_cells(ws, columns))
    count = 0
    for demand in demands:
        count += 1
        ws.append(
            xlsx_row(
                ws,
                [
                    demand.pk,
                    demand.needed_data,
                    "、".join(demand.item_names),
                    demand.purpose,
                    demand.legal_basis,
                    demand.provider.name if demand.provider_id else "",
                    demand.department.name,
                    zh_label(DemandState, demand.state),
                    "、".join(f"{m.code or ''} {m.name}（{m.provider.name}）".strip() for m in demand.matches.all()),
                ],
            )
        )
    provider_letter = get_column_letter(next(i for i, c in enumerate(columns, start=1) if c.field == "provider"))
    if department_range:
        ws.data_validations.append(
            list_validation(
                department_range,
                f"{provider_letter}2:{provider_letter}{max(VALIDATION_ROWS, count + 500)}",
                strict=False,
                prompt=columns[5].note,
            )
        )
    wb.save(out)
    return count


def _spooled() -> tempfile.SpooledTemporaryFile:
    return tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)


def demand_template_file() -> ExportFile:
    """The blank demand-list template with the「说明」sheet and the department drop-down (no data: not audited)."""
    out = _spooled()
    write_demands([], out)
    out.seek(0)
    return ExportFile(out, "政务数据需求清单导入模板.xlsx", 0, 0)


def export_demands(*, actor, demands, label: str, filters: dict[str, Any] | None = None) -> ExportFile:
    """The demand lines of `demands` (a queryset already restricted to `actor`) as .xlsx; audited as a read."""
    out = _spooled()
    count = write_demands(demands.iterator(chunk_size=500), out)
    audit.record(
        actor=actor,
        action="catalog.demand.exported",
        department=actor.department,
        data={"filters": {k: v for k, v in (filters or {}).items() if v not in (None, "", [])}, "lines": count},
    )
    out.seek(0)
    stamp = dt.date.today().strftime("%Y%m%d")
    return ExportFile(out, f"{label}_需求清单_{stamp}.xlsx", count, 0)
