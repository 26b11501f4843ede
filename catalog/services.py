"""Catalog use cases (write side): filing, the review workflow, demand lists, update cases (R7–R10, R17.1).

Every public function is keyword-only, runs in one transaction (nesting inside a caller's), locks what it
changes, writes its one audit event in that transaction and opens or closes the clocks it names.
Refusals are `portal.errors.PortalError` subclasses with stable codes.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import audit
from portal.choices import Clock, Role
from portal.errors import InvalidTransition, NotFound, PermissionDenied, PortalError
from portal.models import Department, User
from portal.services.deadlines import deadline_close, deadline_open
from portal.services.notifications import department_recipients, notify
from portal.services.workdays import local_today

from . import search
from .choices import (
    EDITABLE_STATES,
    LEVEL_DIGITS,
    OPEN_UPDATE_STATES,
    STRUCTURED_FORMATS,
    DataType,
    DemandState,
    EntryState,
    ExchangeMethod,
    FormatClass,
    OpenType,
    ReviewDecision,
    ReviewStage,
    ShareType,
    UpdateCaseState,
    UpdateCycle,
    UpdateTrigger,
)
from .models import (
    ENTRY_FIELDS,
    ITEM_FIELDS,
    CatalogEntry,
    CatalogEntryVersion,
    CatalogReview,
    CatalogUpdateCase,
    Classification,
    DataItem,
    DemandItem,
    ResponsibilityItem,
)
from .one_source import base_item_claimant
from .permissions import access_demand_by_id, access_entry_by_id, access_update_case_by_id
from .querysets import STAFF_ROLES

CITY_REGION_CODE = "410800"
BUREAU_REVIEW_DAYS = 5  # the bureau's review of a filed entry
UPDATE_APPLY_DAYS = 10  # R10.1
UPDATE_REVIEW_DAYS = 5  # R10.2

_TEXT_LIMITS = {"name": 200, "format_type": 100}
CODE_PATTERN = re.compile(r"^[1-3][0-9]{0,15}/[0-9A-Z]{1,47}$")


# --------------------------------------------------------------------------------------------------
# Validation (pure: reads the database for reference data, writes nothing)


def _text(value: Any) -> str:
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
            cleaned = [_text(v).upper() if name == "related_codes" else _text(v) for v in seq]
            out[name] = list(dict.fromkeys(v for v in cleaned if v))
        elif name == "is_secret":
            out[name] = _bool(value)
        elif name == "open_type":
            out[name] = _text(value) or OpenType.CLOSED
        else:
            out[name] = _text(value)
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
                "name": _text(item.get("name")),
                "data_type": _text(item.get("data_type")).upper(),
                "length": length,
                "is_subject_key": _bool(item.get("is_subject_key")),
                "is_base_item": _bool(item.get("is_base_item")),
                "description": _text(item.get("description")),
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


def _raise_problems(problems: dict[str, list[str]]) -> None:
    if problems:
        first = next(iter(problems.values()))[0]
        raise PortalError(_("填写有误：%(first)s") % {"first": first}, code="invalid", errors=problems)


# --------------------------------------------------------------------------------------------------
# Helpers shared by the use cases


def _now():
    return timezone.now()


def _require_department_staff(actor: User, department: Department | None) -> None:
    if not (actor.is_authenticated and actor.has_role(*STAFF_ROLES)):
        raise PermissionDenied(_("只有部门数据专员或负责人可以填报目录"))
    if department is None or actor.department_id != department.pk:
        raise NotFound()


def city_bureau() -> Department:
    """The 市政务服务和大数据管理局: owner of the bureau's review clocks. Raises PortalError when missing."""
    bureau = (
        Department.objects.filter(is_bureau=True, region__code=CITY_REGION_CODE, is_active=True).order_by("pk").first()
    )
    if bureau is None:
        raise PortalError(
            _(
                "系统中尚未设置市政务服务和大数据管理局（市级大数据主管部门），无法进入市局审核；请系统管理员先在部门管理中设置"
            ),
            code="bureau_missing",
        )
    return bureau


