"""Demands, read side: demand and gap lists, matching entries to a demand, the duplicate-collection guard (R17.1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from portal.models import Department, User
from portal.permissions import int_or_none
from portal.validators import subject_key_kind

from ..choices import DemandState, EntryState
from ..models import CatalogEntry, DataItem, DemandItem
from ..search import search_entries
from ..validation import item_key

# ---------------------------------------------------------------------------------- duplicate collection (R17.1)
#
# A new entry collects the same data about the same kind of subject as another source when
#   1. base: it repeats base data items (DataItem.is_base_item) of an approved entry keyed by the same kind of subject
#      key (公民身份号码 → the population base, 统一社会信用代码 → the legal-person base; another key: the same key
#      item) — at least one of them a substantive item;
#   2. overlap: its substantive items largely overlap an approved entry's about the same kind of subject — at least
#      OVERLAP_MIN shared and at least OVERLAP_SHARE of the new entry's substantive items;
#   3. demand: its department's own submitted demand for these items is already answered by another department's
#      entry (the department asked to share this data; it now files to collect it).
# A substantive item is one that is neither the subject key (every entry about people carries one to link its
# records) nor a generic descriptive item (GENERIC_ITEMS): those alone never make a duplicate.
# Entries of the filing department itself are never a duplicate source.

OVERLAP_MIN = 2
OVERLAP_SHARE = 0.5
# Descriptive items nearly every entry about a person, an organisation or an event carries (compared as item_key).
GENERIC_ITEMS = frozenset(item_key(n) for n in (
    "姓名", "性别", "年龄", "国籍", "名称", "联系人", "联系电话", "电话", "手机", "手机号", "手机号码", "联系方式",
    "电子邮箱", "邮箱", "地址", "联系地址", "通讯地址", "邮政编码", "备注", "说明", "描述", "日期", "时间",
    "登记日期", "登记时间", "更新日期", "更新时间", "创建时间", "录入时间", "办理日期", "状态", "类型", "类别",
    "编号", "序号", "经办人", "区域代码", "行政区划代码", "所属区县",
))
# The base databases (R13.2) as the catalog names them, by the kind of their subject key (aggregation.selectors.basedb).
BASE_NAMES = {"id_number": _lazy("人口基础库"), "credit_code": _lazy("法人基础库")}


@dataclass(frozen=True)
class DuplicateSource:
    """One hit of the guard: where the data is already collected, which of the new entry's items, and why."""

    kind: str  # "base", "overlap" or "demand" (the three rules above)
    entry: CatalogEntry  # the existing source (for a demand: the entry that answers it)
    item_names: tuple[str, ...]
    reason: str  # in Chinese, shown on the entry form and page
    demand: DemandItem | None = None

    @property
    def item_name(self) -> str:
        return "、".join(self.item_names)


def is_generic_item(name: str) -> bool:
    """A descriptive item (姓名, 性别, 联系电话, 地址, 备注, 日期…) that alone never makes a duplicate."""
    return item_key(name) in GENERIC_ITEMS


def _subject(items) -> str | None:
    """The kind of subject an entry's items describe: its subject key's kind (the key item itself for "other")."""
    for item in items:
        if _get(item, "is_subject_key"):
            name = _get(item, "name") or ""
            kind = subject_key_kind(name)
            return f"other:{item_key(name)}" if kind == "other" else kind
    return None


def _get(item, field: str):
    return item.get(field) if isinstance(item, dict) else getattr(item, field)


def _provider_name(entry: CatalogEntry) -> str:
    return entry.provider.short_name or entry.provider.name


def duplicate_sources(*, department: Department, items: list[dict[str, Any]]) -> list[DuplicateSource]:
    """Where the data of a new entry (`items`: name, is_subject_key) filed by `department` is already collected
    (R17.1, the rules above), each hit with its reason. Three queries."""
    names = {item_key(i.get("name", "")): i["name"] for i in items if i.get("name")}
    subject = _subject(items)
    key = next((item_key(i["name"]) for i in items if i.get("name") and i.get("is_subject_key")), None)
    substantive = {k: n for k, n in names.items() if k != key and k not in GENERIC_ITEMS}
    if not substantive:
        return []
    # Stored names are compared as typed; the normalised form catches full-width and spacing variants.
    variants = set(substantive.values()) | set(substantive)
    candidates = (
        CatalogEntry.objects.filter(state=EntryState.APPROVED, items__name__in=variants)
        .exclude(provider_id=department.pk)
        .distinct()
        .select_related("provider")
        .prefetch_related(Prefetch("items", queryset=DataItem.objects.order_by("position")))
        .order_by("code")
    )
    hits: list[DuplicateSource] = []
    for entry in candidates:
        theirs = list(entry.items.all())
        other = _subject(theirs)
        if subject is not None and other is not None and subject != other:
            continue  # the same item names about another kind of subject (a vehicle's 登记日期, a person's)
        hit = _base_hit(entry, theirs, names, substantive, key, subject, other) or _overlap_hit(
            entry, theirs, substantive)
        if hit:
            hits.append(hit)
    hits.sort(key=lambda h: (h.kind != "base", -len(h.item_names), h.entry.code))
    return hits + _demand_hits(department, substantive)


