"""Excel import and export of catalog lists in the 2017 编制指南 template layout (R8.1, R8.3).

One workbook holds the sheet「信息资源」(one row per catalog entry) and the sheet「信息项」(one row per
data item, tied to its entry by the entry's 序号); a「说明」sheet explains the columns and lists the
allowed values. Cells carry the Chinese labels of the choices; the importer maps them to values.

Import is two steps. `parse_workbook` reads the file and checks what can be checked without the
database (container, sheets, headers, merged cells, cell types and value lists, references between the
sheets); `validate_import` adds what needs the database (classification codes, existing entries, the
caller's department, core's `entry_problems`). `import_catalog` saves only when both found nothing,
all rows in one transaction: a file is imported completely or not at all.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any
from xml.etree.ElementTree import iterparse

from django.db import IntegrityError, connection, transaction
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from catalog.choices import (
    EDITABLE_STATES,
    DataType,
    EntryState,
    ExchangeMethod,
    FormatClass,
    OpenType,
    ShareType,
    UpdateCycle,
)
from portal import audit
from portal.choices import AuditResult
from portal.errors import PortalError

logger = logging.getLogger(__name__)

ENTRY_SHEET = "信息资源"
ITEM_SHEET = "信息项"
NOTE_SHEET = "说明"

# Limits of an upload (R8.1): a department's list is hundreds of rows, not millions.
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024  # sum of the zip members as they would be inflated
MAX_MEMBER_RATIO = 100  # inflated / compressed, for members above 1 MB: beyond it is a zip bomb
MAX_ZIP_MEMBERS = 500
# Imports run inside the request (about 10 ms an entry): 1 000 entries stay well inside a worker timeout.
MAX_ENTRY_ROWS = 1000
MAX_ITEM_ROWS = 30000
MAX_ERRORS = 500
MAX_COLUMNS = 60  # header cells read; data cells right of the last known header are never read

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (BIFF) and password-protected .xlsx
_SPLIT_MULTI = re.compile(r"[、,，;；/|\s]+")
_HEADER_NOTE = re.compile(r"[（(].*?[)）]")


# --------------------------------------------------------------------------------------------------
# Columns


@dataclass(frozen=True)
class Column:
    """One column of the template: its header, the field it fills and how its cells are read."""

    header: str
    field: str
    kind: str = "text"  # text, int, bool, date, choice, multi, codes, seq
    choices: Any = None
    required: bool = False
    aliases: tuple[str, ...] = ()
    width: int = 14
    note: str = ""
    max_length: int | None = None


def entry_columns() -> list[Column]:
    """The「信息资源」sheet, in the 2017 guide's order of core metadata."""
    return [
        Column("序号", "seq", "seq", required=True, width=6, note="本文件内的编号，信息项工作表用它关联到资源"),
        Column("信息资源代码", "code", width=26, aliases=("资源代码",),
               note="新增条目留空，由系统按编码规则生成；填写本部门已有条目的代码表示修改该条目（草稿或已退回）"),
        Column("信息资源名称", "name", required=True, width=28, aliases=("资源名称",), max_length=200),
        Column("信息资源分类", "classification", required=True, width=14, aliases=("资源分类", "分类代码"),
               note="填写到项或更细的分类代码（如 303），可从下拉列表选择，见「说明」工作表的分类代码表"),
        Column("提供方", "provider", required=True, width=26, aliases=("信息资源提供方", "提供方名称"),
               note="填写本部门全称；只能导入本部门的目录"),
        Column("提供方代码", "provider_code", width=22, aliases=("信息资源提供方代码",),
               note="本部门统一社会信用代码，可留空"),
        Column("信息资源摘要", "summary", required=True, width=40, aliases=("摘要", "资源摘要")),
        Column("格式分类", "format_class", "choice", FormatClass, required=True, width=12,
               aliases=("信息资源格式分类", "资源格式分类")),
        Column("格式类型", "format_type", required=True, width=12, aliases=("信息资源格式类型", "资源格式类型"),
               max_length=100,
               note="如 xlsx、mysql、pdf、jpg"),
        Column("共享类型", "share_type", "choice", ShareType, required=True, width=12),
        Column("共享条件", "share_condition", width=30, note="有条件共享时必填：可共享的部门、范围和条件"),
        Column("不予共享依据", "no_share_basis", width=30,
               note="不予共享时必填：法律、行政法规或党中央、国务院政策依据"),
        Column("共享方式", "exchange_methods", "multi", ExchangeMethod, width=22,
               aliases=("共享方式类型",), note="可填多个，用「、」或逗号分隔"),
        Column("是否向社会开放", "open_type", "choice", OpenType, width=14,
               aliases=("开放属性", "开放类型", "向社会开放"), note="无条件开放/有条件开放/不予开放，也可填 是/否"),
        Column("开放条件", "open_condition", width=24),
        Column("更新周期", "update_cycle", "choice", UpdateCycle, required=True, width=10),
        Column("发布日期", "publish_date", "date", width=12,
               note="格式 YYYY-MM-DD；由系统在市局审核通过时填写，导入时不修改"),
        Column("关联资源代码", "related_codes", "codes", width=24, note="可填多个，用「、」或逗号分隔"),
        Column("涉密", "is_secret", "bool", width=6, aliases=("是否涉密", "涉密属性"), note="是/否，留空为否"),
    ]


