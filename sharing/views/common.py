"""What the sharing pages share: a service's refusal as a message (404 and 403 through portal.shortcuts.http_refusal);
a service run by a POST, with or without a form."""

from __future__ import annotations

from django.contrib import messages

from portal.errors import PortalError
from portal.shortcuts import http_refusal


def error_text(exc: PortalError) -> str:
    parts = [str(exc.detail)]
    for msgs in (exc.errors or {}).values():
        parts.extend(str(m) for m in (msgs if isinstance(msgs, list | tuple) else [msgs]))
    return " ".join(dict.fromkeys(parts))


def run_service(request, fn, success: str, **kwargs):
    try:
        result = fn(actor=request.user, **kwargs)
    except PortalError as exc:
        http_refusal(exc)
        messages.error(request, error_text(exc))
        return None
    messages.success(request, success)
    return result


def run_form_service(request, form, fn, success: str, invalid: str | None = None, **kwargs):
    """run_service with `kwargs` and the form's cleaned data when the form is valid; else the message `invalid`
    (None: the form's own errors)."""
    if form.is_valid():
        return run_service(request, fn, success, **kwargs, **form.cleaned_data)
    messages.error(request, invalid or " ".join(str(m) for errs in form.errors.values() for m in errs))
    return None
