"""What the sharing pages share: a service's refusal as a response (404, 403 or a message); a service run by a POST."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404

from portal.errors import NotFound, PermissionDenied, PortalError


def http_error(exc: PortalError):
    """Out of scope → 404, in scope but not allowed → 403; other refusals are shown as messages."""
    if isinstance(exc, NotFound):
        raise Http404 from exc
    if isinstance(exc, PermissionDenied):
        raise DjangoPermissionDenied(str(exc.detail)) from exc


def error_text(exc: PortalError) -> str:
    parts = [str(exc.detail)]
    for msgs in (exc.errors or {}).values():
        parts.extend(str(m) for m in (msgs if isinstance(msgs, list | tuple) else [msgs]))
    return " ".join(dict.fromkeys(parts))


def run_service(request, fn, success: str, **kwargs):
    try:
        result = fn(actor=request.user, **kwargs)
    except PortalError as exc:
        http_error(exc)
        messages.error(request, error_text(exc))
        return None
    messages.success(request, success)
    return result
