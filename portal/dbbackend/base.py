"""Django's PostgreSQL backend, the per-request health check skipped for a connection that proved itself just now.

With CONN_HEALTH_CHECKS on, Django sends `SELECT 1` before the first statement of every request on a persistent
connection: a whole extra round trip on every API call (the online query makes four others: one in Redis, three in
PostgreSQL). The check is there for a connection that died while it sat idle (a database restart, a firewall dropping
an idle session). Here it is skipped when the same connection finished its previous request without error less than
HEALTH_CHECK_GRACE seconds ago; an idle connection is still checked before it is used again. A restart inside that
second fails the requests in flight either way; such a request answers 500 and Django then drops the connection
(its errors_occurred check), as it would without the grace.
"""

from __future__ import annotations

import time

from django.db.backends.postgresql import base

HEALTH_CHECK_GRACE = 1.0


class DatabaseWrapper(base.DatabaseWrapper):
    _proven_at: float | None = None

    def close_if_unusable_or_obsolete(self):
        """Django's end-of-request (and start-of-request) check, then: a connection that just passed it needs no
        `SELECT 1` before the next request's first statement if that comes within HEALTH_CHECK_GRACE seconds."""
        super().close_if_unusable_or_obsolete()
        if self.connection is None or self.errors_occurred or not self.health_check_enabled:
            self._proven_at = None
            return
        now = time.monotonic()
        if self._proven_at is not None and now - self._proven_at < HEALTH_CHECK_GRACE:
            self.health_check_done = True
        self._proven_at = now
