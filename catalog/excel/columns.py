"""The template's layout: its sheets and columns, and the choices' Chinese value lists (R8.1).

Cells carry the Chinese labels of the choices, whatever language the request speaks (the template is the
guide's); the reader maps typed labels, letters and the guide's short forms back to values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.utils import translation

from ..choices import DataType, ExchangeMethod, FormatClass, OpenType, Sensitivity, ShareType, UpdateCycle

ENTRY_SHEET = "信息资源"
ITEM_SHEET = "信息项"
NOTE_SHEET = "说明"


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
    header_optional: bool = False  # a file without this column is read all the same (export-only columns)


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
        Column("敏感程度", "sensitivity", "choice", Sensitivity, width=14, aliases=("个人信息",),
               note="非个人信息/个人信息/个人敏感信息；留空则按信息项名称建议"),
        Column("派生自", "derived_from", width=16, max_length=100,
               note="可由本资源哪一信息项推出（如出生日期、性别由公民身份号码推出）；留空则按名称建议"),
    ]


ENTRY_HEADERS = {c.field: c.header for c in entry_columns()}
ITEM_HEADERS = {c.field: c.header for c in item_columns()}

CHOICE_FIELDS = {c.field: c.choices for c in entry_columns() if c.kind == "choice"}


# --------------------------------------------------------------------------------------------------
# Value lists: Chinese labels, whatever language the request speaks (the template is the guide's)


@cache
def zh_labels(choices) -> list[tuple[str, str]]:
    """(value, Chinese label) of every choice."""
    with translation.override("zh-hans"):
        return [(str(value), str(label)) for value, label in choices.choices]


def label_key(text: str) -> str:
    """Case, full-width and spaces do not matter when matching a typed label."""
    text = text.translate(_FULLWIDTH).strip()
    return re.sub(r"\s+", "", text).upper()


_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


@cache
def lookup(choices) -> dict[str, str]:
    """Normalised label or value -> value, plus the guide's short forms."""
    table: dict[str, str] = {}
    for value, label in zh_labels(choices):
        table[label_key(label)] = value
        table[label_key(value)] = value
    if choices is DataType:
        for value, label in zh_labels(choices):
            table[label_key(label.rstrip(value))] = value  # 字符型 without its letter
    elif choices is OpenType:
        table[label_key("是")] = "open"
        table[label_key("否")] = "closed"
    elif choices is ExchangeMethod:
        # 2017 guide 共享方式类型 (cn-standards §1.3 c): 接口 / 文件 / 数据库
        table.setdefault(label_key("接口"), "api")
        table.setdefault(label_key("文件"), "download")
        table.setdefault(label_key("数据库"), "push")
    elif choices is UpdateCycle:
        for alias, value in (("不定期", "other"), ("按天", "daily"), ("按月", "monthly"), ("按季", "quarterly"),
                             ("按季度", "quarterly"), ("半年", "half_year"), ("每半年度", "half_year")):
            table.setdefault(label_key(alias), value)
    return table


def zh_label(choices, value: str) -> str:
    """The Chinese label of one value (an unknown value stays as it is)."""
    return dict(zh_labels(choices)).get(str(value), str(value))

