"""What higher floors tell the catalog at start-up: they register here, the catalog never imports them.

Share guard: whether a resource flagged for secrecy review may be made shareable (security registers it, R30).

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
