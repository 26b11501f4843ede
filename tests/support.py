"""Small helpers shared by tests: waiting on another process (a Celery worker, a killed child), committing from
another session, signing a call as an API client."""

import secrets
import time


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1) -> bool:
    """Poll `predicate` until it is true (True) or `timeout` seconds pass (False)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return False


def commit_elsewhere(*statements: tuple[str, list]) -> None:
    """Run (sql, params) statements in another database session and commit them: a concurrent writer, for tests of
    what a page reads while someone else commits (use with django_db(transaction=True))."""
    import psycopg
    from django.db import connection

    params = {k: v for k, v in connection.get_connection_params().items() if k != "context"}
    with psycopg.connect(**params, autocommit=True) as other:
        for sql, args in statements:
            other.execute(sql, args)


def commit_before(monkeypatch, owner, name: str, *statements: tuple[str, list]) -> None:
    """Make `owner.name` (a function a page calls between two of its reads) first commit `statements` in another
    session (commit_elsewhere), then run as before: a concurrent writer committing in the middle of the page."""
    original = getattr(owner, name)

    def committing_first(*args, **kwargs):
        commit_elsewhere(*statements)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, committing_first)


def signed_headers(client_id: str, secret: str, method: str, path: str, query: str = "", body: bytes = b"",
                   *, timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
    """Django test-client keyword headers (HTTP_X_…) of a correctly signed call."""

    from security.signing.scheme import sign

    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(16)
    return {
        "HTTP_X_CLIENT_ID": client_id,
        "HTTP_X_TIMESTAMP": ts,
        "HTTP_X_NONCE": nonce,
        "HTTP_X_SIGNATURE": sign(secret, method, path, query, ts, nonce, body),
    }
