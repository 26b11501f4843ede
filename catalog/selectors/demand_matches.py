"""Which published catalog entries can meet a demand line, and why (R8.1, R17.1): the API's `matches`."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from ..models import CatalogEntry, DataItem, DemandItem
from ..validation import item_key
from .demands import matching_entries


@dataclass
class EntryMatch:
    entry: CatalogEntry
    common_items: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def demand_matches(*, demand: DemandItem, limit: int = 10) -> list[EntryMatch]:
    """The published entries of other departments that can meet `demand` now (the rule of `matching_entries`),
    each with the demanded items it holds and the reasons in Chinese. Two queries plus the matching's."""
    entries = matching_entries(
        department=demand.department, text=demand.needed_data, item_names=demand.item_names, limit=limit
    )
    wanted = {item_key(n): n for n in demand.item_names if n}
    held: dict[int, set[str]] = {}
    for entry_id, name in DataItem.objects.filter(entry__in=[e.pk for e in entries]).values_list("entry_id", "name"):
        held.setdefault(entry_id, set()).add(item_key(name))
    found = []
    for entry in entries:
        common = [name for key, name in wanted.items() if key in held.get(entry.pk, set())]
        if not common:
            reasons = [_("名称、摘要或信息项与「%(text)s」相符") % {"text": demand.needed_data}]
        else:
            reasons = [_("含所需信息项：%(items)s") % {"items": "、".join(common)}]
            if missing := [n for k, n in wanted.items() if k not in held.get(entry.pk, set())]:
                reasons.append(_("不含：%(items)s") % {"items": "、".join(missing)})
        found.append(EntryMatch(entry=entry, common_items=common, reasons=reasons))
    return found
