"""Data items' declared sensitivity and derivation (R28.3): proposals filled in where the filer left them blank.

The proposal is portal.personal_data.propose (by the items' names); the filer may change it in the entry form, the
API or the Excel sheet, and the reviewers see it with the other item columns. Masking reads the declaration.
"""

from __future__ import annotations

from collections.abc import Iterable

from portal.personal_data import propose


def fill_declarations(items: list[dict]) -> list[dict]:
    """The item dicts of one entry (sync_items' input) with a blank sensitivity filled by the proposal (and then
    derived_from too, unless the filer gave one); a given declaration is kept as it is."""
    proposals = propose(items)
    filled = []
    for item in items:
        item = dict(item)
        if not item.get("sensitivity"):
            sensitivity, source = proposals.get((item.get("name") or "").strip(), ("public", ""))
            item["sensitivity"] = sensitivity
            item["derived_from"] = item.get("derived_from") or source
        item.setdefault("derived_from", "")
        filled.append(item)
    return filled


def declare_undeclared(item_model, entry_ids: Iterable[int] | None = None) -> int:
    """Give every undeclared item (sensitivity "") its proposed declaration, entry by entry; the number of items
    declared. The data migration 0003 calls it with the historical model (items filed before declarations)."""
    rows = item_model.objects.filter(sensitivity="")
    if entry_ids is not None:
        rows = rows.filter(entry_id__in=list(entry_ids))
    entries = sorted(set(rows.values_list("entry_id", flat=True)))
    declared = 0
    for entry_id in entries:
        items = list(item_model.objects.filter(entry_id=entry_id).order_by("position"))
        proposals = propose(items)
        changed = []
        for item in items:
            if item.sensitivity:
                continue
            item.sensitivity, source = proposals[item.name.strip()]
            item.derived_from = item.derived_from or source
            changed.append(item)
        item_model.objects.bulk_update(changed, ["sensitivity", "derived_from"])
        declared += len(changed)
    return declared
