"""Demands, read side: demand and gap lists, matching entries to a demand, the duplicate-collection guard (R17.1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, QuerySet

from portal.models import Department, User
from portal.permissions import int_or_none

from ..choices import DemandState, EntryState
from ..models import CatalogEntry, DataItem, DemandItem
from ..search import search_entries
from ..validation import item_key


@dataclass(frozen=True)
class DuplicateSource:
    item_name: str
    entry: CatalogEntry


def duplicate_sources(*, department: Department, items: list[dict[str, Any]]) -> list[DuplicateSource]:
    """Published data items of other departments that have the name of one of `items` (R17.1).

    Subject-key items (身份证号码, 统一社会信用代码…) are left out: every entry about people or
    organisations carries one to link its records, which is not duplicate collection. One query.
    """
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

