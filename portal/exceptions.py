"""One API exception handler: every error is `{"code": ..., "detail": ...}` with a stable code (portal.api.codes)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from portal.api.codes import api_code
from portal.errors import PortalError


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for value in detail.values():
            return _first_message(value)
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def api_exception_handler(exc, context):
    if isinstance(exc, PortalError):
        body = {"code": exc.code, "detail": str(exc.detail)}
        if exc.errors:
            body["errors"] = {k: [str(m) for m in v] for k, v in exc.errors.items()}
        return Response(body, status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("对象不存在或无权查看"))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django log it and answer 500
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"code": "invalid", "detail": _first_message(exc.detail), "errors": exc.detail}
        return response
    code = api_code(getattr(exc, "default_code", ""))  # the registry (portal.api.codes) maps DRF's codes
    if response.status_code == status.HTTP_401_UNAUTHORIZED or isinstance(exc, exceptions.NotAuthenticated):
        code = "not_authenticated"
    response.data = {"code": code, "detail": _first_message(getattr(exc, "detail", str(exc)))}
    return response
