"""What the registers' pages share: posting one workflow step of a register entry from its detail page."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect

from portal.errors import PortalError
from portal.shortcuts import http_refusal


def post_step(request, obj, form_class, step, done: str):
    """Run `step(**cleaned data)` (a service, its actor and entry already bound) for the POSTed `form_class`, then back
    to `obj`'s page: the form's problems or the service's refusal as messages (404 / 403 as pages answer them), or
    `done`."""
    form = form_class(request.POST)
    if not form.is_valid():
        for problems in form.errors.values():
            messages.error(request, " ".join(problems))
        return redirect(obj)
    try:
        step(**form.cleaned_data)
    except PortalError as exc:
        http_refusal(exc)
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, done)
    return redirect(obj)