def _issue_code(classification: Classification, provider_code: str) -> str:
    """前段码/后段码: classification code / provider code + 4-digit 顺序码, never reused (counter only rises)."""
    prefix = f"{classification.code}/{provider_code}"
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO catalog_codesequence (prefix, last) VALUES (%s, 1)
            ON CONFLICT (prefix) DO UPDATE SET last = catalog_codesequence.last + 1
            RETURNING last
            """,
            [prefix],
        )
        (seq,) = cur.fetchone()
    return f"{prefix}{seq:04d}"


def _apply_values(entry: CatalogEntry, v: dict[str, Any]) -> list[str]:
    """Copy cleaned values onto the entry; returns the names of the fields that changed."""
    changed = []
    for name in ENTRY_FIELDS:
        if name == "classification":
            if entry.classification_id != v[name].pk:
                entry.classification = v[name]
                changed.append(name)
            continue
        if getattr(entry, name) != v[name]:
            setattr(entry, name, v[name])
            changed.append(name)
    return changed


def _sync_items(entry: CatalogEntry, items: list[dict[str, Any]]) -> bool:
    """Make the entry's data items equal `items`, keeping the row (and id) of every item whose name stays.

    Other chapters point at data items (grants, ingestion schemas); a rename is a new item.
    Returns whether anything changed.
    """
    existing = {item_key(i.name): i for i in entry.items.all()}
    wanted = {item_key(i["name"]): i for i in items}
    changed = False
    stale = [i.pk for k, i in existing.items() if k not in wanted]
    if stale:
        DataItem.objects.filter(pk__in=stale).delete()
        changed = True
    to_update, to_create = [], []
    for position, data in enumerate(items, start=1):
        current = existing.get(item_key(data["name"]))
        if current is None:
            to_create.append(DataItem(entry=entry, position=position, **data))
            continue
        fields = {"position": position, **data}
        if any(getattr(current, f) != val for f, val in fields.items()):
            for f, val in fields.items():
                setattr(current, f, val)
            to_update.append(current)
    if to_update:
        # position is unique per entry but deferred: swapping two rows is fine inside the transaction.
        DataItem.objects.bulk_update(to_update, ["position", *ITEM_FIELDS])
        changed = True
    if to_create:
        DataItem.objects.bulk_create(to_create)
        changed = True
    return changed


def entry_snapshot(entry: CatalogEntry) -> dict[str, Any]:
    """The entry as a JSON document (values + items): what an approved version freezes."""
    values = {name: getattr(entry, name) for name in ENTRY_FIELDS if name != "classification"}
    values["classification"] = entry.classification.code
    values["classification_name"] = entry.classification.name
    values.update(
        code=entry.code,
        provider=entry.provider.name,
        provider_code=entry.provider_code,
        publish_date=entry.publish_date.isoformat() if entry.publish_date else None,
        duplicate_note=entry.duplicate_note,
    )
    items = [{f: getattr(i, f) for f in ITEM_FIELDS} for i in entry.items.order_by("position")]
    return {"values": values, "items": items}


def _review(entry: CatalogEntry, actor: User, stage: str, decision: str, comment: str = "", **share) -> CatalogReview:
    return CatalogReview.objects.create(
        entry=entry, actor=actor, stage=stage, decision=decision, comment=comment, **share
    )


def _county_bureau_users(region_id: int) -> list[User]:
    return list(
        User.objects.filter(is_active=True, department__region_id=region_id, roles__role=Role.COUNTY_BUREAU).distinct()
    )


def _reviewers() -> list[User]:
    return list(User.objects.filter(is_active=True, roles__role=Role.BUREAU_REVIEWER).distinct())


def _open_bureau_review(entry: CatalogEntry) -> None:
    deadline_open(
        case=entry,
        clock=Clock.CATALOG_REVIEW,
        department=city_bureau(),
        working_days=BUREAU_REVIEW_DAYS,
        title=_("目录审核：%(name)s（%(dept)s）") % {"name": entry.name, "dept": entry.provider.name},
        responsible_role=Role.BUREAU_REVIEWER,
        url=entry.get_absolute_url(),
    )
    notify(
        recipients=_reviewers(), title=_("待审核目录：%(name)s") % {"name": entry.name}, url=entry.get_absolute_url()
    )


# --------------------------------------------------------------------------------------------------
# Filing (R8.1)


def catalog_entry_save(
    *,
    actor: User,
    department: Department,
    values: dict[str, Any],
    items: list[dict[str, Any]],
    entry: CatalogEntry | None = None,
    duplicate_note: str | None = None,
) -> CatalogEntry:
    """Create (entry=None) or update a draft/returned entry of `department` with its data items.

    The resource code is issued on creation (classification/provider code + sequence) and re-issued when
    the classification of a never-approved entry changes. Raises PortalError (code "invalid", `.errors`
    keyed like entry_problems), PermissionDenied, NotFound (another department's entry) or
    InvalidTransition (not editable). Audits catalog.entry.created / catalog.entry.updated. No clocks.
    """
    _require_department_staff(actor, department)
    provider = values.get("provider")
    if provider is not None and getattr(provider, "pk", provider) != department.pk:
        raise PortalError(_("只能填报本部门的目录"), code="invalid", errors={"provider": [_("提供方须为本部门")]})
    _raise_problems(entry_problems(values, items))
    v = clean_values(values)
    cleaned_items = clean_items(items)
    with transaction.atomic():
        creating = entry is None
        if creating:
            entry = CatalogEntry(provider=department, provider_code=department.credit_code, created_by=actor)
            old_code = None
        else:
            entry = access_entry_by_id(actor, entry.pk, action="change", for_update=True)
            if entry.provider_id != department.pk:
                raise NotFound()
            if entry.state not in EDITABLE_STATES:
                raise InvalidTransition(
                    _("“%(state)s”状态的条目不能修改；已发布的条目请提交目录更新申请")
                    % {"state": entry.get_state_display()},
                    code="not_editable",
                )
            old_code = entry.code
        changed = _apply_values(entry, v)
        if duplicate_note is not None and duplicate_note != entry.duplicate_note:
            entry.duplicate_note = duplicate_note
            changed.append("duplicate_note")
        entry.provider_code = department.credit_code
        if (creating or "classification" in changed or not entry.code) and entry.version == 0:
            entry.code = _issue_code(entry.classification, entry.provider_code)
        entry.save()
        items_changed = _sync_items(entry, cleaned_items)
        search.reindex([entry.pk])
        if creating:
            audit.record(
                actor=actor,
                action="catalog.entry.created",
                obj=entry,
                department=department,
                data={"code": entry.code, "items": len(cleaned_items)},
            )
        else:
            audit.record(
                actor=actor,
                action="catalog.entry.updated",
                obj=entry,
                department=department,
                data={"fields": changed, "items_changed": items_changed, "code": {"old": old_code, "new": entry.code}},
            )
    return entry


def catalog_entry_delete(*, actor: User, entry_id: int) -> None:
    """Delete a never-approved draft/returned entry of the actor's department (its code is not reused).

    Raises NotFound, PermissionDenied, InvalidTransition. Audits catalog.entry.deleted. No clocks.
    """
    with transaction.atomic():
        entry = access_entry_by_id(actor, entry_id, action="change", for_update=True)
        if entry.version > 0 or entry.state not in EDITABLE_STATES:
            raise InvalidTransition(_("只能删除从未发布的草稿或退回条目"), code="not_deletable")
        audit.record(
            actor=actor, action="catalog.entry.deleted", obj=entry, data={"code": entry.code, "name": entry.name}
        )
        entry.delete()


# --------------------------------------------------------------------------------------------------
# Review workflow (R8.2, R18.1): draft -> signoff -> [county_review] -> bureau_review -> approved / returned


def catalog_entry_submit(*, actor: User, entry_id: int, comment: str = "") -> CatalogEntry:
    """Submit a draft or returned entry for the department head's sign-off.

    Raises NotFound, PermissionDenied, InvalidTransition (code "invalid_state"), PortalError ("invalid"
    when the entry is incomplete). Audits catalog.entry.submitted. No clocks (the bureau's opens on sign-off).
    """
    with transaction.atomic():
        entry = access_entry_by_id(actor, entry_id, action="change", for_update=True)
        if entry.state not in EDITABLE_STATES:
            raise InvalidTransition(_("只有草稿或退回的条目可以提交"))
        items = _entry_items(entry)
        _raise_problems(entry_problems(_entry_values(entry), items) or one_source_problems(entry.pk, items))
        before = entry.state
        entry.state = EntryState.SIGNOFF
        entry.save(update_fields=["state", "updated_at"])
        _review(entry, actor, ReviewStage.SIGNOFF, ReviewDecision.SUBMITTED, comment)
        audit.record(
            actor=actor,
            action="catalog.entry.submitted",
            obj=entry,
            data={"state": {"old": before, "new": entry.state}, "comment": comment},
        )
        notify(
            recipients=department_recipients(entry.provider, Role.DEPT_HEAD),
            title=_("待签发目录：%(name)s") % {"name": entry.name},
            url=entry.get_absolute_url(),
        )
    return entry


def catalog_entry_sign_off(*, actor: User, entry_id: int, comment: str = "") -> CatalogEntry:
    """The department head signs the submission off: to county pre-review (county departments) or bureau review.

    Raises NotFound, PermissionDenied, InvalidTransition, PortalError("bureau_missing").
    Audits catalog.entry.signed_off. Opens CATALOG_REVIEW when the entry goes straight to the bureau.
    """
    with transaction.atomic():
        entry = access_entry_by_id(actor, entry_id, action="signoff", for_update=True)
        if entry.state != EntryState.SIGNOFF:
            raise InvalidTransition(_("该条目不在待签发状态"))
        county = not entry.provider.region.is_city
        entry.state = EntryState.COUNTY_REVIEW if county else EntryState.BUREAU_REVIEW
        entry.save(update_fields=["state", "updated_at"])
        _review(entry, actor, ReviewStage.SIGNOFF, ReviewDecision.SIGNED, comment)
        if county:
            notify(
                recipients=_county_bureau_users(entry.provider.region_id),
                title=_("待初审目录：%(name)s") % {"name": entry.name},
                url=entry.get_absolute_url(),
            )
        else:
            _open_bureau_review(entry)
        audit.record(
            actor=actor,
            action="catalog.entry.signed_off",
            obj=entry,
            data={"state": {"old": EntryState.SIGNOFF, "new": entry.state}, "comment": comment},
        )
    return entry


def catalog_entry_county_pass(*, actor: User, entry_id: int, comment: str = "") -> CatalogEntry:
    """The county bureau of the provider's region passes its pre-review (R8.3): on to the city bureau.

    Raises NotFound, PermissionDenied, InvalidTransition, PortalError("bureau_missing").
    Audits catalog.entry.county_passed. Opens CATALOG_REVIEW (5 working days, the city bureau).
    """
    with transaction.atomic():
        entry = access_entry_by_id(actor, entry_id, action="county_review", for_update=True)
        if entry.state != EntryState.COUNTY_REVIEW:
            raise InvalidTransition(_("该条目不在待县级初审状态"))
        entry.state = EntryState.BUREAU_REVIEW
        entry.save(update_fields=["state", "updated_at"])
        _review(entry, actor, ReviewStage.COUNTY, ReviewDecision.PASSED, comment)
        _open_bureau_review(entry)
        audit.record(
            actor=actor,
            action="catalog.entry.county_passed",
            obj=entry,
            data={"state": {"old": EntryState.COUNTY_REVIEW, "new": entry.state}, "comment": comment},
        )
    return entry


_RETURN_STAGE = {
    EntryState.SIGNOFF: ("signoff", ReviewStage.SIGNOFF),
    EntryState.COUNTY_REVIEW: ("county_review", ReviewStage.COUNTY),
    EntryState.BUREAU_REVIEW: ("bureau_review", ReviewStage.BUREAU),
}


def catalog_entry_return(*, actor: User, entry_id: int, comment: str) -> CatalogEntry:
    """Return an entry to its department with a comment, from whichever stage it waits in.

    The head (sign-off), the region's county bureau (pre-review) or a bureau reviewer (review) may return.
    Raises NotFound, PermissionDenied, InvalidTransition, PortalError("comment_required").
    Audits catalog.entry.returned. Closes CATALOG_REVIEW when returned by the bureau.
    """
    comment = _text(comment)
    if not comment:
        raise PortalError(_("退回须填写意见"), code="comment_required", errors={"comment": [_("请填写退回意见")]})
    with transaction.atomic():
        entry = access_entry_by_id(actor, entry_id, action="view", for_update=True)
        if entry.state not in _RETURN_STAGE:
            raise InvalidTransition(
                _("“%(state)s”状态的条目不能退回") % {"state": entry.get_state_display()},
                code="already_approved" if entry.state == EntryState.APPROVED else "invalid_state",
            )
        action, stage = _RETURN_STAGE[entry.state]
        if not CatalogEntry.objects.restrict(actor, action).filter(pk=entry.pk).exists():
            raise PermissionDenied(_("当前环节不由您办理"))
        before = entry.state
        entry.state = EntryState.RETURNED
        entry.save(update_fields=["state", "updated_at"])
        _review(entry, actor, stage, ReviewDecision.RETURNED, comment)
        if before == EntryState.BUREAU_REVIEW:
            deadline_close(case=entry, clock=Clock.CATALOG_REVIEW)
        audit.record(
            actor=actor,
            action="catalog.entry.returned",
            obj=entry,
            data={"state": {"old": before, "new": entry.state}, "stage": stage, "comment": comment},
        )
        notify(
            recipients=department_recipients(entry.provider, Role.DEPT_STAFF),
            title=_("目录被退回：%(name)s") % {"name": entry.name},
            body=comment,
            url=entry.get_absolute_url(),
        )
    return entry


def catalog_entry_approve(
    *,
    actor: User,
    entry_id: int,
    comment: str = "",
    share_type: str | None = None,
    share_condition: str | None = None,
    no_share_basis: str | None = None,
) -> CatalogEntry:
    """The bureau approves an entry in review, confirming or changing its sharing type (R18.1).

    Publishes it in the master catalog as a new version (snapshot kept), sets the publish date on first
    approval, updates the provider's responsibility list and re-matches open demands — one transaction.
    Raises NotFound, PermissionDenied, InvalidTransition (code "already_approved" for a second approval,
    "invalid_state" otherwise), PortalError ("invalid" when the sharing type lacks its condition/basis).
    Audits catalog.entry.approved. Closes CATALOG_REVIEW.
    """
    with transaction.atomic():
        entry = access_entry_by_id(actor, entry_id, action="bureau_review", for_update=True)
        if entry.state == EntryState.APPROVED:
            raise InvalidTransition(_("该条目已审核通过，不能重复审核"), code="already_approved")
        if entry.state != EntryState.BUREAU_REVIEW:
            raise InvalidTransition(_("该条目不在待市局审核状态"))
        old_share = {
            "share_type": entry.share_type,
            "share_condition": entry.share_condition,
            "no_share_basis": entry.no_share_basis,
        }
        if share_type:
            entry.share_type = share_type
            if share_condition is not None:
                entry.share_condition = _text(share_condition)
            if no_share_basis is not None:
                entry.no_share_basis = _text(no_share_basis)
        items = _entry_items(entry)
        _raise_problems(entry_problems(_entry_values(entry), items) or one_source_problems(entry.pk, items))
        today = local_today()
        entry.state = EntryState.APPROVED
        entry.version += 1
        entry.publish_date = entry.publish_date or today
        entry.approved_at = _now()
        entry.save(
            update_fields=[
                "state",
                "version",
                "publish_date",
                "approved_at",
                "share_type",
                "share_condition",
                "no_share_basis",
                "updated_at",
            ]
        )
        _review(
            entry,
            actor,
            ReviewStage.BUREAU,
            ReviewDecision.APPROVED,
            comment,
            share_type_before=old_share["share_type"],
            share_type_after=entry.share_type,
        )
        CatalogEntryVersion.objects.create(
            entry=entry, number=entry.version, snapshot=entry_snapshot(entry), approved_by=actor
        )
        responsibility_sync(entry=entry, on=today)
        _rematch_gaps(entry)
        deadline_close(case=entry, clock=Clock.CATALOG_REVIEW)
        new_share = {
            "share_type": entry.share_type,
            "share_condition": entry.share_condition,
            "no_share_basis": entry.no_share_basis,
        }
        audit.record(
            actor=actor,
            action="catalog.entry.approved",
            obj=entry,
            data={
                "code": entry.code,
                "version": entry.version,
                "comment": comment,
                "share": {"old": old_share, "new": new_share, "changed": old_share != new_share},
            },
        )
        notify(
            recipients=department_recipients(entry.provider, Role.DEPT_STAFF),
            title=_("目录已发布：%(name)s") % {"name": entry.name},
            url=entry.get_absolute_url(),
        )
    return entry


def _entry_values(entry: CatalogEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in ENTRY_FIELDS}


def _entry_items(entry: CatalogEntry) -> list[dict[str, Any]]:
    return [{f: getattr(i, f) for f in ITEM_FIELDS} for i in entry.items.order_by("position")]


# --------------------------------------------------------------------------------------------------
# Responsibility lists (R9.1)


def responsibility_sync(*, entry: CatalogEntry, on: dt.date) -> dict[str, int]:
    """Bring the provider's responsibility list in line with the approved entry (part of the approving use case).

    One line per data item (one line for the whole resource when it has none); removed items are
    retired on `on`, not deleted. No audit of its own: the calling use case's event covers it.
    """
    current = {r.item_name: r for r in ResponsibilityItem.objects.filter(entry=entry, retired_on__isnull=True)}
    wanted = [(i.name, i.data_type, i.is_base_item) for i in entry.items.order_by("position")] or [("", "", False)]
    names = {name for name, _t, _b in wanted}
    retired = [r.pk for name, r in current.items() if name not in names or r.department_id != entry.provider_id]
    if retired:
        ResponsibilityItem.objects.filter(pk__in=retired).update(retired_on=on)
    created = updated = 0
    for name, data_type, is_base in wanted:
        row = current.get(name)
        if row is not None and row.pk not in retired:
            ResponsibilityItem.objects.filter(pk=row.pk).update(
                data_type=data_type, is_base_item=is_base, update_cycle=entry.update_cycle, entry_version=entry.version
            )
            updated += 1
        else:
            ResponsibilityItem.objects.create(
                department_id=entry.provider_id,
                entry=entry,
                item_name=name,
                data_type=data_type,
                is_base_item=is_base,
                update_cycle=entry.update_cycle,
                since=on,
                entry_version=entry.version,
            )
            created += 1
    return {"created": created, "updated": updated, "retired": len(retired)}


# --------------------------------------------------------------------------------------------------
# Catalog update cases (R10): trigger -> apply within 10 WD -> bureau reviews within 5 WD of receipt


def update_case_open(
    *,
    actor: User,
    entry_id: int,
    trigger_kind: str,
    trigger_date: dt.date,
    trigger_document: str,
    trigger_description: str = "",
) -> CatalogUpdateCase:
    """Record that a law was amended or the department's duties changed, for a published entry.

    Raises NotFound, PermissionDenied, InvalidTransition ("invalid_state" unless published,
    "update_case_running" when one is open), PortalError ("invalid"). Audits catalog.update_case.opened.
    Opens CATALOG_UPDATE_APPLY: 10 working days from the trigger date, for the provider department.
    """
    problems: dict[str, list[str]] = {}
    if trigger_kind not in UpdateTrigger.values:
        problems["trigger_kind"] = [_("请选择更新原因")]
    if not isinstance(trigger_date, dt.date):
        problems["trigger_date"] = [_("请填写发生日期")]
    elif trigger_date > local_today():
        problems["trigger_date"] = [_("发生日期不能晚于今天")]
    if not _text(trigger_document):
        problems["trigger_document"] = [_("请填写依据文件（法规名称或职能调整文件文号）")]
    _raise_problems(problems)
    with transaction.atomic():
        entry = access_entry_by_id(actor, entry_id, action="change", for_update=True)
        if entry.state != EntryState.APPROVED:
            raise InvalidTransition(_("只有已发布的目录条目需要提交更新申请；未发布的条目可直接修改"))
        if CatalogUpdateCase.objects.filter(entry=entry, state__in=OPEN_UPDATE_STATES).exists():
            raise InvalidTransition(_("该条目已有进行中的目录更新申请"), code="update_case_running")
        case = CatalogUpdateCase.objects.create(
            entry=entry,
            department=entry.provider,
            trigger_kind=trigger_kind,
            trigger_date=trigger_date,
            trigger_document=_text(trigger_document),
            trigger_description=_text(trigger_description),
            proposed=entry_snapshot(entry),
            created_by=actor,
        )
        deadline_open(
            case=case,
            clock=Clock.CATALOG_UPDATE_APPLY,
            department=entry.provider,
            working_days=UPDATE_APPLY_DAYS,
            started_on=trigger_date,
            title=_("目录更新申请：%(name)s") % {"name": entry.name},
            responsible_role=Role.DEPT_STAFF,
            url=case.get_absolute_url(),
        )
        audit.record(
            actor=actor,
            action="catalog.update_case.opened",
            obj=case,
            data={
                "entry": entry.pk,
                "code": entry.code,
                "trigger_kind": trigger_kind,
                "trigger_date": trigger_date,
                "trigger_document": case.trigger_document,
            },
        )
    return case


def update_case_save(
    *, actor: User, case_id: int, values: dict[str, Any], items: list[dict[str, Any]]
) -> CatalogUpdateCase:
    """Store the proposed new content of the entry on a draft or returned update case.

    The classification (and so the resource code) cannot change through an update. Raises NotFound,
    PermissionDenied, InvalidTransition, PortalError ("invalid"). Audits catalog.update_case.updated. No clocks.
    """
    problems = entry_problems(values, items)
    with transaction.atomic():
        case = access_update_case_by_id(actor, case_id, action="change", for_update=True)
        if case.state not in (UpdateCaseState.DRAFT, UpdateCaseState.RETURNED):
            raise InvalidTransition(_("该更新申请已提交或已办结，不能修改"))
        v = clean_values(values)
        if v["classification"] is not None and v["classification"].pk != case.entry.classification_id:
            problems.setdefault("classification", []).append(_("目录更新不能变更信息资源分类（资源代码不可更改）"))
        _raise_problems(problems)
        values_json = {k: val for k, val in v.items() if k != "classification"}
        values_json["classification"] = case.entry.classification.code
        case.proposed = {"values": values_json, "items": clean_items(items)}
        case.save(update_fields=["proposed", "updated_at"])
        audit.record(actor=actor, action="catalog.update_case.updated", obj=case, data={"entry": case.entry_id})
    return case


def update_case_changes(case: CatalogUpdateCase) -> dict[str, Any]:
    """The proposal against the entry's current published version (selectors.version_diff shape)."""
    from .selectors import version_diff

    return version_diff(entry_snapshot(case.entry), case.proposed)


def update_case_submit(*, actor: User, case_id: int) -> CatalogUpdateCase:
    """The department applies: the bureau receives the update application today.

    Raises NotFound, PermissionDenied, InvalidTransition, PortalError ("invalid", "no_changes",
    "bureau_missing"). Audits catalog.update_case.submitted. Closes CATALOG_UPDATE_APPLY (late or not),
    opens CATALOG_UPDATE_REVIEW: 5 working days from receipt, for the city bureau's reviewers.
    """
    with transaction.atomic():
        case = access_update_case_by_id(actor, case_id, action="change", for_update=True)
        if case.state not in (UpdateCaseState.DRAFT, UpdateCaseState.RETURNED):
            raise InvalidTransition(_("该更新申请不能再次提交"))
        proposed = case.proposed or {}
        _raise_problems(entry_problems(proposed.get("values", {}), proposed.get("items", [])))
        if update_case_changes(case)["empty"]:
            raise PortalError(_("更新内容与现行目录相同，请先填写需要更新的内容"), code="no_changes")
        today = local_today()
        before = case.state
        case.state = UpdateCaseState.SUBMITTED
        case.submitted_on = today
        case.save(update_fields=["state", "submitted_on", "updated_at"])
        apply_clock = deadline_close(case=case, clock=Clock.CATALOG_UPDATE_APPLY, on=today)
        deadline_open(
            case=case,
            clock=Clock.CATALOG_UPDATE_REVIEW,
            department=city_bureau(),
            working_days=UPDATE_REVIEW_DAYS,
            started_on=today,
            title=_("目录更新审核：%(name)s（%(dept)s）") % {"name": case.entry.name, "dept": case.department.name},
            responsible_role=Role.BUREAU_REVIEWER,
            url=case.get_absolute_url(),
        )
        audit.record(
            actor=actor,
            action="catalog.update_case.submitted",
            obj=case,
            data={
                "state": {"old": before, "new": case.state},
                "received_on": today,
                "applied_late": bool(apply_clock and apply_clock.closed_late),
            },
        )
        notify(
            recipients=_reviewers(),
            title=_("待审核目录更新：%(name)s") % {"name": case.entry.name},
            url=case.get_absolute_url(),
        )
    return case


def update_case_approve(*, actor: User, case_id: int, comment: str = "") -> CatalogUpdateCase:
    """The bureau approves: the entry takes the proposed content as a new version and the provider's
    responsibility list follows, in this one transaction (R10.2).

    Raises NotFound, PermissionDenied, InvalidTransition ("already_approved" / "invalid_state"),
    PortalError ("invalid"). Audits catalog.update_case.approved. Closes CATALOG_UPDATE_REVIEW.
    """
    with transaction.atomic():
        case = access_update_case_by_id(actor, case_id, action="review", for_update=True)
        if case.state == UpdateCaseState.APPROVED:
            raise InvalidTransition(_("该更新申请已审核通过，不能重复审核"), code="already_approved")
        if case.state != UpdateCaseState.SUBMITTED:
            raise InvalidTransition(_("该更新申请不在待审核状态"))
        entry = (
            CatalogEntry.objects.select_for_update(of=("self",))
            .select_related("provider", "classification")
            .get(pk=case.entry_id)
        )
        values = dict(case.proposed.get("values", {}))
        items = case.proposed.get("items", [])
        values["classification"] = entry.classification
        _raise_problems(entry_problems(values, items) or one_source_problems(entry.pk, items))
        changes = update_case_changes(case)
        changed = _apply_values(entry, clean_values(values))
        entry.version += 1
        entry.approved_at = _now()
        entry.save()
        _sync_items(entry, clean_items(items))
        today = local_today()
        CatalogEntryVersion.objects.create(
            entry=entry, number=entry.version, snapshot=entry_snapshot(entry), approved_by=actor, update_case=case
        )
        resp = responsibility_sync(entry=entry, on=today)
        search.reindex([entry.pk])
        _rematch_gaps(entry)
        case.state = UpdateCaseState.APPROVED
        case.decided_at, case.decided_by, case.comment = _now(), actor, _text(comment)
        case.save(update_fields=["state", "decided_at", "decided_by", "comment", "updated_at"])
        deadline_close(case=case, clock=Clock.CATALOG_UPDATE_REVIEW, on=today)
        audit.record(
            actor=actor,
            action="catalog.update_case.approved",
            obj=case,
            data={
                "entry": entry.pk,
                "code": entry.code,
                "version": entry.version,
                "fields": changed,
                "items": changes["items"],
                "responsibility": resp,
                "comment": case.comment,
            },
        )
        notify(
            recipients=department_recipients(case.department, Role.DEPT_STAFF),
            title=_("目录更新已通过：%(name)s") % {"name": entry.name},
            url=case.get_absolute_url(),
        )
    return case


def update_case_return(*, actor: User, case_id: int, comment: str) -> CatalogUpdateCase:
    """The bureau returns the application with a comment; the department may revise and apply again.

    Raises NotFound, PermissionDenied, InvalidTransition, PortalError ("comment_required").
    Audits catalog.update_case.returned. Closes CATALOG_UPDATE_REVIEW.
    """
    comment = _text(comment)
    if not comment:
        raise PortalError(_("退回须填写意见"), code="comment_required", errors={"comment": [_("请填写退回意见")]})
    with transaction.atomic():
        case = access_update_case_by_id(actor, case_id, action="review", for_update=True)
        if case.state != UpdateCaseState.SUBMITTED:
            raise InvalidTransition(
                _("该更新申请不在待审核状态"),
                code="already_approved" if case.state == UpdateCaseState.APPROVED else "invalid_state",
            )
        case.state = UpdateCaseState.RETURNED
        case.decided_at, case.decided_by, case.comment = _now(), actor, comment
        case.save(update_fields=["state", "decided_at", "decided_by", "comment", "updated_at"])
        deadline_close(case=case, clock=Clock.CATALOG_UPDATE_REVIEW)
        audit.record(
            actor=actor,
            action="catalog.update_case.returned",
            obj=case,
            data={"state": {"old": UpdateCaseState.SUBMITTED, "new": case.state}, "comment": comment},
        )
        notify(
            recipients=department_recipients(case.department, Role.DEPT_STAFF),
            title=_("目录更新申请被退回：%(name)s") % {"name": case.entry.name},
            body=comment,
            url=case.get_absolute_url(),
        )
    return case


def update_case_withdraw(*, actor: User, case_id: int, reason: str) -> CatalogUpdateCase:
    """The department withdraws an update case it has not (or no longer) submitted, e.g. nothing to change.

    Raises NotFound, PermissionDenied, InvalidTransition, PortalError ("comment_required").
    Audits catalog.update_case.withdrawn. Closes CATALOG_UPDATE_APPLY if it still runs.
    """
    reason = _text(reason)
    if not reason:
        raise PortalError(_("撤回须说明理由"), code="comment_required", errors={"reason": [_("请填写撤回理由")]})
    with transaction.atomic():
        case = access_update_case_by_id(actor, case_id, action="change", for_update=True)
        if case.state not in (UpdateCaseState.DRAFT, UpdateCaseState.RETURNED):
            raise InvalidTransition(_("已提交或已办结的更新申请不能撤回"))
        before = case.state
        case.state = UpdateCaseState.WITHDRAWN
        case.comment = reason
        case.save(update_fields=["state", "comment", "updated_at"])
        deadline_close(case=case, clock=Clock.CATALOG_UPDATE_APPLY)
        audit.record(
            actor=actor,
            action="catalog.update_case.withdrawn",
            obj=case,
            data={"state": {"old": before, "new": case.state}, "reason": reason},
        )
    return case


# --------------------------------------------------------------------------------------------------
# Demand lists (R8.1) and the duplicate-collection guard (R17.1)


DEMAND_FIELDS = ("needed_data", "item_names", "purpose", "legal_basis", "provider")


def demand_problems(values: dict[str, Any], department: Department) -> dict[str, list[str]]:
    """What is wrong with one demand item (pure)."""
    problems: dict[str, list[str]] = {}
    for name, label in (("needed_data", _("所需数据")), ("purpose", _("用途")), ("legal_basis", _("依据"))):
        if not _text(values.get(name)):
            problems[name] = [_("请填写%(field)s") % {"field": label}]
    if len(_text(values.get("needed_data"))) > 200:
        problems["needed_data"] = [_("不能超过 200 个字")]
    provider = values.get("provider")
    if provider is not None and getattr(provider, "pk", provider) == department.pk:
        problems["provider"] = [_("本部门的数据无需列入需求清单")]
    return problems


def _provider(value) -> Department | None:
    if value in (None, ""):
        return None
    if isinstance(value, Department):
        return value
    return Department.objects.filter(pk=int(value)).first()


def demand_item_save(
    *, actor: User, department: Department, values: dict[str, Any], demand: DemandItem | None = None
) -> DemandItem:
    """Create or change a draft line of the department's demand list, and match it against the catalog.

    Raises NotFound, PermissionDenied, InvalidTransition, PortalError ("invalid").
    Audits catalog.demand.created / catalog.demand.updated. No clocks.
    """
    _require_department_staff(actor, department)
    _raise_problems(demand_problems(values, department))
    names = values.get("item_names") or []
    if isinstance(names, str):
        names = re.split(r"[,，、;；\s]+", names)
    fields = {
        "needed_data": _text(values.get("needed_data")),
        "item_names": list(dict.fromkeys(_text(n) for n in names if _text(n))),
        "purpose": _text(values.get("purpose")),
        "legal_basis": _text(values.get("legal_basis")),
        "provider": _provider(values.get("provider")),
    }
    with transaction.atomic():
        creating = demand is None
        if creating:
            demand = DemandItem(department=department, created_by=actor)
        else:
            demand = access_demand_by_id(actor, demand.pk, action="change", for_update=True)
            if demand.state != DemandState.DRAFT:
                raise InvalidTransition(_("已提交的需求不能修改"), code="not_editable")
        for name, value in fields.items():
            setattr(demand, name, value)
        demand.save()
        matches = demand_match(demand)
        audit.record(
            actor=actor,
            action="catalog.demand.created" if creating else "catalog.demand.updated",
            obj=demand,
            data={"needed_data": demand.needed_data, "provider": demand.provider_id, "matches": matches},
        )
    return demand


def demand_item_submit(*, actor: User, demand_id: int) -> DemandItem:
    """Submit a draft demand to the bureau (R8.1); unmatched demands appear on the bureau's gap list.

    Raises NotFound, PermissionDenied, InvalidTransition. Audits catalog.demand.submitted. No clocks.
    """
    with transaction.atomic():
        demand = access_demand_by_id(actor, demand_id, action="change", for_update=True)
        if demand.state != DemandState.DRAFT:
            raise InvalidTransition(_("只有草稿状态的需求可以提交"))
        demand.state = DemandState.SUBMITTED
        demand.submitted_at = _now()
        demand.save(update_fields=["state", "submitted_at", "updated_at"])
        matches = demand_match(demand)
        audit.record(
            actor=actor,
            action="catalog.demand.submitted",
            obj=demand,
            data={"matches": matches, "provider": demand.provider_id},
        )
        if demand.provider_id:
            notify(
                recipients=department_recipients(demand.provider, Role.DEPT_STAFF),
                title=_("%(dept)s提出数据需求：%(data)s")
                % {"dept": demand.department.name, "data": demand.needed_data},
                url=demand.get_absolute_url(),
            )
    return demand


def demand_item_close(*, actor: User, demand_id: int, note: str) -> DemandItem:
    """Close a submitted demand (met by a sharing request, newly catalogued, or dropped), with a note.

    The requesting department or a bureau reviewer may close. Raises NotFound, PermissionDenied,
    InvalidTransition, PortalError ("comment_required"). Audits catalog.demand.closed. No clocks.
    """
    note = _text(note)
    if not note:
        raise PortalError(_("请填写办结说明"), code="comment_required", errors={"note": [_("请填写办结说明")]})
    with transaction.atomic():
        demand = access_demand_by_id(actor, demand_id, action="view", for_update=True)
        own = actor.department_id == demand.department_id and actor.has_role(*STAFF_ROLES)
        if not (own or actor.has_role(Role.BUREAU_REVIEWER)):
            raise PermissionDenied()
        if demand.state != DemandState.SUBMITTED:
            raise InvalidTransition(_("只有已提交的需求可以办结"))
        demand.state = DemandState.CLOSED
        demand.close_note = note[:500]
        demand.save(update_fields=["state", "close_note", "updated_at"])
        audit.record(actor=actor, action="catalog.demand.closed", obj=demand, data={"note": demand.close_note})
    return demand


def demand_item_delete(*, actor: User, demand_id: int) -> None:
    """Delete a draft demand. Raises NotFound, PermissionDenied, InvalidTransition. Audits catalog.demand.deleted."""
    with transaction.atomic():
        demand = access_demand_by_id(actor, demand_id, action="change", for_update=True)
        if demand.state != DemandState.DRAFT:
            raise InvalidTransition(_("只能删除草稿状态的需求"))
        audit.record(actor=actor, action="catalog.demand.deleted", obj=demand, data={"needed_data": demand.needed_data})
        demand.delete()


def demand_match(demand: DemandItem) -> list[int]:
    """Store which published entries of other departments can meet the demand; returns their ids.

    An entry matches when one of its data items has a demanded item's name, or when its name, summary
    or item names contain the demanded data (the catalog search). At most 10, best first.
    """
    from .selectors import matching_entries

    ids = [
        e.pk
        for e in matching_entries(
            department=demand.department, text=demand.needed_data, item_names=demand.item_names, limit=10
        )
    ]
    demand.matches.set(ids)
    DemandItem.objects.filter(pk=demand.pk).update(matched_at=_now())
    return ids


def _rematch_gaps(entry: CatalogEntry) -> int:
    """A newly published entry may close gaps: re-match submitted demands that had no source (others' only)."""
    gaps = DemandItem.objects.filter(state=DemandState.SUBMITTED, matches__isnull=True).exclude(
        department=entry.provider_id
    )
    keys = {item_key(n) for n in entry.items.values_list("name", flat=True)}
    found = 0
    for demand in gaps.select_related("department")[:500]:
        hit = bool(keys & {item_key(n) for n in demand.item_names})
        if not hit and search.query_literal(demand.needed_data):
            hit = search.search_entries(CatalogEntry.objects.filter(pk=entry.pk), demand.needed_data).exists()
        if hit:
            demand.matches.add(entry)
            found += 1
    return found


# --------------------------------------------------------------------------------------------------
# Classification tree (bureau-maintained)


def classification_create(*, actor: User, parent: Classification, code_part: str, name: str) -> Classification:
    """Add a 项/目/细目 under `parent`; its code is the parent's plus `code_part` digits.

    Raises PermissionDenied (bureau reviewers and the system admin only), PortalError ("invalid").
    Audits catalog.classification.created.
    """
    if not actor.has_role(Role.BUREAU_REVIEWER, Role.SYSTEM_ADMIN):
        raise PermissionDenied(_("目录分类由市大数据局维护"))
    level = parent.level + 1
    problems: dict[str, list[str]] = {}
    code_part = _text(code_part)
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
    if not _text(name):
        problems["name"] = [_("请填写分类名称")]
    code = parent.code + code_part
    if not problems and Classification.objects.filter(code=code).exists():
        problems["code_part"] = [_("分类代码 %(code)s 已存在") % {"code": code}]
    _raise_problems(problems)
    with transaction.atomic():
        node = Classification.objects.create(
            code=code, name=_text(name), level=level, parent=parent, resource_class=parent.resource_class
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


__all__ = [
    "catalog_entry_approve",
    "catalog_entry_county_pass",
    "catalog_entry_delete",
    "catalog_entry_return",
    "catalog_entry_save",
    "catalog_entry_sign_off",
    "catalog_entry_submit",
    "classification_create",
    "classification_set_active",
    "demand_item_close",
    "demand_item_delete",
    "demand_item_save",
    "demand_item_submit",
    "entry_problems",
    "entry_snapshot",
    "responsibility_sync",
    "update_case_approve",
    "update_case_open",
    "update_case_return",
    "update_case_save",
    "update_case_submit",
    "update_case_withdraw",
]
