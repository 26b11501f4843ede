"""The OpenAPI document's error answers: one `Error` schema, and on every operation the error statuses it can answer.

The statuses are derived from the view, not listed per view (REST_FRAMEWORK DEFAULT_SCHEMA_CLASS):

- 400 `invalid` (and the use cases' refusals): an operation with parameters or a body;
- 401 / 403 / 404: an authenticated operation (the middleware's `otp_required` / `password_expired` are 403 too;
  an administrator outside their area gets 404, portal.confinement);
- 404: an operation with parameters or a body: a path's object (detail routes, the signed data API's `{resource}`),
  or one a query parameter or body field names (`?department=`, `"dataset": 416`), missing or not visible; and every
  path under /api/ no route matches (portal.api.views.not_found);
- 409: a state-changing method (InvalidTransition, TableBusy, RoleConflict …);
- 415: an operation with a body (a body in another media type);
- 416: an operation reading a `Range` header (a resumable download: `range_not_satisfiable`);
- 429: a view with throttles (the signed client's rate, security.signing.throttling);
- 503: a view that reads signed calls (the replay guard, Redis, unreachable: security.signing.errors.Unavailable).

A view that can answer more says so with `api_error_statuses` (e.g. `(404,)` for an endpoint that hides itself);
statuses an `@extend_schema(responses=…)` already documents are left as the view wrote them.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from .codes import CODE_CHOICES

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SIGNED = "security.signing.authentication.ClientSignatureAuthentication"


class ErrorSerializer(serializers.Serializer):
    """An error answer (portal.exceptions): a stable code for programs, a message for people."""

    code = serializers.ChoiceField(choices=CODE_CHOICES, help_text="稳定的错误代码（portal.api.codes）")
    detail = serializers.CharField(help_text="错误说明（中文）")
    errors = serializers.DictField(
        required=False, help_text="400 invalid 时按字段（或参数）给出的错误：字段名 → 错误说明列表（嵌套时逐层给出）",
    )

    class Meta:
        ref_name = "Error"


def _authenticated(view) -> bool:
    return not all(isinstance(permission, AllowAny) for permission in view.get_permissions())


def _signed(view) -> bool:
    return any(f"{type(auth).__module__}.{type(auth).__qualname__}" == SIGNED for auth in view.get_authenticators())


class PortalAutoSchema(AutoSchema):
    def error_statuses(self, operation: dict) -> set[int]:
        view, method = self.view, self.method.upper()
        statuses = set(getattr(view, "api_error_statuses", ()))
        body = "requestBody" in operation
        headers = {p["name"].lower() for p in operation.get("parameters", ()) if p.get("in") == "header"}
        if operation.get("parameters") or body:
            statuses |= {400, 404}
        if body:
            statuses.add(415)
        if "range" in headers:
            statuses.add(416)
        if _authenticated(view):
            statuses |= {401, 403, 404}
        if method in UNSAFE:
            statuses.add(409)
        if view.get_throttles():
            statuses.add(429)
        if _signed(view):
            statuses.add(503)
        return statuses

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for status in sorted(self.error_statuses(operation)):
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(
                    ErrorSerializer, str(status), media_types=["application/json"])
        return operation
