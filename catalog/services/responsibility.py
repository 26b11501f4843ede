"""Responsibility lists (R9.1): each approved entry's data items as lines of its provider's list."""

from __future__ import annotations

import datetime as dt

from ..models import CatalogEntry, ResponsibilityItem


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

