"""What higher floors tell the catalog at start-up: they register here, the catalog never imports them.

Share guard: whether a resource flagged for secrecy review may be made shareable (security registers it, R30).

Item changes: whether an update case's new data items fit the data already stored, and telling the storage they were
applied (aggregation registers both: its resource tables are migrated with the approval).

Data arrivals: when data last arrived for each catalog entry (the responsibility list's fulfilment, R9.1).
The aggregation chapter holds that fact (its datasets' last loads) and registers a provider in its
`AppConfig.ready()`. With no provider registered, fulfilment is "not measurable yet" and shows "filed".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

DataArrivals = Callable[[list[int]], dict[int, dt.datetime | None]]

# name -> provider; one provider per hook, the last registration wins.
_providers: dict[str, DataArrivals] = {}


def register_data_arrivals(provider: DataArrivals) -> None:
    """Register `provider(entry_ids) -> {entry id: last arrival or None}`; an entry left out has no data yet."""
    _providers["data_arrivals"] = provider


def data_arrivals(entry_ids: list[int]) -> dict[int, dt.datetime | None] | None:
    """When data last arrived per entry, from the registered provider; None when none is registered."""
    provider = _providers.get("data_arrivals")
    if provider is None:
        return None
    return provider(entry_ids)


# Share guard: whether an entry may be marked shareable (type 1 or 2) now. The security chapter keeps the secrecy
# review register (保密审查, R30) and registers a guard answering why not (a Chinese message), or None when it may.
ShareGuard = Callable[[int], str | None]


def register_share_guard(guard: ShareGuard) -> None:
    """Register `guard(entry_id) -> refusal message or None`, asked whenever an entry is made shareable."""
    _share_guards["share"] = guard


def share_refusal(entry_id: int) -> str | None:
    """Why the entry may not be marked shareable now (the registered guard's answer), or None."""
    guard = _share_guards.get("share")
    return guard(entry_id) if guard is not None else None


_share_guards: dict[str, ShareGuard] = {}


# Item changes: an approved update case changes the entry's data items (R10), and the aggregation chapter keeps data
# stored under them (its resource tables, issue 18). Before the change is applied the guard answers why the proposed
# items do not fit the stored values (a retype whose values would not convert: a Chinese message listing them) or
# None; after the items are applied, in the same transaction, the callback brings the storage along (it may refuse
# too, by raising PortalError, and then the approval is undone).
ItemChangeGuard = Callable[[int, list[dict]], str | None]
ItemsChanged = Callable[..., None]

_item_hooks: dict[str, Callable] = {}


def register_item_change_guard(guard: ItemChangeGuard) -> None:
    """Register `guard(entry_id, proposed_items) -> refusal message or None`, asked before an update case applies
    (inside its transaction; the guard may raise PortalError itself, e.g. when the data is busy)."""
    _item_hooks["guard"] = guard


def register_items_changed(callback: ItemsChanged) -> None:
    """Register `callback(entry_id, *, actor)`, called after an approved update case applied the entry's items."""
    _item_hooks["changed"] = callback


def item_change_refusal(entry_id: int, items: list[dict]) -> str | None:
    """Why the proposed items may not replace the entry's (the registered guard's answer), or None."""
    guard = _item_hooks.get("guard")
    return guard(entry_id, items) if guard is not None else None


def items_changed(entry_id: int, *, actor) -> None:
    """Tell the registered callback that the entry's items were applied (nothing when none is registered)."""
    callback = _item_hooks.get("changed")
    if callback is not None:
        callback(entry_id, actor=actor)
