"""Every query parameter of every operation in the OpenAPI document, sent a hostile value — a NUL byte, superscript,
full-width and Arabic-Indic digits where a number is expected, 10 000 characters, a value outside an enum — answers
400 `invalid` naming that parameter (tests.api_params.assert_invalid): never a server error, never a 200 with the
value silently ignored. The parameters are read from the document, so a new one is covered when it is documented.

An unknown parameter name (a typo'd filter) answers the same way on every operation (docs/architecture.md, the read
path); the data API reads unknown names as item filters and refuses the ones that are no item of the resource.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest
from django.urls import reverse

from portal.models import AuditEvent
from tests.api_params import _CHINESE, assert_invalid
from tests.hostile.world import ADMIN_APIS, api_path_values, caller
from tests.support import signed_headers

pytestmark = pytest.mark.django_db

NUL = "1\x00"
LONG_DIGITS = "9" * 10_000
LONG_TEXT = "执" * 10_000
# Digits int() and Django's forms read, which are no ASCII digits: superscript, full-width, Arabic-Indic.
FOREIGN_DIGITS = ["²", "１２", "٣"]
PURPOSE = {"HTTP_X_PURPOSE": "行政审批：户籍核验".encode().decode("latin-1")}


def bad_values(schema: dict) -> list[str]:
    """The hostile values for a parameter of this OpenAPI schema."""
    if schema.get("enum"):
        return [NUL, "unknown", LONG_TEXT, *FOREIGN_DIGITS]
    kind, fmt = schema.get("type"), schema.get("format")
    if kind == "integer":
        return [NUL, LONG_DIGITS, "1.0", *FOREIGN_DIGITS]
    if kind == "boolean":
        return [NUL, "maybe", LONG_TEXT]
    if fmt in ("date", "date-time"):
        return [NUL, LONG_TEXT, "２０２６-01-01", "2026-13-45", *FOREIGN_DIGITS]
    return [NUL, LONG_TEXT]


def good_value(schema: dict) -> str:
    """A value a required parameter accepts, so that the one under test is the only wrong one."""
    if schema.get("enum"):
        return schema["enum"][0]
    return {"date": "2026-11-25", "date-time": "2026-11-25T08:00:00+08:00"}.get(schema.get("format"), "1")


def document(client) -> dict:
    response = client.get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    return response.json()


def operations(doc: dict):
    """(method, path template, its operation) of every operation."""
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield method, path, op


def fill(path: str, values: dict) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", str(value))
    assert "{" not in path, path
    return path


def call(client, method: str, url: str, query: dict):
    if method == "get":
        response = client.get(url, query, **PURPOSE)
    else:
        response = getattr(client, method)(f"{url}?{urlencode(query)}", {}, format="json", **PURPOSE)
    if response.streaming:  # a download went ahead: nothing was refused
        raise AssertionError(f"{response.status_code}: a download went ahead")
    return response


def assert_refused(response, name: str, path: str) -> None:
    """The refusal of parameter `name`: portal.api.params' shape, or on the data API its own messages (`fields 不能…`,
    an unknown item named under `items`) — 400 `invalid` all the same, short, the value not echoed, and audited."""
    if not path.startswith("/api/v1/data/"):
        assert_invalid(response, name)
        return
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["code"] == "invalid" and set(body["errors"]) & {name, "items"}, body
    assert len(response.content) < 1000 and _CHINESE.search(body["detail"]), body


def test_every_documented_query_parameter_refuses_hostile_values(world, api_as):
    clients = {path: api_as(caller(world, path)) for path in ADMIN_APIS}
    client = api_as(world.people["staff"])
    doc = document(client)
    paths = api_path_values(world)
    failures, checked, names = [], 0, set()
    for method, path, op in operations(doc):
        params = [p for p in op.get("parameters", []) if p["in"] == "query"]
        if not params:
            continue
        url = fill(path, paths.get(path, {}))
        required = {p["name"]: good_value(p["schema"]) for p in params if p.get("required")}
        for param in params:
            names.add(f"{method} {path} {param['name']}")
            for bad in bad_values(param["schema"]):
                checked += 1
                audited = AuditEvent.objects.filter(action="sharing.data.refused").count()
                try:
                    response = call(clients.get(path, client), method, url, {**required, param["name"]: bad})
                    assert_refused(response, param["name"], path)
                    # A refused data call (a read) is audited like any other refusal; the provider's POST of records
                    # is a write, refused before it touches anything.
                    if path.startswith("/api/v1/data/") and method == "get":
                        assert AuditEvent.objects.filter(action="sharing.data.refused").count() == audited + 1
                except AssertionError as exc:
                    failures.append(f"{method.upper()} {url} {param['name']}={bad[:12]!r}: {str(exc)[:300]}")
    assert len(names) >= 40 and checked >= 200, (len(names), checked)
    assert not failures, f"{len(failures)} of {checked} refusals differ:\n" + "\n".join(failures)


def is_list(op: dict) -> bool:
    """A GET reading query parameters: documented ones, or a paginated list's `cursor` / `limit`."""
    return any(p["in"] == "query" for p in op.get("parameters", []))


def test_every_list_refuses_an_unknown_parameter_name(world, api_as):
    clients = {path: api_as(caller(world, path)) for path in ADMIN_APIS}
    client = api_as(world.people["staff"])
    doc = document(client)
    paths = api_path_values(world)
    failures, checked = [], 0
    for method, path, op in operations(doc):
        if method != "get" or not is_list(op) or path.startswith("/api/v1/data/"):
            continue
        url = fill(path, paths.get(path, {}))
        required = {p["name"]: good_value(p["schema"]) for p in op.get("parameters", [])
                    if p["in"] == "query" and p.get("required")}
        checked += 1
        response = call(clients.get(path, client), method, url, {**required, "sate": "draft"})
        try:
            assert_invalid(response, "sate")
        except AssertionError as exc:
            failures.append(f"GET {url}: {str(exc)[:300]}")
    assert checked >= 12
    assert not failures, f"{len(failures)} of {checked} operations differ:\n" + "\n".join(failures)


@pytest.mark.parametrize(("query", "name"), [
    ("fields=" + quote("姓名\x00性别"), "fields"), ("limit=" + quote("１２"), "limit"),
    ("limit=" + "9" * 10_000, "limit"), ("since=" + quote("２０２６-01-01"), "since"),
    ("fields=" + quote("执" * 3000), "items"), (quote("姓名") + "=" + quote("张\x00三"), "姓名"),
])
def test_a_signed_data_call_with_a_hostile_parameter_is_refused_and_audited(world, api_client, query, name):
    """The same data API called by an API client's signed request (no session): 400 `invalid`, and the refusal is an
    audit event naming the client — the trail shows who probed what."""
    client, secret = world.rows["api_client"], world.rows["api_secret"]
    path = f"/api/v1/data/{world.rows['entry'].resource_key}/records/"
    headers = signed_headers(client.client_id, secret, "GET", path, query)
    response = api_client.get(f"{path}?{query}", **headers, **PURPOSE)
    assert response.status_code == 400 and len(response.content) < 1000, response.content[:300]
    body = response.json()
    assert body["code"] == "invalid" and name in body["errors"], body
    event = AuditEvent.objects.filter(action="sharing.data.refused").latest("id")
    assert event.actor_id is None and event.actor_label == f"client:{client.client_id}" and event.result == "denied"
    assert event.data["code"] == "invalid" and "\x00" not in str(event.data)
