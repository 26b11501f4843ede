"""Parse an uploaded workbook into entries with their items, and every problem found on the way (no database)."""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from ..choices import OpenType
from .columns import (
    ENTRY_HEADERS,
    ENTRY_SHEET,
    ITEM_SHEET,
    Column,
    entry_columns,
    item_columns,
    label_key,
    lookup,
    zh_labels,
)
from .container import check_container, merged_ranges

logger = logging.getLogger(__name__)

# Imports run inside the request (about 10 ms an entry): 1 000 entries stay well inside a worker timeout.
MAX_ENTRY_ROWS = 1000
MAX_ITEM_ROWS = 30000
MAX_ERRORS = 500
MAX_COLUMNS = 60  # header cells read; data cells right of the last known header are never read

SPLIT_MULTI = re.compile(r"[、,，;；/|\s]+")
_HEADER_NOTE = re.compile(r"[（(].*?[)）]")


# --------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class CellError:
    """One problem of an uploaded file, located by sheet, row and column as the user sees them."""

    sheet: str
    row: int | None
    column: str  # column letter, "" for a whole row or sheet
    header: str
    value: str
    message: str

    @property
    def location(self) -> str:
        if self.column:
            cell = f"{self.column}{self.row or ''}"
        else:
            cell = _("第%(row)s行") % {"row": self.row} if self.row else ""
        return f"{self.sheet}!{cell}" if cell else self.sheet

    def as_dict(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet, "row": self.row, "column": self.column, "header": self.header,
            "value": self.value, "message": self.message,
        }


@dataclass
class ParsedItem:
    row: int
    values: dict[str, Any]


@dataclass
class ParsedEntry:
    row: int
    seq: str
    code: str
    classification_code: str
    provider_name: str
    provider_code: str
    values: dict[str, Any]
    items: list[ParsedItem] = field(default_factory=list)


@dataclass
class ParsedWorkbook:
    entries: list[ParsedEntry] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)
    entry_letters: dict[str, str] = field(default_factory=dict)  # field -> column letter
    item_letters: dict[str, str] = field(default_factory=dict)

    def add(self, sheet, row, column, header, value, message) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(CellError(sheet, row, column or "", header or "", show_value(value), str(message)))
        elif len(self.errors) == MAX_ERRORS:
            message = _("错误过多，只列出前 %(n)s 条") % {"n": MAX_ERRORS}
            self.errors.append(CellError(file_sheet(), None, "", "", "", message))

    def discard(self) -> None:
        """Forget every row read (the file turned out unreadable)."""
        self.entries.clear()

    @property
    def item_count(self) -> int:
        return sum(len(e.items) for e in self.entries)


def show_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date() if value.time() == dt.time() else value
    text = str(value)
    return text if len(text) <= 100 else text[:99] + "…"



_TRUE = {"是", "Y", "YES", "TRUE", "1", "√"}
_FALSE = {"否", "N", "NO", "FALSE", "0", "×"}


# --------------------------------------------------------------------------------------------------
# The skeleton every workbook import shares: container, open, sheets, merged cells, rows, formulas, broken XML


def file_sheet() -> str:
    """Where a problem of the whole file (not of a sheet) is reported."""
    return _("文件")


def formula_message() -> str:
    """The one refusal of a formula cell, whatever the import: its value is not what the clerk sees as typed."""
    return _("单元格含有公式，请复制后「选择性粘贴 → 数值」再导入")


def open_workbook(data: bytes, filename: str, parsed: ParsedWorkbook):
    """The uploaded workbook, read-only and with formulas as formulas (`data_only=False`: a formula cell must be
    seen and refused, never silently read as its cached value or as empty); or None, the reason on `parsed`."""
    reason = check_container(data, filename)
    if reason:
        parsed.add(file_sheet(), None, "", "", filename, reason)
        return None
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds on a broken package; all mean the same to the user
        parsed.add(file_sheet(), None, "", "", filename, _("文件已损坏或不是 Excel 工作簿（.xlsx），无法打开"))
        return None


def find_sheets(wb, names: Iterable[str], parsed: ParsedWorkbook) -> dict:
    """The sheets `names` that the workbook has (a stray space around a sheet name is forgiven); each missing one
    is reported."""
    sheets = {name.strip(): wb[name] for name in wb.sheetnames}
    for name in names:
        if name not in sheets:
            parsed.add(name, None, "", "", "", _("缺少工作表「%(sheet)s」（现有：%(found)s），请使用下载的模板") % {
                "sheet": name, "found": "、".join(wb.sheetnames)})
    return {name: sheets[name] for name in names if name in sheets}


