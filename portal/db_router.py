"""Read replica (a PostgreSQL streaming standby) for the data API's record reads, when DATABASE_REPLICA_URL is set.

With the setting, config/settings/base.py adds the database alias `replica` (a read-only session:
`default_transaction_read_only=on`) and installs `ReplicaRouter`. What reads from it is explicit and narrow:

- inside `with replica_reads():` the ORM's reads (`db_for_read`) and `portal.db.prepared_cursor()` without an alias go
  to the replica — the data API wraps only the reading of the records themselves (the pull's page, the online query's
  subject, the export's rows), never the authorization: the entry, the grants and the policy's facts are read on the
  primary before, so a revoked grant takes effect at once whatever the replica's lag;
- `replica_alias()` names the alias for an explicit `.using(...)` / `connections[...]` (the streamed export, whose
  rows are read while the response is being sent, outside any `with`);
- every write goes to the primary: `db_for_write` is always `default`, `transaction.atomic()` and `connection` are the
  primary's, and the audit event of a read (`portal.audit.record`) is written through
  `prepared_cursor(DEFAULT_DB_ALIAS)`.

Consequence (docs/operator-guide.md): a record read from the replica is as old as the replica's replay — records
written in the last moments (typically well under a second on a LAN) may be missing from a pull or an online query.
The standby replays the primary's commits in commit order, so a page is always a consistent earlier state of the
primary, and the `since`/cursor logic holds as on the primary; the read's audit event is on the primary, committed
with no reference to the replica's state.

Without the setting nothing changes: the alias does not exist, `replica_reads()` does nothing and
`replica_alias()` is `default`.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"

_reading: ContextVar[bool] = ContextVar("portal_replica_reads", default=False)


def replica_configured() -> bool:
    return REPLICA in connections.settings


def replica_alias() -> str:
    """The alias the data API's record reads use: `replica` when configured, else `default`."""
    return REPLICA if replica_configured() else DEFAULT_DB_ALIAS


def read_alias() -> str:
    """The alias of a read right now: `replica` inside `replica_reads()` (when configured), else `default`."""
    return REPLICA if _reading.get() else DEFAULT_DB_ALIAS


@contextmanager
def replica_reads():
    """Reads inside go to the replica (ORM reads through the router, `prepared_cursor()` without an alias). Wrap plain
    calls only, never a generator's body across a `yield` (the variable would stay set in the consumer's frames)."""
    token = _reading.set(replica_configured())
    try:
        yield
    finally:
        _reading.reset(token)


class ReplicaRouter:
    """settings.DATABASE_ROUTERS when DATABASE_REPLICA_URL is set."""

    def db_for_read(self, model, **hints):
        return REPLICA if _reading.get() else None  # None: Django's own choice (the instance's database, else default)

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS  # never the replica, whatever database an instance was read from

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the two aliases hold the same data

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS  # the standby replays the primary's schema; nothing migrates it