def item_columns() -> list[Column]:
    """The「信息项」sheet: one row per data item, `资源序号` names its entry's 序号."""
    return [
        Column("资源序号", "seq", "seq", required=True, width=8, aliases=("序号", "信息资源序号"),
               note="该信息项所属信息资源在「信息资源」工作表中的序号"),
        Column("信息项名称", "name", required=True, width=24, aliases=("数据项名称",), max_length=100),
        Column("数据类型", "data_type", "choice", DataType, required=True, width=12,
               note="如 字符型C，也可只填字母 C"),
        Column("数据长度", "length", "int", width=10, aliases=("长度",)),
        Column("是否主体标识", "is_subject_key", "bool", width=12, aliases=("主体标识",), note="是/否"),
        Column("是否基础信息项", "is_base_item", "bool", width=14, aliases=("基础信息项",), note="是/否"),
        Column("说明", "description", width=30, aliases=("备注", "信息项说明"), max_length=500),
    ]


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
            self.errors.append(CellError(sheet, row, column or "", header or "", _show(value), str(message)))
        elif len(self.errors) == MAX_ERRORS:
            message = _("错误过多，只列出前 %(n)s 条") % {"n": MAX_ERRORS}
            self.errors.append(CellError(_("文件"), None, "", "", "", message))

    @property
    def item_count(self) -> int:
        return sum(len(e.items) for e in self.entries)


@dataclass
class ImportResult:
    errors: list[CellError]
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    items: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date() if value.time() == dt.time() else value
    text = str(value)
    return text if len(text) <= 100 else text[:99] + "…"


# --------------------------------------------------------------------------------------------------
# Value lists: Chinese labels, whatever language the request speaks (the template is the guide's)


@cache
def _zh_labels(choices) -> list[tuple[str, str]]:
    with translation.override("zh-hans"):
        return [(str(value), str(label)) for value, label in choices.choices]


def _normal(text: str) -> str:
    """Case, full-width and spaces do not matter when matching a typed label."""
    text = text.translate(_FULLWIDTH).strip()
    return re.sub(r"\s+", "", text).upper()


_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


@cache
def _lookup(choices) -> dict[str, str]:
    """Normalised label or value -> value, plus the guide's short forms."""
    table: dict[str, str] = {}
    for value, label in _zh_labels(choices):
        table[_normal(label)] = value
        table[_normal(value)] = value
    if choices is DataType:
        for value, label in _zh_labels(choices):
            table[_normal(label.rstrip(value))] = value  # 字符型 without its letter
    elif choices is OpenType:
        table[_normal("是")] = "open"
        table[_normal("否")] = "closed"
    elif choices is ExchangeMethod:
        # 2017 guide 共享方式类型 (cn-standards §1.3 c): 接口 / 文件 / 数据库
        table.setdefault(_normal("接口"), "api")
        table.setdefault(_normal("文件"), "download")
        table.setdefault(_normal("数据库"), "push")
    elif choices is UpdateCycle:
        for alias, value in (("不定期", "other"), ("按天", "daily"), ("按月", "monthly"), ("按季", "quarterly"),
                             ("按季度", "quarterly"), ("半年", "half_year"), ("每半年度", "half_year")):
            table.setdefault(_normal(alias), value)
    return table


def _label(choices, value: str) -> str:
    return dict(_zh_labels(choices)).get(str(value), str(value))


_TRUE = {"是", "Y", "YES", "TRUE", "1", "√"}
_FALSE = {"否", "N", "NO", "FALSE", "0", "×"}