def merged_cell_problems(data: bytes, sheet: str, ws, parsed: ParsedWorkbook) -> None:
    """Report each merged range of `ws` (named `sheet`) on its top-left cell: a merged cell has one value for
    several rows, and the rows under it would silently read empty."""
    # _worksheet_path: where the read-only sheet's XML lives in the package (openpyxl has no public name).
    for ref in merged_ranges(data, ws._worksheet_path):
        top_left = ref.split(":")[0]
        letters = "".join(ch for ch in top_left if ch.isalpha())
        parsed.add(sheet, int(top_left[len(letters):]), letters, "", ref,
                   _("不允许合并单元格（%(ref)s），请取消合并并在每一行填写完整的值") % {"ref": ref})


def read_upload(data: bytes, filename: str, parsed: ParsedWorkbook, sheet_names: tuple[str, ...],
                read: Callable[[dict], None]) -> None:
    """Open an upload and hand its sheets to `read`, or report why it cannot be read; never raises on a bad file.

    Container checks, the workbook opened (`open_workbook`), the sheets `sheet_names` found (`find_sheets`), their
    merged cells refused (`merged_cell_problems`), then `read(sheets)` with the sheets found; a package that opens
    but whose sheet XML is broken discards what was read (`parsed.discard`) and says so.
    """
    wb = open_workbook(data, filename, parsed)
    if wb is None:
        return
    try:
        sheets = find_sheets(wb, sheet_names, parsed)
        for name, ws in sheets.items():
            merged_cell_problems(data, name, ws, parsed)
        read(sheets)
    except Exception:  # a package that opens but whose sheet XML is broken: the user's file, not our bug
        logger.warning("unreadable workbook %r", filename, exc_info=True)
        parsed.discard()
        message = _("文件内容已损坏，无法读取，请在 Excel 中打开后另存为 .xlsx 再上传")
        parsed.add(file_sheet(), None, "", "", filename, message)
    finally:
        wb.close()


@dataclass(frozen=True)
class DataRow:
    """One non-blank data row: its Excel number, the raw values of its first cells, and which of them hold a
    formula (already reported; `cells` leaves them out)."""

    number: int
    values: tuple
    formulas: frozenset[int]

    def cells(self, columns: dict[int, Column]) -> Iterator[tuple[int, Column, Any]]:
        """(index, column, raw value) of each known column, formula cells left out."""
        for index, col in columns.items():
            if index not in self.formulas:
                yield index, col, self.values[index] if index < len(self.values) else None


def is_formula(cell) -> bool:
    """Whether a cell of a workbook opened by `open_workbook` holds a formula (text that merely starts with「=」,
    typed as text as our exports write it, is not one)."""
    return cell.data_type == "f"


def data_rows(ws, sheet: str, columns: dict[int, Column], limit: int, parsed: ParsedWorkbook) -> Iterator[DataRow]:
    """The non-blank rows below the header, numbered as Excel numbers them, read as far as the last known column;
    every formula cell among them is refused on its cell (`formula_message`); stops past `limit` data rows."""
    count = 0
    width = max(columns) + 1
    for number, row in enumerate(ws.iter_rows(min_row=2, max_col=width), start=2):
        values = tuple(cell.value for cell in row)
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        count += 1
        if count > limit:
            parsed.add(sheet, number, "", "", "", _("行数超过上限 %(n)s 行，请分批导入") % {"n": limit})
            return
        formulas = frozenset(index for index, cell in enumerate(row) if is_formula(cell))
        for index in sorted(formulas):
            col = columns.get(index)
            parsed.add(sheet, number, get_column_letter(index + 1), col.header if col else "", values[index],
                       formula_message())
        yield DataRow(number, values, formulas)


# --------------------------------------------------------------------------------------------------
# Parse the catalog workbook: no database


def parse_workbook(data: bytes, filename: str = "") -> ParsedWorkbook:
    """Read an uploaded workbook into entries with items, and every problem found on the way."""
    parsed = ParsedWorkbook()

    def read(sheets: dict) -> None:
        if ENTRY_SHEET not in sheets:
            return
        by_seq = _parse_entries(sheets[ENTRY_SHEET], parsed)
        if ITEM_SHEET in sheets:
            _parse_items(sheets[ITEM_SHEET], parsed, by_seq)

    read_upload(data, filename, parsed, (ENTRY_SHEET, ITEM_SHEET), read)
    return parsed