def _in_order(names: dict[str, str], wanted) -> tuple[str, ...]:
    return tuple(n for k, n in names.items() if k in wanted)


def _base_hit(entry, theirs, names, substantive, key, subject, other) -> DuplicateSource | None:
    if subject is None or subject != other:
        return None
    base = {item_key(i.name) for i in theirs if i.is_base_item}
    if not base & set(substantive):
        return None
    shared = _in_order(names, base & (set(substantive) | {key}))
    where = BASE_NAMES.get(subject) or _("%(provider)s“%(entry)s”的基础数据") % {
        "provider": _provider_name(entry), "entry": entry.name}
    return DuplicateSource("base", entry, shared, _("与%(base)s重复采集：%(items)s") % {
        "base": where, "items": "、".join(shared)})


def _overlap_hit(entry, theirs, substantive) -> DuplicateSource | None:
    shared = set(substantive) & {item_key(i.name) for i in theirs}
    if len(shared) < OVERLAP_MIN or len(shared) < OVERLAP_SHARE * len(substantive):
        return None
    items = _in_order(substantive, shared)
    return DuplicateSource("overlap", entry, items, _(
        "与%(provider)s“%(entry)s”的信息项大量重复（本条目 %(m)d 项实质信息项中 %(n)d 项）：%(items)s") % {
        "provider": _provider_name(entry), "entry": entry.name, "m": len(substantive), "n": len(items),
        "items": "、".join(items)})


def _demand_hits(department: Department, substantive: dict[str, str]) -> list[DuplicateSource]:
    demands = (
        DemandItem.objects.filter(department=department, state=DemandState.SUBMITTED, matches__isnull=False)
        .distinct()
        .prefetch_related(Prefetch("matches", queryset=CatalogEntry.objects.exclude(provider=department)
                                   .filter(state=EntryState.APPROVED).select_related("provider").order_by("code")))
        .order_by("id")
    )
    hits = []
    for demand in demands:
        answers = list(demand.matches.all())
        items = _in_order(substantive, set(substantive) & {item_key(n) for n in demand.item_names})
        if not answers or not items:
            continue
        hits.append(DuplicateSource("demand", answers[0], items, _(
            "本部门需求“%(demand)s”已由%(provider)s“%(entry)s”满足，应申请共享：%(items)s") % {
            "demand": demand.needed_data, "provider": _provider_name(answers[0]), "entry": answers[0].name,
            "items": "、".join(items)}, demand=demand))
    return hits


def matching_entries(
    *, department: Department, text: str, item_names: list[str], limit: int = 10
) -> list[CatalogEntry]:
    """Published entries of other departments that can meet a demand: same item names first, then search hits."""
    base = CatalogEntry.objects.filter(state=EntryState.APPROVED).exclude(provider_id=department.pk)
    found: dict[int, CatalogEntry] = {}
    names = {n for n in item_names if n} | {item_key(n) for n in item_names if n}
    if names:
        for entry in base.filter(items__name__in=names).select_related("provider").distinct().order_by("code")[:limit]:
            found[entry.pk] = entry
    if text and len(found) < limit:
        for entry in search_entries(base.select_related("provider"), text)[: limit - len(found)]:
            found.setdefault(entry.pk, entry)
    return list(found.values())[:limit]


def demand_list(*, user: User, filters: dict | None = None) -> QuerySet[DemandItem]:
    """Demand items `user` may see (own department, addressed to it, region, or city), with their matches."""
    filters = filters or {}
    qs = (
        DemandItem.objects.restrict(user, "view")
        .select_related("department", "provider")
        .prefetch_related(
            Prefetch("matches", queryset=CatalogEntry.objects.select_related("provider").order_by("code"))
        )
    )
    if filters.get("state"):
        qs = qs.filter(state=filters["state"])
    if int_or_none(filters.get("department")):
        qs = qs.filter(department_id=int_or_none(filters["department"]))
    if filters.get("addressed"):
        qs = qs.filter(provider_id=user.department_id)
    return qs.order_by("-id")


def gap_list(*, user: User) -> QuerySet[DemandItem]:
    """Submitted demands with no source in the catalog: the bureau's gap list (R17.1)."""
    return (
        DemandItem.objects.restrict(user, "review")
        .filter(state=DemandState.SUBMITTED, matches__isnull=True)
        .select_related("department", "provider")
        .order_by("submitted_at", "id")
    )



def demands_addressed_unfiled(*, department: Department) -> QuerySet[DemandItem]:
    """Submitted demands addressed to `department` that no catalog entry meets yet (to be filed)."""
    return (
        DemandItem.objects.filter(provider=department, state=DemandState.SUBMITTED, matches__isnull=True)
        .select_related("department")
        .order_by("submitted_at")
    )

