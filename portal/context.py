"""Per-request context (client IP, request id) for audit events written deep inside services."""

from __future__ import annotations

import contextvars
import uuid
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


def new_request_id() -> str:
    return uuid.uuid4().hex