# --------------------------------------------------------------------------------------------------
# The container: refuse what is not a sane .xlsx before openpyxl sees it


def check_container(data: bytes, filename: str = "") -> str | None:
    """A Chinese reason why `data` cannot be read as an .xlsx workbook, or None when it can be opened."""
    if len(data) > MAX_FILE_BYTES:
        return _("文件过大（%(size).1f MB），上限为 %(max)s MB") % {
            "size": len(data) / 1024 / 1024, "max": MAX_FILE_BYTES // 1024 // 1024}
    if not data:
        return _("文件为空")
    if data.startswith(_OLE_MAGIC):
        return _(
            "这是旧版 Excel 97-2003（.xls）文件或加密的工作簿，"
            "请在 Excel 中另存为「Excel 工作簿（*.xlsx）」且不设密码后再上传"
        )
    if not data.startswith(_ZIP_MAGIC):
        ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        if ext == "xls":
            return _("这是旧版 Excel 97-2003（.xls）文件，请另存为 .xlsx 后再上传")
        return _(
            "文件不是 Excel 工作簿（.xlsx）：内容不是 xlsx 格式（可能是改了扩展名的文本或其他文件），"
            "请使用下载的模板填写"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                return _("文件结构异常（压缩包内文件过多），拒绝处理")
            total = 0
            for info in members:
                total += info.file_size
                if info.file_size > 1024 * 1024 and info.file_size > MAX_MEMBER_RATIO * max(info.compress_size, 1):
                    return _("文件压缩比异常（疑似压缩炸弹），拒绝处理")
            if total > MAX_UNCOMPRESSED_BYTES:
                return _("文件解压后过大（%(size)s MB），上限为 %(max)s MB") % {
                    "size": total // 1024 // 1024, "max": MAX_UNCOMPRESSED_BYTES // 1024 // 1024}
            names = {info.filename for info in members}
            if "xl/workbook.xml" not in names:
                return _("文件不是 Excel 工作簿（.xlsx）：缺少工作簿内容（可能是 Word、WPS 或其他压缩文件）")
    except zipfile.BadZipFile:
        return _("文件已损坏或不是 Excel 工作簿（.xlsx），无法打开")
    return None


def _merged_ranges(data: bytes, worksheet_path: str) -> list[str]:
    """The merged ranges of one sheet, read from its XML (a read-only workbook does not expose them)."""
    ranges = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open(worksheet_path.lstrip("/")) as src:
        # The stdlib parser resolves no external entities and expat >= 2.4 refuses entity expansion
        # bombs; the sheet is also size-checked by check_container before it gets here.
        for _event, element in iterparse(src):  # noqa: S314
            if element.tag.endswith("}mergeCell"):
                ref = element.get("ref")
                if ref:
                    ranges.append(ref)
            if not element.tag.endswith("}mergeCells"):
                element.clear()
    return ranges


# --------------------------------------------------------------------------------------------------
# Parse: no database


def parse_workbook(data: bytes, filename: str = "") -> ParsedWorkbook:
    """Read an uploaded workbook into entries with items, and every problem found on the way."""
    parsed = ParsedWorkbook()
    reason = check_container(data, filename)
    if reason:
        parsed.add(_("文件"), None, "", "", filename, reason)
        return parsed
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on a broken package; all mean the same to the user
        parsed.add(_("文件"), None, "", "", filename, _("文件已损坏或不是 Excel 工作簿（.xlsx），无法打开"))
        return parsed
    try:
        sheets = {name.strip(): wb[name] for name in wb.sheetnames}  # "信息资源 " is still the sheet
        missing = [name for name in (ENTRY_SHEET, ITEM_SHEET) if name not in sheets]
        for name in missing:
            parsed.add(name, None, "", "", "", _("缺少工作表「%(sheet)s」（现有：%(found)s），请使用下载的模板") % {
                "sheet": name, "found": "、".join(wb.sheetnames)})
        if ENTRY_SHEET in missing:
            return parsed
        for name in (ENTRY_SHEET, ITEM_SHEET):
            if name in missing:
                continue
            # _worksheet_path: where the read-only sheet's XML lives in the package (openpyxl has no public name).
            for ref in _merged_ranges(data, sheets[name]._worksheet_path):
                top_left = ref.split(":")[0]
                letters = "".join(ch for ch in top_left if ch.isalpha())
                parsed.add(name, int(top_left[len(letters):]), letters, "", ref,
                           _("不允许合并单元格（%(ref)s），请取消合并并在每一行填写完整的值") % {"ref": ref})
        by_seq = _parse_entries(sheets[ENTRY_SHEET], parsed)
        if ITEM_SHEET not in missing:
            _parse_items(sheets[ITEM_SHEET], parsed, by_seq)
    except Exception:  # a package that opens but whose sheet XML is broken: the user's file, not our bug
        logger.warning("unreadable workbook %r", filename, exc_info=True)
        parsed.entries.clear()
        message = _("文件内容已损坏，无法读取，请在 Excel 中打开后另存为 .xlsx 再上传")
        parsed.add(_("文件"), None, "", "", filename, message)
    finally:
        wb.close()
    return parsed


def _rows(ws, limit: int, width: int, parsed: ParsedWorkbook) -> Iterator[tuple[int, tuple]]:
    """Non-blank rows below the header (first `width` columns), numbered as Excel numbers them; stops past
    `limit` data rows."""
    count = 0
    for number, row in enumerate(ws.iter_rows(min_row=2, max_col=width, values_only=True), start=2):
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
            continue
        count += 1
        if count > limit:
            parsed.add(ws.title, number, "", "", "", _("行数超过上限 %(n)s 行，请分批导入") % {"n": limit})
            return
        yield number, row


def _read_header(ws, columns: list[Column], parsed: ParsedWorkbook) -> dict[int, Column] | None:
    """Map sheet column index -> Column; report unknown, repeated and missing headers."""
    header_row = next(ws.iter_rows(min_row=1, max_row=1, max_col=MAX_COLUMNS, values_only=True), ())
    known: dict[str, Column] = {}
    for col in columns:
        for name in (col.header, *col.aliases):
            known[_normal(name)] = col
    found: dict[int, Column] = {}
    seen: dict[str, str] = {}
    for index, raw in enumerate(header_row):
        if raw is None or not str(raw).strip():
            continue
        letter = get_column_letter(index + 1)
        key = _normal(_HEADER_NOTE.sub("", str(raw)).replace("*", ""))
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
    missing = [c.header for c in columns if c.field not in seen]
    for header in missing:
        parsed.add(ws.title, 1, "", header, "", _("缺少列「%(h)s」，请使用下载的模板") % {"h": header})
    if not header_row or not found:
        return None
    return found


def _cell_value(col: Column, raw: Any) -> tuple[Any, str | None]:
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
        key = _normal(str(int(raw) if isinstance(raw, float) and raw.is_integer() else raw))
        if key in _TRUE:
            return True, None
        if key in _FALSE:
            return False, None
        return None, _("「%(h)s」应填「是」或「否」") % {"h": col.header}
    if kind == "date":
        return _parse_date(raw, col)
    if kind == "choice":
        value = _lookup(col.choices).get(_normal(str(raw)))
        if value is None:
            return None, _("「%(v)s」不是有效的%(h)s，可选值：%(all)s") % {
                "v": raw, "h": col.header, "all": "、".join(label for _v, label in _zh_labels(col.choices))}
        return value, None
    if kind == "multi":
        table = _lookup(col.choices)
        values, bad = [], []
        for part in _SPLIT_MULTI.split(str(raw)):
            if not part:
                continue
            value = table.get(_normal(part))
            if value is None:
                bad.append(part)
            elif value not in values:
                values.append(value)
        if bad:
            return None, _("「%(v)s」不是有效的%(h)s，可选值：%(all)s（多个用「、」分隔）") % {
                "v": "、".join(bad), "h": col.header, "all": "、".join(label for _v, label in _zh_labels(col.choices))}
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
    columns = _read_header(ws, entry_columns(), parsed)
    if columns is None:
        return {}
    parsed.entry_letters = {c.field: get_column_letter(i + 1) for i, c in columns.items()}
    by_seq: dict[str, ParsedEntry] = {}
    seen: dict[str, dict[Any, int]] = {"code": {}, "name": {}}
    for number, row in _rows(ws, MAX_ENTRY_ROWS, max(columns) + 1, parsed):
        values: dict[str, Any] = {}
        for index, col in columns.items():
            raw = row[index] if index < len(row) else None
            value, message = _cell_value(col, raw)
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
                parsed.add(ENTRY_SHEET, number, parsed.entry_letters.get(key), _ENTRY_HEADERS[key], value,
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
    columns = _read_header(ws, item_columns(), parsed)
    if columns is None:
        return
    parsed.item_letters = {c.field: get_column_letter(i + 1) for i, c in columns.items()}
    for number, row in _rows(ws, MAX_ITEM_ROWS, max(columns) + 1, parsed):
        values: dict[str, Any] = {}
        failed = False
        for index, col in columns.items():
            raw = row[index] if index < len(row) else None
            value, message = _cell_value(col, raw)
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


# --------------------------------------------------------------------------------------------------
# Validate: reads the database, writes nothing

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"


def validate_import(parsed: ParsedWorkbook, department) -> dict[int, tuple[str, Any]]:
    """Add the database-dependent problems to `parsed.errors`; returns {entry row: (action, existing entry)}.

    Checks the provider columns against the caller's department, the classification codes, which
    existing entry a row's 信息资源代码 names (own department; editable, or else unchanged), same-named
    entries already in the list, and core's `entry_problems` (required fields, sharing rules, items…).
    """
    from catalog.models import CatalogEntry, Classification
    from catalog.services import entry_problems

    letters = parsed.entry_letters
    names = {department.name, department.short_name}
    class_codes = {e.classification_code for e in parsed.entries if e.classification_code}
    classifications = {c.code: c for c in Classification.objects.filter(code__in=class_codes)}
    codes = {e.code for e in parsed.entries if e.code}
    by_code = {
        e.code: e for e in CatalogEntry.objects.filter(code__in=codes).select_related("provider")
        .prefetch_related("items")
    }
    own_names = dict(CatalogEntry.objects.filter(provider=department).values_list("name", "pk"))
    plan: dict[int, tuple[str, Any]] = {}
    for entry in parsed.entries:
        row = entry.row
        if entry.provider_name and entry.provider_name not in names:
            parsed.add(ENTRY_SHEET, row, letters.get("provider"), "提供方", entry.provider_name,
                       _("只能导入本部门（%(dept)s）的目录，提供方「%(name)s」不是本部门") % {
                           "dept": department.name, "name": entry.provider_name})
        if entry.provider_code and entry.provider_code != department.credit_code:
            parsed.add(ENTRY_SHEET, row, letters.get("provider_code"), "提供方代码", entry.provider_code,
                       _("提供方代码应为本部门的统一社会信用代码 %(code)s") % {"code": department.credit_code})
        if entry.classification_code:
            classification = classifications.get(entry.classification_code)
            if classification is None:
                parsed.add(ENTRY_SHEET, row, letters.get("classification"), "信息资源分类", entry.classification_code,
                           _("分类代码「%(code)s」不存在，请按「说明」工作表中的分类代码表填写") % {
                               "code": entry.classification_code})
            else:
                entry.values["classification"] = classification
        target = _target(parsed, entry, department, by_code)
        name = entry.values.get("name")
        if name and name in own_names and (target is None or own_names[name] != target.pk):
            parsed.add(ENTRY_SHEET, row, letters.get("name"), "信息资源名称", name,
                       _("本部门目录清单中已有同名信息资源；修改已有条目请在「信息资源代码」列填写它的代码"))
        if any(i.values.get("_invalid") for i in entry.items) or _has_cell_errors(parsed, row):
            continue  # core's checks on half-read values would only repeat the cell errors
        if target is not None and _same_content(target, entry):
            plan[row] = (UNCHANGED, target)
            continue
        if target is not None and target.state not in EDITABLE_STATES:
            parsed.add(ENTRY_SHEET, row, letters.get("code"), "信息资源代码", entry.code,
                       _("「%(name)s」当前状态为「%(state)s」，内容不能通过导入修改（已发布的条目请提交目录更新申请）")
                       % {"name": target.name, "state": _label(EntryState, target.state)})
            continue
        for key, messages in entry_problems(entry_values(entry, department), [i.values for i in entry.items]).items():
            _map_problem(parsed, entry, key, messages)
        plan[row] = (CREATE, None) if target is None else (UPDATE, target)
    return plan


def _target(parsed: ParsedWorkbook, entry: ParsedEntry, department, by_code):
    """The existing entry a row's code names, or None for a new one; reports a code the row may not use."""
    if not entry.code:
        return None
    letter = parsed.entry_letters.get("code")
    target = by_code.get(entry.code)
    if target is None:
        parsed.add(ENTRY_SHEET, entry.row, letter, "信息资源代码", entry.code,
                   _("信息资源代码「%(code)s」不存在；新增条目请将代码留空，由系统按编码规则生成")
                   % {"code": entry.code})
        return None
    if target.provider_id != department.pk:
        parsed.add(ENTRY_SHEET, entry.row, letter, "信息资源代码", entry.code,
                   _("信息资源代码「%(code)s」已被%(dept)s的「%(name)s」使用，不能重复") % {
                       "code": entry.code, "dept": target.provider.name, "name": target.name})
        return None
    return target


def _same_content(target, entry: ParsedEntry) -> bool:
    """Whether a row says exactly what the existing entry holds (so importing it would change nothing).

    Compared the way core's services clean values, over the fields a department fills in.
    """
    from catalog.services import ENTRY_FIELDS, ITEM_FIELDS, clean_items, clean_values

    proposed = clean_values(entry.values)
    for name in ENTRY_FIELDS:
        if name == "classification":
            if proposed[name] is None or proposed[name].pk != target.classification_id:
                return False
        elif proposed[name] != getattr(target, name):
            return False
    current = [{f: getattr(i, f) for f in ITEM_FIELDS} for i in sorted(target.items.all(), key=lambda i: i.position)]
    return current == clean_items([i.values for i in entry.items])


def _has_cell_errors(parsed: ParsedWorkbook, row: int) -> bool:
    return any(e.sheet == ENTRY_SHEET and e.row == row for e in parsed.errors)


def entry_values(entry: ParsedEntry, department) -> dict[str, Any]:
    """The values dict core's services take for one parsed entry."""
    values = dict(entry.values)
    values["provider"] = department
    values["provider_code"] = department.credit_code
    return values


_ENTRY_HEADERS = {c.field: c.header for c in entry_columns()}
_ITEM_HEADERS = {c.field: c.header for c in item_columns()}


def _map_problem(parsed: ParsedWorkbook, entry: ParsedEntry, key: str, messages) -> None:
    """Put one `entry_problems` / PortalError.errors key back on the cell it came from."""
    if isinstance(messages, str):
        messages = [messages]
    match = re.fullmatch(r"items\.(\d+)\.(\w+)", key) or re.fullmatch(r"items\.(\d+)", key)
    for message in messages:
        if match:
            index = int(match.group(1))
            item_field = match.group(2) if match.lastindex and match.lastindex >= 2 else ""
            item = entry.items[index] if index < len(entry.items) else None
            value = item.values.get(item_field, "") if item and item_field else ""
            if isinstance(value, bool):
                value = "是" if value else "否"
            if item is not None:
                parsed.add(ITEM_SHEET, item.row, parsed.item_letters.get(item_field, ""),
                           _ITEM_HEADERS.get(item_field, item_field), value, message)
                continue
            parsed.add(ENTRY_SHEET, entry.row, "", "信息项", "", message)
            continue
        name = column_field = key.split(".")[0]
        value = entry.values.get(name, "")
        if name == "classification":
            value = entry.classification_code
        elif isinstance(value, list):
            value = "、".join(str(v) for v in value)
        elif name in _CHOICE_FIELDS and value:
            value = _label(_CHOICE_FIELDS[name], value)
        header = _ENTRY_HEADERS.get(column_field, "信息项" if name == "items" else "")
        parsed.add(ENTRY_SHEET, entry.row, parsed.entry_letters.get(column_field, ""), header, value, message)


_CHOICE_FIELDS = {c.field: c.choices for c in entry_columns() if c.kind == "choice"}


# --------------------------------------------------------------------------------------------------
# Import: all rows in one transaction, or none


class _Rollback(Exception):
    pass


_IMPORT_LOCK = 0x4A5A0E1  # pg advisory lock namespace (with the department id)


def import_catalog(*, actor, department, data: bytes, filename: str = "") -> ImportResult:
    """Import an uploaded workbook into `department`'s catalog list; nothing is saved if any cell is wrong.

    New rows create entries, rows naming an own draft or returned entry update it (both through core's
    `catalog_entry_save`), rows identical to what an entry holds are left alone. Writes one audit event
    `catalog.excel.imported`, with result failure and the error count when nothing was imported.
    """
    from catalog.services import catalog_entry_save

    parsed = parse_workbook(data, filename)
    result = ImportResult(errors=parsed.errors)
    if not parsed.errors:
        try:
            with transaction.atomic():
                # One import per department at a time: the same file uploaded twice in parallel would
                # otherwise pass the same-name check twice and file every entry twice.
                with connection.cursor() as cur:
                    cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_IMPORT_LOCK, department.pk])
                plan = validate_import(parsed, department)
                if parsed.errors:
                    raise _Rollback
                for entry in parsed.entries:
                    action, target = plan[entry.row]
                    if action == UNCHANGED:
                        result.unchanged += 1
                        continue
                    if _save_row(parsed, entry, actor, department, target, catalog_entry_save):
                        result.created += action == CREATE
                        result.updated += action == UPDATE
                        result.items += len(entry.items)
                if parsed.errors:
                    raise _Rollback
                audit.record(
                    actor=actor, action="catalog.excel.imported", department=department,
                    data={"filename": filename, "created": result.created, "updated": result.updated,
                          "unchanged": result.unchanged, "items": result.items},
                )
        except _Rollback:
            result.created = result.updated = result.unchanged = result.items = 0
    result.errors = _sorted(parsed.errors)
    if result.errors:
        audit.record(
            actor=actor, action="catalog.excel.imported", department=department, result=AuditResult.FAILURE,
            data={"filename": filename, "errors": len(result.errors), "entries": len(parsed.entries),
                  "items": parsed.item_count},
        )
    return result


def _save_row(parsed: ParsedWorkbook, entry: ParsedEntry, actor, department, target, save) -> bool:
    """Save one row in a savepoint; a refusal is put on the row's cells (and the file rolled back later)."""
    try:
        with transaction.atomic():
            save(actor=actor, department=department, values=entry_values(entry, department),
                 items=[dict(i.values) for i in entry.items], entry=target)
    except PortalError as exc:
        if exc.errors:
            for key, messages in exc.errors.items():
                _map_problem(parsed, entry, key, messages)
        else:
            parsed.add(ENTRY_SHEET, entry.row, "", "", entry.values.get("name", ""), exc.detail)
        return False
    except IntegrityError:
        parsed.add(ENTRY_SHEET, entry.row, "", "", entry.values.get("name", ""),
                   _("保存时与已有数据冲突（可能有人同时修改），请稍后重试"))
        return False
    return True


def _sorted(errors: list[CellError]) -> list[CellError]:
    order = {_("文件"): 0, ENTRY_SHEET: 1, ITEM_SHEET: 2}

    def key(e: CellError):
        letter = e.column or ""
        return (order.get(e.sheet, 3), e.row or 0, len(letter), letter)

    return sorted(errors, key=key)


# --------------------------------------------------------------------------------------------------
# Export and the blank template

_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_REQUIRED_FONT = Font(bold=True, color="C00000")
_HEADER_FONT = Font(bold=True)
VALIDATION_ROWS = 2000


def _header_cells(ws, columns: list[Column]) -> list[WriteOnlyCell]:
    cells = []
    for col in columns:
        cell = WriteOnlyCell(ws, value=col.header)
        cell.font = _REQUIRED_FONT if col.required else _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        if col.note:
            cell.comment = Comment(col.note, "焦作市大数据平台")
        cells.append(cell)
    return cells


def _text_cell(ws, value: Any) -> WriteOnlyCell:
    """A cell that is text even when the text starts with '=' (no formula injection through exports)."""
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def _date_cell(ws, value: dt.date | None) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    if value is not None:
        cell.number_format = "yyyy-mm-dd"
    return cell


def _list_validation(formula: str, sqref: str, *, strict: bool = True, prompt: str = "") -> DataValidation:
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
            labels = [label for _v, label in _zh_labels(col.choices)]
            ws.data_validations.append(_list_validation(_inline(labels), sqref))
        elif col.kind == "multi":
            labels = [label for _v, label in _zh_labels(col.choices)]
            # A drop-down for one value; several values typed by hand are allowed (no error box).
            ws.data_validations.append(_list_validation(_inline(labels), sqref, strict=False, prompt=col.note))
        elif col.kind == "bool":
            ws.data_validations.append(_list_validation('"是,否"', sqref))
        elif col.field == "classification" and classification_range:
            ws.data_validations.append(_list_validation(classification_range, sqref, strict=False, prompt=col.note))
        elif col.kind == "date":
            dv = DataValidation(type="date", operator="greaterThan", formula1="1", allow_blank=True,
                                showErrorMessage=True, errorTitle="日期无效", error="请填写 YYYY-MM-DD 格式的日期")
            dv.add(sqref)
            ws.data_validations.append(dv)


def _note_sheet(wb: Workbook, classifications: list[tuple[str, str]]) -> str | None:
    """The「说明」sheet: what each column means, the value lists, and the classification code table.

    Returns the range of「代码 名称」cells the drop-down of「信息资源分类」offers (None without a tree).
    """
    ws = wb.create_sheet(NOTE_SHEET)
    for letter, width in (("A", 18), ("B", 22), ("C", 70), ("D", 30)):
        ws.column_dimensions[letter].width = width
    rows = 0

    def append(cells) -> int:
        nonlocal rows
        ws.append(cells)
        rows += 1
        return rows

    def bold(*values):
        cells = [WriteOnlyCell(ws, value=v) for v in values]
        for cell in cells:
            cell.font = _HEADER_FONT
            cell.fill = _HEADER_FILL
        return cells

    title = WriteOnlyCell(ws, value="政务信息资源目录导入模板（依据《政务信息资源目录编制指南（试行）》）")
    title.font = Font(bold=True, size=13)
    append([title])
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
                values = "、".join(label for _v, label in _zh_labels(col.choices))
                text = f"{text}；可选值：{values}" if text else f"可选值：{values}"
            append([sheet, _text_cell(ws, col.header + ("（必填）" if col.required else "")), text])
    append([])
    append(bold("分类代码表", "分类代码", "分类名称", "下拉选项（代码 名称）"))
    if not classifications:
        append(["", "", "（暂无分类，请联系市大数据局维护分类体系）"])
        return None
    first = last = 0
    for code, name in classifications:
        last = append(["", _text_cell(ws, code), _text_cell(ws, name), _text_cell(ws, f"{code} {name}")])
        first = first or last
    return f"'{NOTE_SHEET}'!$D${first}:$D${last}"


def _classification_table() -> list[tuple[str, str]]:
    """The classifications an entry may use: active, 项 or finer (core refuses a bare 类)."""
    from catalog.models import Classification

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
    entry_ws.append(_header_cells(entry_ws, e_cols))
    item_ws.append(_header_cells(item_ws, i_cols))
    n_entries = n_items = 0
    for seq, entry in enumerate(entries, start=1):
        n_entries += 1
        entry_ws.append(_entry_row(entry_ws, seq, entry))
        for item in entry.items.all():
            n_items += 1
            item_ws.append(_item_row(item_ws, seq, item))
    _add_validations(entry_ws, e_cols, max(VALIDATION_ROWS, n_entries + 500), classification_range)
    _add_validations(item_ws, i_cols, max(VALIDATION_ROWS * 10, n_items + 2000), None)
    wb.save(out)
    return n_entries, n_items


def _yes_no(flag: bool) -> str:
    return "是" if flag else "否"


def _entry_row(ws, seq: int, entry) -> list:
    return [
        seq,
        _text_cell(ws, entry.code or ""),
        _text_cell(ws, entry.name),
        _text_cell(ws, entry.classification.code if entry.classification_id else ""),
        _text_cell(ws, entry.provider.name),
        _text_cell(ws, entry.provider_code or entry.provider.credit_code),
        _text_cell(ws, entry.summary),
        _label(FormatClass, entry.format_class) if entry.format_class else "",
        _text_cell(ws, entry.format_type or ""),
        _label(ShareType, entry.share_type) if entry.share_type else "",
        _text_cell(ws, entry.share_condition or ""),
        _text_cell(ws, entry.no_share_basis or ""),
        "、".join(_label(ExchangeMethod, m) for m in (entry.exchange_methods or [])),
        _label(OpenType, entry.open_type) if entry.open_type else "",
        _text_cell(ws, entry.open_condition or ""),
        _label(UpdateCycle, entry.update_cycle) if entry.update_cycle else "",
        _date_cell(ws, entry.publish_date),
        _text_cell(ws, "、".join(entry.related_codes or [])),
        _yes_no(entry.is_secret),
    ]


def _item_row(ws, seq: int, item) -> list:
    return [
        seq,
        _text_cell(ws, item.name),
        _label(DataType, item.data_type) if item.data_type else "",
        item.length,
        _yes_no(item.is_subject_key),
        _yes_no(item.is_base_item),
        _text_cell(ws, item.description or ""),
    ]


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
    from catalog.selectors import catalog_entry_list

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
    from catalog.selectors import master_catalog

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
