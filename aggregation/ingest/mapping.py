"""Header cleaning, the automatic column → data item mapping, and the one rule of a header "close" to an item.

A column is mapped automatically only when its header names an item (exactly, or ignoring brackets, spaces and
case: `auto_mapping`). A header that does not name an item but is **close** to one (`near_matches`) is never
dropped silently: the job stops at the mapping step (待确认映射) and the clerk confirms or ignores the column
(aggregation.services.ingest). "Close" is decided here, and only here:

1. the header and the item are in the same group of `SYNONYMS` (the names the common identity and address items go
   by in the departments' files: 身份证号 / 公民身份号码, 住址 / 户籍地址, 企业名称 / 单位名称 …), or
2. one contains the other (身份证号 in 身份证号码), or
3. their characters overlap: the Dice coefficient of their character sets, 2·|A∩B| / (|A| + |B|), is at least
   `SIMILARITY` (0.5: 单位地址 / 户籍地址 0.5 is close, 性别 / 姓名 0 and 民族 / 姓名 0 are not).

Headers and names are compared after `_loose` (no brackets, spaces, punctuation; lower case). A false alarm costs
the clerk one click on the mapping page; a miss loses a column of data — hence a generous rule.
"""

from __future__ import annotations

import re

from .validation import HALF_WIDTH

_HEADER_NOISE = re.compile(r"[\s\ufeff*＊:：]+")

SIMILARITY = 0.5

# Each group: names that mean the same item in the files departments send.
SYNONYMS: tuple[frozenset[str], ...] = tuple(frozenset(g) for g in (
    {"公民身份号码", "身份证号", "身份证号码", "身份证", "居民身份证号码", "证件号码", "证件号", "身份证件号码",
     "公民身份证号"},
    {"户籍地址", "住址", "户籍所在地", "家庭住址", "住所", "居住地址", "常住地址", "地址"},
    {"企业名称", "单位名称", "机构名称", "法人名称", "市场主体名称"},
    {"统一社会信用代码", "社会信用代码", "信用代码", "组织机构代码"},
    {"联系电话", "电话", "电话号码", "手机", "手机号", "手机号码", "联系方式"},
    {"姓名", "名字", "人员姓名"},
    {"法定代表人", "法人代表", "法人", "负责人"},
    {"出生日期", "出生年月", "生日"},
))


def clean_header(value) -> str:
    if value is None:
        return ""
    return _HEADER_NOISE.sub("", str(value).translate(HALF_WIDTH)).strip()


def _loose(name: str) -> str:
    return re.sub(r"[\s()（）\[\]【】_\-—·.]", "", name).lower()


def auto_mapping(columns: list[str], item_names: list[str]) -> dict[str, str]:
    """Columns whose header names an item (exactly, or ignoring brackets, spaces and case) → that item."""
    exact = {n: n for n in item_names}
    loose = {_loose(n): n for n in item_names}
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for col in columns:
        name = exact.get(col) or loose.get(_loose(col))
        if name and name not in used:
            mapping[col] = name
            used.add(name)
    return mapping


_GROUP_OF = {_loose(name): group for group in SYNONYMS for name in group}


def closeness(header: str, item: str) -> float:
    """How close a header is to an item's name, 0 … 1 (1: synonyms or one containing the other); see the module."""
    a, b = _loose(header), _loose(item)
    if not a or not b:
        return 0.0
    if a == b or (_GROUP_OF.get(a) is not None and _GROUP_OF.get(a) is _GROUP_OF.get(b)) or a in b or b in a:
        return 1.0
    sa, sb = set(a), set(b)
    return 2 * len(sa & sb) / (len(sa) + len(sb))


def near_matches(columns: list[str], item_names: list[str], mapping: dict[str, str]) -> dict[str, str]:
    """{column: item} for each column not in `mapping` whose header is close to an item not mapped yet (the
    closest; ties go to the item listed first). Two columns may be close to the same item: both are listed, the
    clerk decides which one it is."""
    taken = set(mapping.values())
    free = [n for n in item_names if n not in taken]
    out: dict[str, str] = {}
    for col in columns:
        if not col or col in mapping:
            continue
        best, score = None, 0.0
        for name in free:
            s = closeness(col, name)
            if s >= SIMILARITY and s > score:
                best, score = name, s
        if best:
            out[col] = best
    return out
