"""Database helpers of the kernel: `one_snapshot()` (a page's reads from one snapshot).

Prepared statements are Django's own: settings' DATABASES OPTIONS `server_side_binding` + `prepare_threshold`.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections, transaction


@contextmanager
def one_snapshot():
    """A transaction whose statements all read the same snapshot (REPEATABLE READ), for a page assembled from several
    queries: without it each statement sees the commits made before it, so a build committing between two of them
    showed its new rows under the old count. Writes inside (an audit event) are fine: they insert new rows only.
    Inside a transaction that is already open, that transaction's isolation applies (it cannot change any more).
    Also a view decorator: `@one_snapshot()` (each call opens its own transaction)."""
    db = connections[DEFAULT_DB_ALIAS]
    outermost = not db.in_atomic_block
    with transaction.atomic():
        if outermost and db.vendor == "postgresql":
            with db.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield
