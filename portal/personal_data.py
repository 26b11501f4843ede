"""Which data items are personal, and which are derived from another (R28.3): the name-based guess.

A catalog data item *declares* its sensitivity and, where it applies, the item of the same entry it is derived from
(catalog.models.DataItem.sensitivity / derived_from). This module only *proposes* that declaration from the items'
names — for the entry form, the API and the Excel import (the filer may change it, the reviewers see it) and for the
data migration that declared the items filed before (catalog 0003). Masking follows the declaration, never this guess
(aggregation.access.mask_kind). It lives in the kernel because both the catalog (proposals) and security (the
masks' shape) read it, and they may not import each other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# catalog.choices.Sensitivity values (the kernel does not import the catalog).
PUBLIC, PERSONAL, SENSITIVE = "public", "personal", "sensitive"

# Order matters: the first matching rule names the kind.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"统一社会信用代码|信用代码|组织机构代码|注册号"), "credit_code"),
    (re.compile(r"身份证|证件号|身份号码|公民身份"), "id_number"),
    (re.compile(r"手机|电话|联系方式|移动号码"), "phone"),
    (re.compile(r"住址|地址|居住地|户籍地|住所"), "address"),
    (re.compile(r"银行卡|账号|账户"), "generic"),
    # 姓名 of a person; names of organisations (单位名称, 企业名称) are public registration data.
    (re.compile(r"^(?!.*(单位|企业|机构|组织|项目|资源|商品|产品|字段))(.*姓名|.*人名称|姓名.*|.*(联系人|代表人|负责人|户主|监护人))$"),
     "name"),
)

# Kinds whose leak harms a person much more (GB/T 35273 附录B 个人敏感信息: 身份证件号码, 银行账户): 个人敏感信息.
_SENSITIVE_KINDS = ("id_number", "generic")

# What a GB 11643 citizen ID number gives away besides itself: its digits 7–14 are the birth date, digit 17 the sex.
# An item named <prefix> + one of these is derived from the ID number item with the same <prefix>
# (出生日期 ← 公民身份号码, 法定代表人性别 ← 法定代表人证件号码).
_DERIVED_FROM_ID = re.compile(r"^(?P<prefix>.*?)(出生日期|出生年月日|出生年月|出生年份|出生年|生日|性别|年龄|周岁)$")
# The ID item's name less its ID part: the prefix its derived items share.
_ID_SUFFIX = re.compile(
    r"(公民身份号码|公民身份证号码|身份证号码|身份证号|身份证件号码|身份证件号|证件号码|证件号|身份号码)$"
)


def sensitivity_of(item_name: str, data_type: str = "C") -> str | None:
    """The masking kind of a data item judged personal by its name; None for non-personal items."""
    name = (item_name or "").strip()
    if not name or data_type not in ("C", "M", ""):
        return None
    for pattern, kind in _RULES:
        if pattern.search(name):
            return None if kind == "credit_code" else kind
    return None


def propose(items: Iterable) -> dict[str, tuple[str, str]]:
    """{name: (sensitivity, derived_from name or "")} proposed for an entry's `items` (each a mapping or object with
    name, data_type and is_subject_key): personal by its name (sensitivity_of), sensitive personal for ID numbers
    and bank accounts, and the birth date / sex / age items derived from the ID number item they are read off."""
    rows = [_fields(i) for i in items]
    id_items = {}  # prefix → ID number item name (the subject key wins an unprefixed tie)
    for name, data_type, is_key in sorted(rows, key=lambda r: not r[2]):
        if sensitivity_of(name, data_type) == "id_number" or (is_key and _ID_SUFFIX.search(name)):
            id_items.setdefault(_ID_SUFFIX.sub("", name), name)
    proposals = {}
    for name, data_type, _is_key in rows:
        kind = sensitivity_of(name, data_type)
        source = ""
        match = _DERIVED_FROM_ID.match(name)
        if match and not kind:
            source = id_items.get(match.group("prefix"), "")
        if kind in _SENSITIVE_KINDS:
            sensitivity = SENSITIVE
        elif kind or source:
            sensitivity = PERSONAL
        else:
            sensitivity = PUBLIC
        proposals[name] = (sensitivity, source if source != name else "")
    return proposals


def _fields(item) -> tuple[str, str, bool]:
    get = item.get if isinstance(item, dict) else (lambda f, d=None: getattr(item, f, d))
    return (get("name", "") or "").strip(), get("data_type", "C") or "C", bool(get("is_subject_key", False))
