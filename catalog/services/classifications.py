"""The classification tree (类/项/目/细目), maintained by the bureau."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from portal import audit
from portal.choices import Role
from portal.errors import NotFound, PermissionDenied
from portal.models import User

from ..choices import LEVEL_DIGITS
from ..models import Classification
from ..validation import clean_text, raise_problems


def classification_create(*, actor: User, parent: Classification, code_part: str, name: str) -> Classification:
    """Add a 项/目/细目 under `parent`; its code is the parent's plus `code_part` digits.

    Raises PermissionDenied (bureau reviewers and the system admin only), PortalError ("invalid").
    Audits catalog.classification.created.
    """
    if not actor.has_role(Role.BUREAU_REVIEWER, Role.SYSTEM_ADMIN):
        raise PermissionDenied(_("目录分类由市大数据局维护"))
    level = parent.level + 1
    problems: dict[str, list[str]] = {}
    code_part = clean_text(code_part)
    if level > 4:
        problems["parent"] = [_("细目下不能再分")]
    else:
        low, high = LEVEL_DIGITS[level]
        if not code_part.isdigit() or not low <= len(code_part) <= high:
            problems["code_part"] = [
                _("本级代码须为 %(low)d–%(high)d 位数字") % {"low": low, "high": high}
                if low != high
                else _("本级代码须为 %(n)d 位数字") % {"n": low}
            ]
    if not clean_text(name):
        problems["name"] = [_("请填写分类名称")]
    code = parent.code + code_part
    if not problems and Classification.objects.filter(code=code).exists():
        problems["code_part"] = [_("分类代码 %(code)s 已存在") % {"code": code}]
    raise_problems(problems)
    with transaction.atomic():
        node = Classification.objects.create(
            code=code, name=clean_text(name), level=level, parent=parent, resource_class=parent.resource_class
        )
        audit.record(actor=actor, action="catalog.classification.created", obj=node, data={"code": code})
    return node


def classification_set_active(*, actor: User, classification_id: int, active: bool) -> Classification:
    """Enable or disable a classification node (existing entries keep it). Raises PermissionDenied, NotFound.
    Audits catalog.classification.updated."""
    if not actor.has_role(Role.BUREAU_REVIEWER, Role.SYSTEM_ADMIN):
        raise PermissionDenied(_("目录分类由市大数据局维护"))
    with transaction.atomic():
        node = Classification.objects.select_for_update().filter(pk=classification_id).first()
        if node is None:
            raise NotFound()
        node.is_active = active
        node.save(update_fields=["is_active"])
        audit.record(actor=actor, action="catalog.classification.updated", obj=node, data={"is_active": active})
    return node

