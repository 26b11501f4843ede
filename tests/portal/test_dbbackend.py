"""portal.dbbackend: the per-request health check is skipped only for a connection that proved itself just now."""

import pytest


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # autocommit, as between requests
def test_health_check_skipped_only_within_the_grace(monkeypatch):
    from django.db import connections

    from portal.dbbackend import base

    connection = connections["default"]  # the wrapper itself, not the proxy
    assert isinstance(connection, base.DatabaseWrapper) and connection.health_check_enabled
    connection.ensure_connection()
    monkeypatch.setattr(connection, "close_at", None)  # tests run with CONN_MAX_AGE = 0; here it persists
    checks = []
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or True)

    connection.close_if_unusable_or_obsolete()  # end of a request: the connection served it without error
    connection.close_if_unusable_or_obsolete()  # start of the next one, moments later
    connection.close_if_health_check_failed()  # its first statement
    assert checks == []

    monkeypatch.setattr(base, "HEALTH_CHECK_GRACE", 0.0)  # the connection sat idle past the grace
    connection.close_if_unusable_or_obsolete()
    connection.close_if_health_check_failed()
    assert checks == [1]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_connection_that_failed_is_checked_again(monkeypatch):
    from django.db import connections

    connection = connections["default"]  # the wrapper itself, not the proxy

    connection.ensure_connection()
    monkeypatch.setattr(connection, "close_at", None)
    connection.close_if_unusable_or_obsolete()
    monkeypatch.setattr(connection, "is_usable", lambda: False)  # the database went away during the request
    connection.errors_occurred = True
    connection.close_if_unusable_or_obsolete()
    assert connection.connection is None and connection._proven_at is None
