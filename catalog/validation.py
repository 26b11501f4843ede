"""Entry validation (pure: reads the database for reference data, writes nothing).

What is wrong with an entry's values and data items (`entry_problems`), the one-data-one-source check
(`one_source_problems`), and the cleaning every writer applies first (`clean_values`, `clean_items`). The
services, the Excel importer and the selectors (item names compared by `item_key`) all use these.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _

from portal.errors import PortalError

from .choices import (
    STRUCTURED_FORMATS,
    DataType,
    ExchangeMethod,
    FormatClass,
    OpenType,
    Sensitivity,
    ShareType,
    UpdateCycle,
)
from .models import ENTRY_FIELDS, CatalogEntry, Classification
from .one_source import base_item_claimant

_TEXT_LIMITS = {"name": 200, "format_type": 100}
CODE_PATTERN = re.compile(r"^[1-3][0-9]{0,15}/[0-9A-Z]{1,47}$")


def clean_text(value: Any) -> str:
    """A typed value as stored text: NFC-normalised and trimmed (None is "")."""
    if value is None:
        return ""
    return unicodedata.normalize("NFC", str(value)).strip()


def item_key(name: str) -> str:
    """A data-item name as compared across entries: full-width folded, spaces and case ignored."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name or "")).lower()


def _resolve_classification(value: Any) -> Classification | None:
    if isinstance(value, Classification):
        return value
    if value in (None, ""):
        return None
    text = str(value).strip()
    qs = Classification.objects.all()
    if isinstance(value, int) or (text.isdigit() and not text.startswith(("1", "2", "3"))):
        return qs.filter(pk=int(text)).first()
    return qs.filter(code=text).first() or (qs.filter(pk=int(text)).first() if text.isdigit() else None)


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "y", "on", "是"}
    return bool(value)


def clean_values(values: dict[str, Any]) -> dict[str, Any]:
    """The entry values with text trimmed, lists de-duplicated and the classification resolved."""
    out: dict[str, Any] = {}
    for name in ENTRY_FIELDS:
        value = values.get(name)
        if name == "classification":
            out[name] = _resolve_classification(value)
        elif name in ("exchange_methods", "related_codes"):
            seq = value if isinstance(value, (list, tuple, set)) else ([] if value in (None, "") else [value])
            cleaned = [clean_text(v).upper() if name == "related_codes" else clean_text(v) for v in seq]
            out[name] = list(dict.fromkeys(v for v in cleaned if v))
        elif name == "is_secret":
            out[name] = _bool(value)
        elif name == "open_type":
            out[name] = clean_text(value) or OpenType.CLOSED
        else:
            out[name] = clean_text(value)
    if out["exchange_methods"]:
        order = [m.value for m in ExchangeMethod]
        out["exchange_methods"].sort(key=lambda m: order.index(m) if m in order else len(order))
    return out


