"""Catalog read side: restricted lists, the master catalog, review queues, matching, diffs, responsibility lists."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from portal.choices import Role
from portal.models import Department, User
from portal.permissions import int_or_none

from .choices import (
    CYCLE_DAYS,
    DataType,
    DemandState,
    EntryState,
    ExchangeMethod,
    FormatClass,
    Fulfilment,
    OpenType,
    ShareType,
    UpdateCycle,
)
from .models import ENTRY_FIELDS, CatalogEntry, CatalogUpdateCase, DataItem, DemandItem, ResponsibilityItem
from .querysets import county_region_id, is_head_of
from .search import search_entries

LIST_FILTERS = ("q", "state", "provider", "classification", "share_type", "update_cycle", "region", "format_class")



def catalog_entry_list(*, user: User, filters: dict | None = None) -> QuerySet[CatalogEntry]:
    """Entries `user` may see, filtered; ranked by relevance when `q` is given, otherwise by code.

    filters: q (Chinese search), state, provider (department id), classification (code prefix),
    share_type, update_cycle, region (region id of the provider), format_class.
    """
    filters = filters or {}
    qs = (
        CatalogEntry.objects.restrict(user, "view")
        .select_related("provider__region", "classification")
        .defer("search_vector")
    )
    if filters.get("state"):
        qs = qs.filter(state=filters["state"])
    if int_or_none(filters.get("provider")):
        qs = qs.filter(provider_id=int_or_none(filters["provider"]))
    if filters.get("classification"):
        qs = qs.filter(classification__code__startswith=str(filters["classification"]).strip())
    for name in ("share_type", "update_cycle", "format_class"):
        if filters.get(name):
            qs = qs.filter(**{name: filters[name]})
    if int_or_none(filters.get("region")):
        qs = qs.filter(provider__region_id=int_or_none(filters["region"]))
    query = (filters.get("q") or "").strip()
    if query:
        return search_entries(qs, query)
    return qs.order_by("code", "id")


def master_catalog(*, user: User, filters: dict | None = None) -> QuerySet[CatalogEntry]:
    """The 总目录 (R8.3): every published entry, searchable and filterable."""
    return catalog_entry_list(user=user, filters={**(filters or {}), "state": EntryState.APPROVED})


def review_queue(*, user: User) -> QuerySet[CatalogEntry]:
    """Entries waiting for `user` to act: sign-off (head), county pre-review, bureau review."""
    q = Q(pk__in=[])
    if is_head_of(user, user.department_id):
        q |= Q(state=EntryState.SIGNOFF, provider_id=user.department_id)
    region_id = county_region_id(user)
    if region_id:
        q |= Q(state=EntryState.COUNTY_REVIEW, provider__region_id=region_id)
    if user.is_authenticated and user.has_role(Role.BUREAU_REVIEWER):
        q |= Q(state=EntryState.BUREAU_REVIEW)
    return (
        CatalogEntry.objects.restrict(user, "view")
        .filter(q)
        .select_related("provider__region", "classification")
        .order_by("updated_at", "id")
    )


def entry_detail(entry: CatalogEntry) -> dict[str, Any]:
    """Items, review trail and versions of one entry (3 queries)."""
    return {
        "items": list(entry.items.order_by("position")),
        "reviews": list(entry.reviews.select_related("actor__department").order_by("id")),
        "versions": list(entry.versions.select_related("approved_by").order_by("-number")),
    }


def region_summary(*, user: User) -> list[dict[str, Any]]:
    """Per department of the caller's scope: entry counts by state (the county bureau's 汇总, R8.3)."""
    rows = (
        CatalogEntry.objects.restrict(user, "view")
        .filter(Q(provider__region_id=user.department.region_id) if county_region_id(user) else Q())
        .values("provider_id", "provider__name", "provider__region__name", "state")
        .annotate(n=Count("id"))
        .order_by("provider__region__code", "provider__name")
    )
    table: dict[int, dict[str, Any]] = {}
    for row in rows:
        line = table.setdefault(
            row["provider_id"],
            {
                "provider_id": row["provider_id"],
                "provider": row["provider__name"],
                "region": row["provider__region__name"],
                "total": 0,
                **{s.value: 0 for s in EntryState},
            },
        )
        line[row["state"]] = row["n"]
        line["total"] += row["n"]
    return list(table.values())


# --------------------------------------------------------------------------------------------------
# Versions


FIELD_LABELS = {f.name: f.verbose_name for f in CatalogEntry._meta.get_fields() if hasattr(f, "verbose_name")}
ITEM_LABELS = {f.name: f.verbose_name for f in DataItem._meta.get_fields() if hasattr(f, "verbose_name")}
_CHOICES = {
    "format_class": FormatClass,
    "share_type": ShareType,
    "open_type": OpenType,
    "update_cycle": UpdateCycle,
    "data_type": DataType,
}


def display_value(field: str, value: Any) -> str:
    """A snapshot value as people read it (choice labels, 是/否, lists joined)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(_("是")) if value else str(_("否"))
    if field == "exchange_methods":
        labels = dict(ExchangeMethod.choices)
        return "、".join(str(labels.get(v, v)) for v in value) or "—"
    if isinstance(value, list):
        return "、".join(str(v) for v in value) or "—"
    if field in _CHOICES:
        return str(dict(_CHOICES[field].choices).get(value, value))
    return str(value)


