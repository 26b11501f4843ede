"""Catalog entries, read side: restricted lists, the master catalog, review queues, versions and their diffs."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from portal.choices import Role
from portal.models import User
from portal.permissions import county_region_id, int_or_none, is_head_of

from ..choices import DataType, EntryState, ExchangeMethod, FormatClass, OpenType, Sensitivity, ShareType, UpdateCycle
from ..models import ENTRY_FIELDS, CatalogEntry, DataItem
from ..search import search_entries
from ..validation import item_key

LIST_FILTERS = ("q", "state", "provider", "classification", "share_type", "update_cycle", "region", "format_class")



def catalog_entry_list(*, user: User, filters: dict | None = None) -> QuerySet[CatalogEntry]:
    """Entries `user` may see, filtered (catalog_entry_filter)."""
    qs = (
        CatalogEntry.objects.restrict(user, "view")
        .select_related("provider__region", "classification")
        .defer("search_vector")
    )
    return catalog_entry_filter(qs, filters or {})


def catalog_entry_filter(qs: QuerySet[CatalogEntry], filters: dict) -> QuerySet[CatalogEntry]:
    """`qs` filtered — the pages' and the API's one rule; ranked by relevance when `q` is given, otherwise by code.

    filters: q (Chinese search), state, provider (department id), classification (code prefix),
    share_type, update_cycle, region (region id of the provider), format_class.
    """
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
    "sensitivity": Sensitivity,
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
            for f in ("data_type", "length", "is_subject_key", "is_base_item", "description", "sensitivity",
                      "derived_from")
            if (before.get(f) or None) != (item.get(f) or None)
        ]
        if diffs:
            changed.append({"name": item["name"], "changes": diffs})
    items = {"added": added, "removed": removed, "changed": changed}
    return {"fields": fields, "items": items, "empty": not (fields or added or removed or changed)}