def clean_items(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        length = item.get("length")
        if isinstance(length, str):
            length = length.strip() or None
        if length is not None and not isinstance(length, int):
            try:
                number = float(length)
                length = int(number) if number.is_integer() else length
            except (TypeError, ValueError):
                pass
        out.append(
            {
                "name": clean_text(item.get("name")),
                "data_type": clean_text(item.get("data_type")).upper(),
                "length": length,
                "is_subject_key": _bool(item.get("is_subject_key")),
                "is_base_item": _bool(item.get("is_base_item")),
                "description": clean_text(item.get("description")),
                # Blank: proposed from the names when saved (catalog.declarations.fill_declarations).
                "sensitivity": clean_text(item.get("sensitivity")).lower(),
                "derived_from": clean_text(item.get("derived_from")),
            }
        )
    return out


def _choice_ok(choices, value: str) -> bool:
    return value in choices.values


def entry_problems(values: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, list[str]]:
    """What is wrong with one entry's values and items, keyed by field (`items.<i>.<field>` for items).

    Pure validation: reads reference data (classifications, existing codes), writes nothing. Values use
    the model's field names and the choices' values; `classification` may be an instance, its code or
    its pk. Keys the service sets itself (provider, provider_code, code, state, version, publish_date)
    are ignored. Messages are Chinese. An empty dict means valid.
    """
    problems: dict[str, list[str]] = {}

    def add(key: str, message: str) -> None:
        problems.setdefault(key, []).append(message)

    v = clean_values(values)
    raw_cls = values.get("classification")
    if v["classification"] is None:
        add("classification", _("请选择信息资源分类") if raw_cls in (None, "") else _("信息资源分类不存在"))
    elif not v["classification"].is_active:
        add("classification", _("该分类已停用，请选择其他分类"))
    elif v["classification"].level < 2:
        add("classification", _("请选择到“项”或更细的分类，不能只选“类”"))
    for name, label in (("name", _("信息资源名称")), ("summary", _("信息资源摘要")), ("format_type", _("格式类型"))):
        if not v[name]:
            add(name, _("请填写%(field)s") % {"field": label})
        elif name in _TEXT_LIMITS and len(v[name]) > _TEXT_LIMITS[name]:
            add(name, _("不能超过 %(n)d 个字") % {"n": _TEXT_LIMITS[name]})
    for name, choices, label in (
        ("format_class", FormatClass, _("格式分类")),
        ("share_type", ShareType, _("共享类型")),
        ("open_type", OpenType, _("开放属性")),
        ("update_cycle", UpdateCycle, _("更新周期")),
    ):
        if not v[name]:
            add(name, _("请选择%(field)s") % {"field": label})
        elif not _choice_ok(choices, v[name]):
            add(name, _("%(field)s取值无效：%(value)s") % {"field": label, "value": v[name]})
    share = v["share_type"]
    if share == ShareType.CONDITIONAL and not v["share_condition"]:
        add("share_condition", _("有条件共享须说明共享条件（共享范围、条件和用途）"))
    if share == ShareType.NONE and not v["no_share_basis"]:
        add("no_share_basis", _("不予共享须提供法律、行政法规或党中央、国务院政策依据"))
    bad_methods = [m for m in v["exchange_methods"] if not _choice_ok(ExchangeMethod, m)]
    if bad_methods:
        add("exchange_methods", _("共享方式取值无效：%(value)s") % {"value": "、".join(bad_methods)})
    elif share in (ShareType.UNCONDITIONAL, ShareType.CONDITIONAL) and not v["exchange_methods"]:
        add("exchange_methods", _("请至少选择一种共享方式"))
    if v["open_type"] == OpenType.CONDITIONAL and not v["open_condition"]:
        add("open_condition", _("有条件开放须说明开放条件"))
    if share == ShareType.NONE and v["open_type"] in (OpenType.OPEN, OpenType.CONDITIONAL):
        add("open_type", _("不予共享的资源不能向社会开放"))
    if v["is_secret"]:
        add("is_secret", _("涉密政务数据资源不得在大数据平台编目报送，请按保密规定另行管理"))
    bad_codes = [c for c in v["related_codes"] if not CODE_PATTERN.match(c)]
    if bad_codes:
        add("related_codes", _("关联资源代码格式不正确：%(codes)s") % {"codes": "、".join(bad_codes)})
    elif v["related_codes"]:
        known = set(CatalogEntry.objects.filter(code__in=v["related_codes"]).values_list("code", flat=True))
        missing = [c for c in v["related_codes"] if c not in known]
        if missing:
            add("related_codes", _("关联资源代码不存在：%(codes)s") % {"codes": "、".join(missing)})

    cleaned = clean_items(items)
    if not cleaned and v["format_class"] in STRUCTURED_FORMATS:
        add("items", _("数据库、电子表格和服务接口类资源须填写信息项"))
    seen: dict[str, int] = {}
    subject_key_at = None
    for i, item in enumerate(cleaned):
        key = f"items.{i}"
        if not item["name"]:
            add(f"{key}.name", _("请填写信息项名称"))
        elif len(item["name"]) > 100:
            add(f"{key}.name", _("信息项名称不能超过 100 个字"))
        else:
            normal = item_key(item["name"])
            if normal in seen:
                add(f"{key}.name", _("信息项名称与第 %(n)d 项重复") % {"n": seen[normal] + 1})
            else:
                seen[normal] = i
        if not item["data_type"]:
            add(f"{key}.data_type", _("请选择数据类型"))
        elif not _choice_ok(DataType, item["data_type"]):
            add(f"{key}.data_type", _("数据类型取值无效：%(value)s") % {"value": item["data_type"]})
        length = item["length"]
        if length is not None and (
            not isinstance(length, int) or isinstance(length, bool) or not 0 < length <= 1_000_000
        ):
            add(f"{key}.length", _("数据长度须为正整数"))
        if item["is_subject_key"]:
            if subject_key_at is not None:
                add(
                    f"{key}.is_subject_key",
                    _("每个资源只能有一个主体标识信息项（已在第 %(n)d 项）") % {"n": subject_key_at + 1},
                )
            else:
                subject_key_at = i
        if len(item["description"]) > 500:
            add(f"{key}.description", _("说明不能超过 500 个字"))
        if item["sensitivity"] and not _choice_ok(Sensitivity, item["sensitivity"]):
            add(f"{key}.sensitivity", _("敏感程度取值无效：%(value)s") % {"value": item["sensitivity"]})
    names = {item_key(item["name"]) for item in cleaned}
    for i, item in enumerate(cleaned):
        source = item["derived_from"]
        if source and (item_key(source) not in names or item_key(source) == item_key(item["name"])):
            add(f"items.{i}.derived_from", _("“派生自”须为本资源的另一信息项：%(value)s") % {"value": source})
    return problems


def one_source_problems(entry_id: int | None, items: list[dict[str, Any]]) -> dict[str, list[str]]:
    """R12.1 一数一源: a base data item already published by an earlier source is refused, naming it."""
    problems: dict[str, list[str]] = {}
    for i, item in enumerate(items):
        if not item.get("is_base_item") or item.get("is_subject_key"):
            continue  # a subject key refers to the subject; it does not claim to provide it
        claim = base_item_claimant(item.get("name", ""), entry_id)
        if claim:
            department, source = claim
            problems[f"items.{i}.is_base_item"] = [
                _("基础数据项“%(item)s”已由%(dept)s的“%(entry)s”（%(code)s）提供，一数一源，请改为申请共享")
                % {"item": item.get("name", ""), "dept": department.name, "entry": source.name, "code": source.code}
            ]
    return problems


def publishable_problems(
    entry_id: int | None, values: dict[str, Any], items: list[dict[str, Any]]
) -> dict[str, list[str]]:
    """What keeps an entry from going on to review or publication: its own problems first, else R12.1's."""
    return entry_problems(values, items) or one_source_problems(entry_id, items)


def raise_problems(problems: dict[str, list[str]]) -> None:
    """PortalError "invalid" naming the first problem, with all of them as `.errors`; nothing when empty."""
    if problems:
        first = next(iter(problems.values()))[0]
        raise PortalError(_("填写有误：%(first)s") % {"first": first}, code="invalid", errors=problems)

