"""Display masking (脱敏, R28.3; cn-standards §4.2): what a reader without a full grant is shown.

A value is never replaced by its mask in the database: the true value stays there, encrypted. Each row's masked
forms are stored *beside* it (aggregation.models.Record.masked, written by the ingest pipeline): a mask depends
only on the value and the item's kind (`item_mask_kind`), never on the reader, so a masked export reads them as
they are instead of decrypting every value to mask it (sharing.export). They are exactly what every masked grant
shows. Masks are idempotent (masking a masked value changes nothing), which lets readers mask whatever they read.
"""

from __future__ import annotations

import re

KINDS = ("id_number", "credit_code", "name", "phone", "address", "generic")

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


def sensitivity_of(item_name: str, data_type: str = "C") -> str | None:
    """The masking kind of a data item judged personal by its name; None for non-personal items."""
    name = (item_name or "").strip()
    if not name or data_type not in ("C", "M", ""):
        return None
    for pattern, kind in _RULES:
        if pattern.search(name):
            return None if kind == "credit_code" else kind
    return None


KEY_KINDS = {"id_number": "id_number", "credit_code": "credit_code"}  # a dataset's key_kind → masking kind


def item_mask_kind(name: str, data_type: str = "C", *, key_kind: str | None = None,
                   encrypted: bool = False) -> str | None:
    """The masking kind of a dataset's item: the subject key's by the dataset's key kind (`key_kind` given for the key
    only; a credit code shows as it is), a personal item's by its name, "generic" for any other item stored
    encrypted; None when the item is shown as it is."""
    if key_kind is not None:
        return KEY_KINDS.get(key_kind, "generic")
    return sensitivity_of(name, data_type) or ("generic" if encrypted else None)


_ADDRESS_HEAD = re.compile(
    r"^((?:[^\d]*?(?:省|自治区))?(?:[^\d]*?市)?(?:[^\d]*?(?:区|县|市))?(?:[^\d]*?(?:街道|镇|乡))?)"
)


def mask(value: str, kind: str) -> str:
    """The value as shown to someone whose grant does not include the full field."""
    if value is None:
        return ""
    text = str(value)
    if not text:
        return text
    if kind == "credit_code":
        return text
    if kind == "id_number":
        return _keep(text, 6, 4) if len(text) > 10 else _keep(text, 1, 1)
    if kind == "phone":
        return _keep(text, 3, 4) if len(text) >= 8 else _keep(text, 1, 1)
    if kind == "name":
        if len(text) == 1:
            return "*"
        if len(text) == 2:
            return text[0] + "*"
        return text[0] + "*" * (len(text) - 2) + text[-1]
    if kind == "address":
        # Keep the administrative part (…省/市/区/县/镇/乡/街道), mask the rest (门牌).
        head = _ADDRESS_HEAD.match(text).group(1) or text[: min(6, len(text) // 2)]
        return head + "*" * max(len(text) - len(head), 1)
    return _keep(text, 1, 1) if len(text) > 2 else "*" * len(text)


def mask_many(values: list[str], kind: str) -> list[str]:
    """`mask` of each value; the common shapes (18-character ID numbers, 11-digit phone numbers, names of three or
    more characters) in one expression (the ingest pipeline masks every personal value it stores)."""
    if kind == "credit_code":
        return list(values)
    if kind == "id_number":
        return [v[:6] + "********" + v[14:] if len(v) == 18 else mask(v, kind) for v in values]
    if kind == "phone":
        return [v[:3] + "****" + v[7:] if len(v) == 11 else mask(v, kind) for v in values]
    if kind == "name":
        return [v[0] + "*" * (len(v) - 2) + v[-1] if len(v) > 2 else mask(v, kind) for v in values]
    return [mask(v, kind) for v in values]


def _keep(text: str, head: int, tail: int) -> str:
    if len(text) <= head + tail:
        return "*" * len(text)
    return text[:head] + "*" * (len(text) - head - tail) + text[-tail:]
