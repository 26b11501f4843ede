"""Run-time settings: one registry of typed keys, each owned by one administrator role (三员分立), read through a
cache that every change invalidates.

    from portal.services.settings import value
    value("session_idle_minutes")  # -> 30 until the security administrator changes it

A key is declared once in REGISTRY (owner, Chinese label and help, default, validation). Its value lives in
`portal.Setting` only once somebody changed it. Reads come from the Django cache (Redis: one GET of one small dict,
shared by every process), filled from the table on a miss; `settings_update` deletes the cached dict at once and again
after its commit (a request that re-read the table between the two saw the old row), so every process reads the new
value on its next request. Should Redis be down, reads go to the table.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal import audit
from portal.choices import Role
from portal.errors import PermissionDenied, PortalError
from portal.models import Setting

logger = logging.getLogger(__name__)

CACHE_KEY = "portal:settings:v1"
# Control characters (PostgreSQL refuses NUL in JSON); a line break only in a multi-line text.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
CACHE_SECONDS = 3600  # a backstop: a change deletes the entry anyway


@dataclass(frozen=True)
class Key:
    """One setting: who owns it, what it is called, its default and what values it takes."""

    key: str
    owner: str
    label: Promise
    help_text: Promise
    default: Any
    kind: str  # "bool" | "int" | "text"
    minimum: int | None = None
    maximum: int | None = None
    max_length: int = 200
    multiline: bool = False

    def clean(self, raw: Any) -> Any:
        """The value `raw` stands for, or PortalError (code invalid, the message under errors[key])."""
        if self.kind == "bool":
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.lower() in ("true", "false", "on", "off", "1", "0", ""):
                return raw.lower() in ("true", "on", "1")
            return self._refuse(_("请选择是或否"))
        if self.kind == "int":
            if isinstance(raw, bool):
                return self._refuse(_("请输入整数"))
            if isinstance(raw, str):
                raw = raw.strip()
                if not (raw.isascii() and raw.isdigit()):
                    return self._refuse(_("请输入整数"))
            try:
                number = int(raw)
            except (TypeError, ValueError):
                return self._refuse(_("请输入整数"))
            if not self.minimum <= number <= self.maximum:
                return self._refuse(_("取值范围为 %(min)d–%(max)d") % {"min": self.minimum, "max": self.maximum})
            return number
        if not isinstance(raw, str):
            return self._refuse(_("请输入文字"))
        text = raw.strip().replace("\r\n", "\n")
        if len(text) > self.max_length:
            return self._refuse(_("不能超过 %(n)d 个字符") % {"n": self.max_length})
        if _CONTROL.search(text if self.multiline else text.replace("\n", "\x00")):
            return self._refuse(_("不能包含空字符（NUL）或其他控制字符"))
        return text

    def _refuse(self, message: str):
        raise PortalError(f"{self.label}：{message}", code="invalid", errors={self.key: [message]})


REGISTRY: dict[str, Key] = {k.key: k for k in [
    # The system administrator's (SPEC §1: settings of the platform).
    Key("portal_notice", Role.SYSTEM_ADMIN, gettext_lazy("门户公告"),
        gettext_lazy("显示在每个页面顶部的通知（如系统维护安排）；留空则不显示。"),
        default="", kind="text", max_length=500, multiline=True),
    Key("ops_contact", Role.SYSTEM_ADMIN, gettext_lazy("运维联系方式"),
        gettext_lazy("显示在登录页和页脚，如“运维值班电话 0391-0000000”；留空则不显示。"),
        default="", kind="text", max_length=200),
    # The security administrator's (等保 8.1.4.1, R28.1).
    Key("otp_required_for_all", Role.SECURITY_ADMIN, gettext_lazy("所有用户须使用双因素认证"),
        gettext_lazy("开启后，部门数据专员登录也须输入动态验证码（管理员、审核员、考核人员与县区大数据部门始终须使用）。"),
        default=False, kind="bool"),
    Key("password_max_age_days", Role.SECURITY_ADMIN, gettext_lazy("密码有效期（天）"),
        gettext_lazy("管理员、审核员、考核人员与县区大数据部门的密码超过该天数须修改，30–90 天。"),
        default=90, kind="int", minimum=30, maximum=90),
    Key("inactive_disable_days", Role.SECURITY_ADMIN, gettext_lazy("闲置账号停用（天）"),
        gettext_lazy("超过该天数未登录的账号每晚自动停用（三类管理员账号除外），30–90 天。"),
        default=90, kind="int", minimum=30, maximum=90),
    Key("session_idle_minutes", Role.SECURITY_ADMIN, gettext_lazy("会话空闲超时（分钟）"),
        gettext_lazy("登录后超过该时长无操作即自动退出，5–120 分钟；接口客户端的签名调用不受影响。"),
        default=30, kind="int", minimum=5, maximum=120),
    # The leak monitor's thresholds (R28.4, security.services.leaks).
    Key("leak_volume_factor", Role.SECURITY_ADMIN, gettext_lazy("异常调用倍数"),
        gettext_lazy("某接入系统或用户一小时内的调用次数、读取行数或查询主体数达到其基线（此前 14 天同类小时的平均值，"
                     "不低于下限）的该倍数时告警，2–100。"),
        default=10, kind="int", minimum=2, maximum=100),
    Key("leak_enumeration_run", Role.SECURITY_ADMIN, gettext_lazy("连续号码告警阈值"),
        gettext_lazy("一小时内按身份证号或统一社会信用代码查询了同一前缀下这么多个连续顺序号即视为遍历，3–1000。"),
        default=10, kind="int", minimum=3, maximum=1000),
    Key("leak_offhours_rows", Role.SECURITY_ADMIN, gettext_lazy("非工作时间批量读取阈值（行）"),
        gettext_lazy("非工作日或 08:30–18:00 以外，一小时内读取行数达到该值即告警，1–10000000。"),
        default=5000, kind="int", minimum=1, maximum=10_000_000),
    Key("leak_shared_subject_callers", Role.SECURITY_ADMIN, gettext_lazy("同一主体被多方查询阈值"),
        gettext_lazy("一小时内同一主体被这么多个不同的接入系统或用户查询即告警，2–100。"),
        default=5, kind="int", minimum=2, maximum=100),
    Key("leak_suspend_on_volume", Role.SECURITY_ADMIN, gettext_lazy("调用量异常也自动停用"),
        gettext_lazy("开启后，调用量异常和非工作时间批量读取也会自动停用开启了自动停用的接入系统（遍历号码始终自动停用）。"),
        default=False, kind="bool"),
]}


def keys_of(owner: str) -> list[Key]:
    return [k for k in REGISTRY.values() if k.owner == owner]


def _stored() -> dict[str, Any]:
    try:
        stored = cache.get(CACHE_KEY)
    except Exception:  # the cache is an optimisation: without Redis the table answers
        logger.warning("settings cache unavailable; reading the table", exc_info=True)
        return dict(Setting.objects.values_list("key", "value"))
    if stored is None:
        stored = dict(Setting.objects.values_list("key", "value"))
        try:
            cache.set(CACHE_KEY, stored, CACHE_SECONDS)
        except Exception:
            logger.warning("settings cache unavailable", exc_info=True)
    return stored


def value(key: str) -> Any:
    """The current value of a registered key (KeyError for an unknown one: a typo must not read as a default)."""
    definition = REGISTRY[key]
    stored = _stored()
    if key not in stored:
        return definition.default
    try:
        return definition.clean(stored[key])
    except PortalError:  # a row a newer rule no longer accepts (a narrowed range): the default, not a crash
        return definition.default


def values_of(owner: str) -> dict[str, Any]:
    return {k.key: value(k.key) for k in keys_of(owner)}


def _forget() -> None:
    try:
        cache.delete(CACHE_KEY)
    except Exception:
        logger.warning("settings cache not invalidated: processes see the change within %s s", CACHE_SECONDS,
                       exc_info=True)


def settings_update(*, actor, values: dict[str, Any]) -> list[str]:
    """Change settings: every key must be registered and owned by a role `actor` holds (else PermissionDenied, before
    anything changes), every value valid (else PortalError with errors per key). One `portal.setting.updated` event per
    changed key, with its before and after. Returns the changed keys."""
    if not values:
        return []
    unknown = [k for k in values if k not in REGISTRY]
    if unknown:
        raise PortalError(_("未知的设置项：%(keys)s") % {"keys": "、".join(unknown)}, code="invalid")
    if actor is None or not all(actor.has_role(REGISTRY[k].owner) for k in values):
        raise PermissionDenied()
    cleaned, errors = {}, {}
    for key, raw in values.items():
        try:
            cleaned[key] = REGISTRY[key].clean(raw)
        except PortalError as exc:
            errors.update(exc.errors)
    if errors:
        raise PortalError(_("设置未保存，请检查标出的项"), code="invalid", errors=errors)
    changed = []
    with transaction.atomic():
        rows = {s.key: s for s in Setting.objects.select_for_update().filter(key__in=list(cleaned))}
        for key, new in cleaned.items():
            row = rows.get(key)
            before = REGISTRY[key].default if row is None else row.value
            if before == new:
                continue
            row = row or Setting(key=key)
            row.value, row.updated_by = new, actor
            row.save()
            audit.record(actor=actor, action="portal.setting.updated", obj=row,
                         data={"key": key, "before": before, "after": new})
            changed.append(key)
        if changed:
            _forget()
            transaction.on_commit(_forget)
    return changed
