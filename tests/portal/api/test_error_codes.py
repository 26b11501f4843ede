"""The registry of error codes (portal.api.codes) is complete: every code a PortalError can be raised with — a
subclass's own, or a literal (or module constant) passed as `code=` to a PortalError class anywhere in the apps — is
listed, and the OpenAPI document's `Error.code` enum is exactly the registry."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from django.test import Client

from portal.api.codes import CODES, SERVICE_CODES
from portal.errors import PortalError

ROOT = Path(__file__).resolve().parents[3]
APPS = ("portal", "catalog", "security", "aggregation", "sharing", "supervision")


def _resolve(namespace, node):
    """The object an expression `Name` or `a.b.c` names in a module, or None."""
    if isinstance(node, ast.Name):
        return getattr(namespace, node.id, None)
    if isinstance(node, ast.Attribute):
        base = _resolve(namespace, node.value)
        return None if base is None else getattr(base, node.attr, None)
    return None


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _raised_codes() -> tuple[dict[str, list[str]], list[str]]:
    """{code: [where]} of every code a PortalError is constructed with; the places whose code is not a constant."""
    found: dict[str, list[str]] = {}
    dynamic: list[str] = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts:
                continue
            module = importlib.import_module(".".join(relative.with_suffix("").parts).removesuffix(".__init__"))
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                keyword = isinstance(node, ast.Call) and next((k for k in node.keywords if k.arg == "code"), None)
                if not keyword:
                    continue
                cls = _resolve(module, node.func)
                if not (isinstance(cls, type) and issubclass(cls, PortalError)):
                    continue
                where = f"{relative}:{node.lineno}"
                given = keyword.value
                value = given.value if isinstance(given, ast.Constant) else _resolve(module, given)
                if isinstance(value, str):
                    found.setdefault(value, []).append(where)
                else:
                    dynamic.append(where)
    for cls in (PortalError, *_subclasses(PortalError)):
        found.setdefault(cls.code, []).append(f"{cls.__module__}.{cls.__qualname__}")
    return found, dynamic


def test_every_code_a_service_raises_is_registered():
    found, dynamic = _raised_codes()
    unknown = {code: where for code, where in found.items() if code not in CODES}
    assert not unknown, f"codes missing from portal.api.codes.SERVICE_CODES: {unknown}"
    # A code computed at run time cannot be checked here: name it in the registry and pass the constant.
    assert not dynamic, dynamic
    # The scan sees the services (a broken scan would find nothing and pass).
    assert {"already_approved", "table_busy", "no_grant", "weights_not_100", "replayed"} <= set(found)


def test_the_registry_lists_no_code_nobody_raises():
    found, _ = _raised_codes()
    # The middleware answers these two itself (portal.middleware: JsonResponse), outside any PortalError.
    stale = SERVICE_CODES - set(found) - {"otp_required", "password_expired"}
    assert not stale, stale


def test_the_document_enumerates_the_registry_and_documents_errors(db):
    document = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    schemas = document["components"]["schemas"]
    assert schemas["ErrorCodeEnum"]["enum"] == list(CODES)
    assert set(schemas["Error"]["required"]) == {"code", "detail"}
    # Derived from the view: a signed-in detail route answers 401, 403, 404; the public seal key none of them.
    grant = document["paths"]["/api/v1/sharing/grants/{id}/"]["get"]["responses"]
    assert {"401", "403", "404"} <= set(grant), sorted(grant)
    assert grant["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    # The signed data API: the replay guard's 503, the throttle's 429; the resumable export's Range its 416.
    export = document["paths"]["/api/v1/data/{resource}/export/"]["get"]["responses"]
    assert {"400", "404", "416", "429", "503"} <= set(export), sorted(export)
    # A state change can meet a state that refuses it (InvalidTransition): 409.
    assert "409" in document["paths"]["/api/v1/sharing/grants/{id}/revoke/"]["post"]["responses"]
    seal = document["paths"]["/api/v1/audit/seal-key/"]["get"]["responses"]
    assert set(seal) == {"200"}, sorted(seal)


def test_an_api_path_no_route_matches_answers_the_json_error(api_as, staff):
    client = api_as(staff)
    answer = client.get("/api/v1/aggregation/jobs/not-a-number/")
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/json"
    assert answer.json()["code"] == "not_found"
    page = client.get("/no-such-page/")  # the site's own pages keep the HTML 404
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")
