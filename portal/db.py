"""Prepared statements for the hot paths (the data calls' reads, the audit insert every call writes).

Django binds parameters on the client and never prepares; PostgreSQL then parses and plans every statement on every
call. For the few statements every data call runs, `prepared_cursor()` hands out a cursor whose statements are
prepared once per connection (planning the data call's entry statement cost 3× executing it).

Why not Django's own DATABASES OPTIONS (`server_side_binding` + `prepare_threshold`; tried in issue 13): they bind
every statement of the connection on the server, and statements with parameters PostgreSQL cannot type fail (the
pull's `json_build_object(%s, data -> %s)`: "could not determine data type of parameter"), for no measurable gain.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import cache

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from portal.db_router import read_alias


@cache
def _machinery():
    """What a prepared cursor is made of, built once per process: (psycopg cursor that prepares, Django's plain and
    logging cursor wrappers, the timestamptz loader's registration and the loader's key)."""
    from django.db.backends.postgresql.base import (
        TIMESTAMPTZ_OID,
        CursorDebugWrapper,
        ServerBindingCursor,
        register_tzloader,
    )
    from django.db.backends.utils import CursorWrapper
    from psycopg.pq import Format

    class PreparingCursor(ServerBindingCursor):
        """Server-side parameters, statement prepared on first use (psycopg keeps up to 100 per connection)."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True if prepare is None else prepare, binary=binary)

    class LoggingWrapper(CursorDebugWrapper):
        """Logs the statement with its parameters (psycopg keeps no client-side text of a prepared statement)."""

        def execute(self, sql, params=None):
            with self.debug_sql(self.db.ops.compose_sql(sql, params)):
                return CursorWrapper.execute(self, sql, params)

    return PreparingCursor, CursorWrapper, LoggingWrapper, register_tzloader, (TIMESTAMPTZ_OID, Format.TEXT)


def prepared_cursor(alias: str | None = None):
    """A cursor of the `alias` connection (None: `portal.db_router.read_alias()` — the replica inside
    `replica_reads()` when one is configured, else the primary) whose statements PostgreSQL plans once per
    connection instead of once per call (the data calls' hot reads and the audit insert).

    Django disables prepared statements by default for the sake of transaction-pooling proxies (pgbouncer < 1.21);
    the portal connects to PostgreSQL directly. PORTAL["PREPARED_READS"] = False turns this off. Only these cursors
    prepare (Django's own cursors bind on the client and never do). Made as `connection.cursor()` makes one (health
    check, thread check, errors translated, statements logged when Django logs queries), on the connection object
    itself rather than through the `connection` proxy (a context-local lookup per attribute).
    A writer passes DEFAULT_DB_ALIAS (the audit insert): a write never follows `replica_reads()`.
    """
    db = connections[alias or read_alias()]
    if db.vendor != "postgresql" or not settings.PORTAL.get("PREPARED_READS", True):
        return db.cursor()
    preparing, plain, logging, register_tzloader, tz_key = _machinery()
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    with db.wrap_database_errors:
        conn = db.connection
        if conn.prepare_threshold is None:  # Django's "never": only an explicit prepare=True prepares now
            conn.prepare_threshold = 2**31 - 1
        raw = preparing(conn)
        if db.timezone != conn.adapters.get_loader(*tz_key).timezone:
            register_tzloader(db.timezone, raw)  # as DatabaseWrapper.create_cursor does
    return (logging if db.queries_logged else plain)(raw, db)


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
