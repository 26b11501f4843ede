"""The one rule of "data on cycle" (R9.1 fulfilment, R15.1 quality timeliness, R33 update timeliness).

A line (or dataset) whose entry declares update cycle C is on time on day D when data last arrived on day L with
D − L ≤ allowance(C) calendar days, allowance(C) = CYCLE_DAYS[C] with at least one day ("realtime" is allowed one
day). A cycle without a fixed period ("other") has no allowance: any arrival is on time. No arrival: not on time.

Python readers call `on_cycle`; set-based readers (the annual assessment's SQL over every department at once) build
the same rule from `allowance_values_sql()` (the allowances as a VALUES table) and `LATE_SQL` — both generated
from `cycle_allowance`, so the rule has one definition.
"""

from __future__ import annotations

import datetime as dt

from .choices import CYCLE_DAYS


def cycle_allowance(cycle: str) -> int | None:
    """Calendar days cycle `cycle` allows between two loads; None when it has no fixed period."""
    days = CYCLE_DAYS.get(cycle)
    return None if days is None else max(days, 1)


def on_cycle(cycle: str, last: dt.date | None, today: dt.date) -> bool:
    """Whether data that last arrived on `last` is on its cycle on `today` (the rule above)."""
    if last is None:
        return False
    allowance = cycle_allowance(cycle)
    return allowance is None or (today - last).days <= allowance


def allowance_values_sql() -> str:
    """`(VALUES ('daily', 1), …, ('other', NULL)) AS cycles(cycle, allowance)` for joining on a cycle column."""
    rows = ", ".join(
        f"('{cycle}', {'NULL::int' if cycle_allowance(cycle) is None else cycle_allowance(cycle)})"
        for cycle in CYCLE_DAYS
    )
    return f"(VALUES {rows}) AS cycles(cycle, allowance)"


# Not on time, in SQL: `last` a local date or NULL, `today` a date, `allowance` from allowance_values_sql().
LATE_SQL = "({last} IS NULL OR ({allowance} IS NOT NULL AND ({today} - {last}) > {allowance}))"
