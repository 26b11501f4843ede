"""Per-request context (client IP, request id) for audit events written deep inside services."""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip: str | None = None
    request_id: str = ""


_EMPTY = RequestContext()
_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar("portal_request", default=_EMPTY)


def current() -> RequestContext:
    return _current.get()


def bind(ctx: RequestContext) -> contextvars.Token:
    return _current.set(ctx)


def reset(token: contextvars.Token) -> None:
    _current.reset(token)


@contextmanager
def restored(ctx: RequestContext) -> Iterator[None]:
    """Bind a request's context again for work that outlives its middleware: a streamed response's blocks and
    its closing audit event run after RequestContextMiddleware has unbound it (capture `current()` in the view)."""
    token = bind(ctx)
    try:
        yield
    finally:
        reset(token)


def new_request_id() -> str:
    return uuid.uuid4().hex