def read_header(ws, columns: list[Column], parsed: ParsedWorkbook) -> dict[int, Column] | None:
    """Map sheet column index -> Column; report unknown, repeated and missing headers."""
    header_row = next(ws.iter_rows(min_row=1, max_row=1, max_col=MAX_COLUMNS, values_only=True), ())
    known: dict[str, Column] = {}
    for col in columns:
        for name in (col.header, *col.aliases):
            known[label_key(name)] = col
    found: dict[int, Column] = {}
    seen: dict[str, str] = {}
    for index, raw in enumerate(header_row):
        if raw is None or not str(raw).strip():
            continue
        letter = get_column_letter(index + 1)
        key = label_key(_HEADER_NOTE.sub("", str(raw)).replace("*", ""))
        col = known.get(key)
        if col is None:
            parsed.add(ws.title, 1, letter, str(raw), raw, _("无法识别的列标题「%(h)s」，可用的列：%(all)s") % {
                "h": str(raw).strip(), "all": "、".join(c.header for c in columns)})
            continue
        if col.field in seen:
            parsed.add(ws.title, 1, letter, str(raw), raw, _("列「%(h)s」重复出现（另见 %(other)s 列）") % {
                "h": col.header, "other": seen[col.field]})
            continue
        seen[col.field] = letter
        found[index] = col
    missing = [c.header for c in columns if c.field not in seen and not c.header_optional]
    for header in missing:
        parsed.add(ws.title, 1, "", header, "", _("缺少列「%(h)s」，请使用下载的模板") % {"h": header})
    if not header_row or not found:
        return None
    return found


def cell_value(col: Column, raw: Any) -> tuple[Any, str | None]:
    """(value, None) or (None, Chinese message) for one cell of `col`."""
    if isinstance(raw, str):
        raw = raw.strip()
        if raw == "":
            raw = None
    kind = col.kind
    if raw is None:
        if col.required:
            return None, _("「%(h)s」不能为空") % {"h": col.header}
        return {"bool": False, "multi": [], "codes": [], "int": None, "date": None}.get(kind, ""), None
    if kind in ("text", "seq"):
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if isinstance(raw, dt.datetime):
            return None, _("「%(h)s」应为文字，不是日期") % {"h": col.header}
        text = str(raw)
        if col.max_length and len(text) > col.max_length:
            return None, _("「%(h)s」不能超过 %(n)s 个字（现有 %(len)s 个）") % {
                "h": col.header, "n": col.max_length, "len": len(text)}
        return text, None
    if kind == "int":
        if isinstance(raw, bool):
            return None, _("「%(h)s」应为正整数") % {"h": col.header}
        numeric = isinstance(raw, int | float | Decimal) and float(raw).is_integer()
        if numeric or (isinstance(raw, str) and raw.isdigit()):
            number = int(raw)
        else:
            return None, _("「%(h)s」应为正整数") % {"h": col.header}
        if number <= 0 or number > 1_000_000_000:
            return None, _("「%(h)s」应为正整数") % {"h": col.header}
        return number, None
    if kind == "bool":
        if isinstance(raw, bool):
            return raw, None
        key = label_key(str(int(raw) if isinstance(raw, float) and raw.is_integer() else raw))
        if key in _TRUE:
            return True, None
        if key in _FALSE:
            return False, None
        return None, _("「%(h)s」应填「是」或「否」") % {"h": col.header}
    if kind == "date":
        return _parse_date(raw, col)
    if kind == "choice":
        value = lookup(col.choices).get(label_key(str(raw)))
        if value is None:
            return None, _("「%(v)s」不是有效的%(h)s，可选值：%(all)s") % {
                "v": raw, "h": col.header, "all": "、".join(label for _v, label in zh_labels(col.choices))}
        return value, None
    if kind == "multi":
        table = lookup(col.choices)
        values, bad = [], []
        for part in SPLIT_MULTI.split(str(raw)):
            if not part:
                continue
            value = table.get(label_key(part))
            if value is None:
                bad.append(part)
            elif value not in values:
                values.append(value)
        if bad:
            return None, _("「%(v)s」不是有效的%(h)s，可选值：%(all)s（多个用「、」分隔）") % {
                "v": "、".join(bad), "h": col.header, "all": "、".join(label for _v, label in zh_labels(col.choices))}
        return values, None
    if kind == "codes":
        codes = []
        for part in re.split(r"[、,，;；\s]+", str(raw)):
            if part and part not in codes:
                codes.append(part)
        return codes, None
    raise AssertionError(kind)


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def _parse_date(raw: Any, col: Column) -> tuple[dt.date | None, str | None]:
    if isinstance(raw, dt.datetime):
        return raw.date(), None
    if isinstance(raw, dt.date):
        return raw, None
    text = str(raw).strip()
    if text.endswith(" 00:00:00"):
        text = text[:-9]
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            try:
                return dt.date(*(int(g) for g in match.groups())), None
            except ValueError:
                break
    return None, _("「%(v)s」不是有效的日期，%(h)s应为 YYYY-MM-DD 格式的日期，例如 2024-03-01") % {
        "v": text, "h": col.header}


