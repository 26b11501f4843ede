"""Check a parsed workbook against the database: provider, classification codes, which entry a row names,
same-named entries, and the catalog's own rules (`catalog.validation.entry_problems`). Writes nothing."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _

from ..choices import EDITABLE_STATES, EntryState
from ..declarations import fill_declarations
from ..models import ENTRY_FIELDS, ITEM_FIELDS, CatalogEntry, Classification
from ..validation import clean_items, clean_values, entry_problems
from .columns import CHOICE_FIELDS, ENTRY_HEADERS, ENTRY_SHEET, ITEM_HEADERS, ITEM_SHEET, zh_label
from .reading import ParsedEntry, ParsedWorkbook

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"


def validate_import(parsed: ParsedWorkbook, department) -> dict[int, tuple[str, Any]]:
    """Add the database-dependent problems to `parsed.errors`; returns {entry row: (action, existing entry)}.

    Checks the provider columns against the caller's department, the classification codes, which
    existing entry a row's 信息资源代码 names (own department; editable, or else unchanged), same-named
    entries already in the list, and core's `entry_problems` (required fields, sharing rules, items…).
    """
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
                       % {"name": target.name, "state": zh_label(EntryState, target.state)})
            continue
        for key, messages in entry_problems(entry_values(entry, department), [i.values for i in entry.items]).items():
            map_problem(parsed, entry, key, messages)
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
    proposed = clean_values(entry.values)
    for name in ENTRY_FIELDS:
        if name == "classification":
            if proposed[name] is None or proposed[name].pk != target.classification_id:
                return False
        elif proposed[name] != getattr(target, name):
            return False
    current = [{f: getattr(i, f) for f in ITEM_FIELDS} for i in sorted(target.items.all(), key=lambda i: i.position)]
    # Blank declarations are proposed on saving (catalog.declarations): compare what would be saved.
    return current == fill_declarations(clean_items([i.values for i in entry.items]))


def _has_cell_errors(parsed: ParsedWorkbook, row: int) -> bool:
    return any(e.sheet == ENTRY_SHEET and e.row == row for e in parsed.errors)


def entry_values(entry: ParsedEntry, department) -> dict[str, Any]:
    """The values dict core's services take for one parsed entry."""
    values = dict(entry.values)
    values["provider"] = department
    values["provider_code"] = department.credit_code
    return values



def map_problem(parsed: ParsedWorkbook, entry: ParsedEntry, key: str, messages) -> None:
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
                           ITEM_HEADERS.get(item_field, item_field), value, message)
                continue
            parsed.add(ENTRY_SHEET, entry.row, "", "信息项", "", message)
            continue
        name = column_field = key.split(".")[0]
        value = entry.values.get(name, "")
        if name == "classification":
            value = entry.classification_code
        elif isinstance(value, list):
            value = "、".join(str(v) for v in value)
        elif name in CHOICE_FIELDS and value:
            value = zh_label(CHOICE_FIELDS[name], value)
        header = ENTRY_HEADERS.get(column_field, "信息项" if name == "items" else "")
        parsed.add(ENTRY_SHEET, entry.row, parsed.entry_letters.get(column_field, ""), header, value, message)

