"""Validators for Chinese identifiers, free text a client sends outside a form, and the password policy.

The ID-number and credit-code checks are our own: python-stdnum rejects real IDs whose area code
was created after the birth year and credit codes whose first 8 characters are not digits
(reference/cn-standards.md §2.3); we use stdnum's check-digit functions where they are right.
"""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric

# A free-text value (a search, a code prefix, a URL path's resource code or subject key) is a few words, never a
# document.
MAX_TEXT_LENGTH = 200
# NUL, the other C0 control characters, DEL and the C1 controls: never part of a code, a key or a word.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")  # [0-9]: \d admits any digit
_RIC_RE = re.compile(r"^[1-9]\d{5}(18|19|20)\d{2}\d{4}\d{3}[\dX]$")
# GB/T 2260 province-level prefixes.
_PROVINCES = frozenset(
    {
        "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42",
        "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
        "83", "91",
    }
)


def uscc_check_char(first17: str) -> str:
    """GB 32100-2015 check character of the first 17 characters of a credit code."""
    total = sum(_USCC_CHARSET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARSET[(31 - total % 31) % 31]


def subject_key_kind(item_name: str) -> str:
    """What kind of subject key an item is, judged by its name (R12.2): "credit_code" (统一社会信用代码),
    "id_number" (公民身份号码) or "other". One rule for the pool's key checks and base databases
    (aggregation.ingest.validation.key_kind_of) and the catalog's duplicate-collection guard (same kind of subject)."""
    if re.search(r"信用代码", item_name or ""):
        return "credit_code"
    if re.search(r"身份证|身份号码|公民身份", item_name or ""):
        return "id_number"
    return "other"


def normalise_code(value: str) -> str:
    return (value or "").strip().upper()


def credit_code_problem(value: str) -> str | None:
    """Why `value` is not a valid 统一社会信用代码, or None when it is."""
    code = normalise_code(value)
    if len(code) != 18:
        return str(_("统一社会信用代码应为18位，当前为%(n)d位") % {"n": len(code)})
    if not _USCC_RE.match(code):
        return str(_("统一社会信用代码含有不允许的字符（不使用 I、O、Z、S、V；第3–8位为行政区划码数字）"))
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        return str(
            _("统一社会信用代码校验位错误：按 GB 32100 加权模31计算，第18位应为“%(c)s”")
            % {"c": expected}
        )
    return None


def validate_credit_code(value: str) -> None:
    problem = credit_code_problem(value)
    if problem:
        raise ValidationError(problem, code="credit_code")


def id_number_problem(value: str, *, today: dt.date | None = None) -> str | None:
    """Why `value` is not a valid 18-digit 公民身份号码 (GB 11643), or None when it is.

    The area code is checked only for a known province prefix: stdnum's per-birth-year area check
    rejects real numbers (cn-standards §2.3), so it is not a gate here.
    """
    number = normalise_code(value)
    if len(number) != 18:
        return str(_("身份证号应为18位，当前为%(n)d位") % {"n": len(number)})
    if not _RIC_RE.match(number) or number[:2] not in _PROVINCES:
        return str(_("身份证号格式错误（前17位应为数字，首两位为省级代码）"))
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return str(_("身份证号中的出生日期不存在"))
    if born > (today or dt.date.today()):
        return str(_("身份证号中的出生日期晚于今天"))
    expected = ric.calc_check_digit(number)  # stdnum takes the whole number and ignores its last char
    if number[17] != expected:
        return str(_("身份证号校验码错误：按 GB 11643 计算，第18位应为“%(c)s”") % {"c": expected})
    return None


def validate_id_number(value: str) -> None:
    problem = id_number_problem(value)
    if problem:
        raise ValidationError(problem, code="id_number")


def text_problem(value: str) -> str | None:
    """Why `value`, free text a client sends outside a form (a segment of a URL path: portal.api.params.path_text),
    cannot be used — a NUL or another control character, more than MAX_TEXT_LENGTH characters —, or None when it can.
    PostgreSQL refuses NUL in text and in JSON: such a value must never reach a query or an audit row."""
    if _CONTROL.search(value):
        return str(_("不能包含空字符（NUL）或其他控制字符"))
    if len(value) > MAX_TEXT_LENGTH:
        return str(_("不能超过 %(n)d 个字") % {"n": MAX_TEXT_LENGTH})
    return None


def safe_text(value: str, limit: int | None = MAX_TEXT_LENGTH) -> str:
    """`value` made storable (an audit row): control characters removed, at most `limit` characters."""
    return _CONTROL.sub("", value)[:limit]


class CharacterClassValidator:
    """等保 8.1.4.1 a: a password mixes at least three of upper case, lower case, digits and symbols."""

    def validate(self, password: str, user=None) -> None:
        classes = [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
        if sum(classes) < 3:
            raise ValidationError(
                _("密码须至少包含大写字母、小写字母、数字、符号中的三类。"), code="password_classes"
            )

    def get_help_text(self) -> str:
        return str(_("密码须至少包含大写字母、小写字母、数字、符号中的三类。"))


class UsernameNotInPasswordValidator:
    """等保 8.1.4.1 a: a password is not the username, does not contain it, nor it the password (case ignored).

    Django's UserAttributeSimilarityValidator measures likeness only; "Zhangsan@2026" for zhangsan passes it."""

    def validate(self, password: str, user=None) -> None:
        username = (getattr(user, "username", "") or "").casefold()
        if username and (username in password.casefold() or password.casefold() in username):
            raise ValidationError(_("密码不得与用户名相同或包含用户名。"), code="password_contains_username")

    def get_help_text(self) -> str:
        return str(_("密码不得与用户名相同或包含用户名。"))