def _parse_entries(ws, parsed: ParsedWorkbook) -> dict[str, ParsedEntry]:
    columns = read_header(ws, entry_columns(), parsed)
    if columns is None:
        return {}
    parsed.entry_letters = {c.field: get_column_letter(i + 1) for i, c in columns.items()}
    by_seq: dict[str, ParsedEntry] = {}
    seen: dict[str, dict[Any, int]] = {"code": {}, "name": {}}
    for row in data_rows(ws, ENTRY_SHEET, columns, MAX_ENTRY_ROWS, parsed):
        number = row.number
        values: dict[str, Any] = {}
        for index, col, raw in row.cells(columns):
            value, message = cell_value(col, raw)
            if message:
                parsed.add(ENTRY_SHEET, number, get_column_letter(index + 1), col.header, raw, message)
                continue
            values[col.field] = value
        if not values.get("open_type"):
            values["open_type"] = OpenType.CLOSED.value  # the model's default: not open to the public
        seq = values.pop("seq", None)
        entry = ParsedEntry(
            row=number, seq=seq or "", code=(values.pop("code", "") or "").upper(),
            classification_code=_classification_code(values.pop("classification", "")),
            provider_name=values.pop("provider", "") or "",
            provider_code=values.pop("provider_code", "") or "",
            values=values,
        )
        parsed.entries.append(entry)
        if seq:
            if seq in by_seq:
                parsed.add(ENTRY_SHEET, number, parsed.entry_letters["seq"], "序号", seq,
                           _("序号「%(seq)s」重复（第 %(row)s 行已使用）") % {"seq": seq, "row": by_seq[seq].row})
            else:
                by_seq[seq] = entry
        for key, value, message in (
            ("code", entry.code, _("信息资源代码「%(v)s」在本文件中重复（第 %(row)s 行已使用）")),
            ("name", values.get("name"), _("信息资源名称「%(v)s」在本文件中重复（第 %(row)s 行已使用）")),
        ):
            if not value:
                continue
            if value in seen[key]:
                parsed.add(ENTRY_SHEET, number, parsed.entry_letters.get(key), ENTRY_HEADERS[key], value,
                           message % {"v": value, "row": seen[key][value]})
            else:
                seen[key][value] = number
    if not parsed.entries and not parsed.errors:
        parsed.add(ENTRY_SHEET, 2, "", "", "", _("工作表中没有信息资源数据"))
    return by_seq


def _classification_code(cell: str | None) -> str:
    """The code of a「信息资源分类」cell: typed as「303」or picked from the drop-down as「303 政府」."""
    return cell.split()[0] if cell and cell.split() else ""


def _parse_items(ws, parsed: ParsedWorkbook, by_seq: dict[str, ParsedEntry]) -> None:
    columns = read_header(ws, item_columns(), parsed)
    if columns is None:
        return
    parsed.item_letters = {c.field: get_column_letter(i + 1) for i, c in columns.items()}
    for row in data_rows(ws, ITEM_SHEET, columns, MAX_ITEM_ROWS, parsed):
        number = row.number
        values: dict[str, Any] = {}
        failed = bool(row.formulas)
        for index, col, raw in row.cells(columns):
            value, message = cell_value(col, raw)
            if message:
                failed = True
                parsed.add(ITEM_SHEET, number, get_column_letter(index + 1), col.header, raw, message)
                continue
            values[col.field] = value
        seq = values.pop("seq", None)
        if seq is None:
            continue
        entry = by_seq.get(seq)
        if entry is None:
            parsed.add(ITEM_SHEET, number, parsed.item_letters["seq"], "资源序号", seq,
                       _("资源序号「%(seq)s」在「信息资源」工作表中不存在") % {"seq": seq})
            continue
        name = values.get("name")
        twin = next((i for i in entry.items if name and i.values.get("name") == name), None)
        if twin is not None:
            failed = True
            parsed.add(ITEM_SHEET, number, parsed.item_letters.get("name"), "信息项名称", name,
                       _("同一信息资源中信息项名称「%(name)s」重复（第 %(row)s 行已使用）")
                       % {"name": name, "row": twin.row})
        entry.items.append(ParsedItem(row=number, values=values | ({"_invalid": True} if failed else {})))

