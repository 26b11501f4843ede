"""Hooks a higher chapter registers with the catalog in its AppConfig.ready() (the arrow never runs back up).

`register_data_arrivals(provider)`: `provider(entry_ids: list[int]) -> dict[int, datetime | None]` tells when
data last arrived per catalog entry (the aggregation chapter's pool); without one the responsibility list cannot
measure fulfilment and says "filed".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

DataArrivals = Callable[[list[int]], dict[int, dt.datetime | None]]

_data_arrivals: DataArrivals | None = None


def register_data_arrivals(provider: DataArrivals) -> None:
    """Register the provider of data arrival times (the last one registered wins)."""
    global _data_arrivals
    _data_arrivals = provider


def data_arrivals(entry_ids: list[int]) -> dict[int, dt.datetime | None] | None:
    """When data last arrived per entry, or None while no provider is registered."""
    return _data_arrivals(entry_ids) if _data_arrivals is not None else None