# What a version diff compares: every filed field but the secrecy flag (a published entry is never secret).
_DIFF_FIELDS = tuple(f for f in ENTRY_FIELDS if f != "is_secret")


def version_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What changed between two snapshots ({"values", "items"}): fields, and items added / removed / changed."""
    from .services import item_key

    old_v, new_v = old.get("values", {}), new.get("values", {})
    fields = []
    for name in _DIFF_FIELDS:
        a, b = old_v.get(name), new_v.get(name)
        if (a or None) != (b or None):
            fields.append(
                {
                    "field": name,
                    "label": FIELD_LABELS.get(name, name),
                    "old": display_value(name, a),
                    "new": display_value(name, b),
                }
            )
    old_items = {item_key(i["name"]): i for i in old.get("items", [])}
    new_items = {item_key(i["name"]): i for i in new.get("items", [])}
    added = [i["name"] for k, i in new_items.items() if k not in old_items]
    removed = [i["name"] for k, i in old_items.items() if k not in new_items]
    changed = []
    for key, item in new_items.items():
        before = old_items.get(key)
        if before is None:
            continue
        diffs = [
            {
                "field": f,
                "label": str(ITEM_LABELS.get(f, f)),
                "old": display_value(f, before.get(f)),
                "new": display_value(f, item.get(f)),
            }
            for f in ("data_type", "length", "is_subject_key", "is_base_item", "description")
            if (before.get(f) or None) != (item.get(f) or None)
        ]
        if diffs:
            changed.append({"name": item["name"], "changes": diffs})
    items = {"added": added, "removed": removed, "changed": changed}
    return {"fields": fields, "items": items, "empty": not (fields or added or removed or changed)}


# --------------------------------------------------------------------------------------------------
# Matching: demands and the duplicate-collection guard (R17.1)


@dataclass(frozen=True)
class DuplicateSource:
    item_name: str
    entry: CatalogEntry


def duplicate_sources(*, department: Department, items: list[dict[str, Any]]) -> list[DuplicateSource]:
    """Published data items of other departments that have the name of one of `items` (R17.1).

    Subject-key items (身份证号码, 统一社会信用代码…) are left out: every entry about people or
    organisations carries one to link its records, which is not duplicate collection. One query.
    """
    from .services import item_key

    wanted = {
        item_key(i.get("name", "")): i.get("name") for i in items if i.get("name") and not i.get("is_subject_key")
    }
    if not wanted:
        return []
    # Stored names are compared as typed; the normalised form catches full-width and spacing variants.
    variants = set(wanted.values()) | set(wanted.keys())
    rows = (
        DataItem.objects.filter(entry__state=EntryState.APPROVED, name__in=variants, is_subject_key=False)
        .exclude(entry__provider_id=department.pk)
        .select_related("entry__provider", "entry__classification")
        .order_by("entry__code", "position")[:50]
    )
    return [DuplicateSource(item_name=r.name, entry=r.entry) for r in rows]


def matching_entries(
    *, department: Department, text: str, item_names: list[str], limit: int = 10
) -> list[CatalogEntry]:
    """Published entries of other departments that can meet a demand: same item names first, then search hits."""
    from .services import item_key

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


# --------------------------------------------------------------------------------------------------
# Responsibility lists (R9.1)


@dataclass
class ResponsibilityLine:
    item: ResponsibilityItem
    status: str
    status_label: str
    last_data_at: dt.datetime | None = None


def _data_arrivals(entry_ids: list[int]) -> dict[int, dt.datetime | None] | None:
    """When data last arrived per entry, from the aggregation chapter's tables; None until they exist.

    Reads `aggregation.Dataset` (one per entry, SPEC glossary) when that model has an `entry` link and a
    last-load timestamp; any other shape means "not measurable yet".
    """
    try:
        dataset = apps.get_model("aggregation", "Dataset")
    except LookupError:
        return None
    names = {f.name for f in dataset._meta.get_fields()}
    stamp = next(
        (n for n in ("last_loaded_at", "last_updated_at", "data_updated_at", "updated_at") if n in names), None
    )
    if "entry" not in names or stamp is None:
        return None
    rows = dataset.objects.filter(entry_id__in=entry_ids).values_list("entry_id", stamp)
    return dict(rows)


def fulfilment(lines: list[ResponsibilityItem], *, today: dt.date) -> list[ResponsibilityLine]:
    """Fulfilment per responsibility line: data on cycle when the aggregation chapter can tell, else filed."""
    entry_ids = sorted({r.entry_id for r in lines})
    arrivals = _data_arrivals(entry_ids)
    updating = (
        set(CatalogUpdateCase.objects.running().filter(entry_id__in=entry_ids).values_list("entry_id", flat=True))
        if entry_ids
        else set()
    )
    labels = dict(Fulfilment.choices)
    out = []
    for line in lines:
        last = None
        if line.entry_id in updating:
            status = Fulfilment.UPDATING
        elif arrivals is None:
            status = Fulfilment.FILED
        else:
            last = arrivals.get(line.entry_id)
            days = CYCLE_DAYS.get(line.update_cycle)
            if last is None:
                status = Fulfilment.NO_DATA
            elif days is None or (today - last.date()).days <= max(days, 1):
                status = Fulfilment.ON_TIME
            else:
                status = Fulfilment.LATE
        out.append(ResponsibilityLine(item=line, status=status, status_label=str(labels[status]), last_data_at=last))
    return out


def responsibility_list(*, user: User, department_id: int | None = None) -> QuerySet[ResponsibilityItem]:
    """Current responsibility lines within `user`'s scope, optionally of one department."""
    qs = ResponsibilityItem.objects.restrict(user, "view").current().select_related("entry", "department")
    if department_id:
        qs = qs.filter(department_id=department_id)
    return qs.order_by("department__name", "entry__code", "id")


def responsibility_departments(*, user: User) -> QuerySet[Department]:
    """Departments whose responsibility list `user` may open."""
    from portal.permissions import department_scope_q

    scope = department_scope_q(user, "department")
    ids = ResponsibilityItem.objects.filter(scope).values("department_id")
    return Department.objects.filter(pk__in=ids).order_by("region__code", "name")


def demands_addressed_unfiled(*, department: Department) -> QuerySet[DemandItem]:
    """Submitted demands addressed to `department` that no catalog entry meets yet (to be filed)."""
    return (
        DemandItem.objects.filter(provider=department, state=DemandState.SUBMITTED, matches__isnull=True)
        .select_related("department")
        .order_by("submitted_at")
    )


def update_case_list(*, user: User, filters: dict | None = None) -> QuerySet[CatalogUpdateCase]:
    filters = filters or {}
    qs = CatalogUpdateCase.objects.restrict(user, "view")
    if filters.get("state"):
        qs = qs.filter(state=filters["state"])
    return qs.select_related("entry", "department").order_by("-id")
