"""schemathesis over the whole OpenAPI document (/api/schema/), as a department's data staff member and as a bureau
reviewer, through the WSGI application (no server) on this test's database: no answer is a server error, and the
document tells the truth about every answer — its status is listed for the operation (errors included: the `Error`
schema, portal.api.schema), its content type is the listed one, its body fits the listed schema.

The world (tests/hostile/world.py) gives each path's ids real rows half of the time, so lists, details and actions
reach their code past the 404. Each operation gets examples that fit the document and examples that do not
(schemathesis' negative mode: wrong types, NUL bytes, out-of-range values in every parameter and body field), without
shrinking: ≈ 1.5 minutes for both people on a busy 2-core machine. Nothing is excluded: multipart operations get
generated form bodies like any other. Driven through schemathesis' Python API (operation.as_strategy) rather than its
pytest plugin, whose lazy loader does not run under pytest 9 (`Function._nodeid`).

A second run calls the data endpoints (/api/v1/data/…: pull, online query, download, push) as an API client, each call
signed by the client kit's own `sign` (clients/jiaozuo_client.py) in a WSGI hook in front of the application that
reads the request exactly as the server will (method, decoded path, raw query, body): every generated call reaches the
handlers as the world's client (other_dept's, with a grant on the world's resource) rather than stopping at 401.
"""

from __future__ import annotations

import collections
import importlib.util
import io
import secrets
import time
from pathlib import Path

import pytest
import schemathesis
from django.core.handlers.wsgi import get_path_info
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.hostile.world import api_path_values
from tests.support import sign_in

pytestmark = pytest.mark.django_db

# No server error; and the document tells the truth: each answer's status is listed for its operation (errors with
# the `Error` schema, portal.api.schema), its content type is the one listed, its body fits the listed schema.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _session(user) -> tuple[dict[str, str], dict[str, str]]:
    """(headers, cookies) of a complete login of `user` (tests.support.sign_in) with a CSRF token: the session API as
    the portal's own scripts use it, unsafe methods included."""
    client = sign_in(Client(), user)
    session = client.cookies["sessionid"].value
    request = RequestFactory().get("/")
    token = get_token(request)
    csrf_cookie = request.META["CSRF_COOKIE"]
    return {"X-CSRFToken": token}, {"sessionid": session, "csrftoken": csrf_cookie}


@pytest.fixture
def no_connection_reset():
    """The WSGI handler closes a connection that is inside a transaction at each request's start and end (Django's
    test client does not): this test's transaction holds the world, so the handler must leave it open."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _fuzz(cases, examples: int, headers: dict, cookies: dict, seen: collections.Counter, checks: list):
    """A hypothesis test calling the application with `examples` of `cases`, counting answers by status in `seen`."""

    @given(case=cases)
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call(headers=headers, cookies=cookies)
        seen[response.status_code] += 1
        case.validate_response(response, checks=checks)

    return run


@pytest.mark.parametrize(("who", "examples"), [("staff", 10), ("reviewer", 5)])
def test_the_api_never_answers_a_server_error(world, no_connection_reset, who, examples):
    headers, cookies = _session(world.people[who])
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    # The document's security schemes (a token header, the session cookie) are this person's own, not generated.
    schema.config.generation.update(with_security_parameters=False)
    real = api_path_values(world)
    failures, operations = [], 0
    statuses = collections.defaultdict(collections.Counter)
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        strategies = []
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategies.append(operation.as_strategy(mode))
            if operation.path in real:
                strategies.append(operation.as_strategy(mode, path_parameters=real[operation.path]))

        run = _fuzz(st.one_of(strategies), examples, headers, cookies, statuses[operation.label], CHECKS)
        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{operation.label}: {exc}"[:3000])
    assert operations >= 60, operations
    # Signed in throughout (a lost session would turn every call into a harmless 401), and past the 404 for most.
    assert not [label for label, seen in statuses.items() if 401 in seen], statuses
    answered = [label for label, seen in statuses.items() if any(200 <= status < 300 for status in seen)]
    assert len(answered) >= 20, (len(answered), statuses)
    calls = sum(sum(seen.values()) for seen in statuses.values())
    summary = f"{len(failures)} of {operations} operations failed ({calls} calls):\n"
    assert not failures, summary + "\n\n".join(failures)


def _client_kit():
    """clients/jiaozuo_client.py (standard library only, not a package): loaded from its file."""
    spec = importlib.util.spec_from_file_location("jiaozuo_client", Path(__file__).resolve().parents[2] / "clients"
                                                  / "jiaozuo_client.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DATA_PATHS = "/api/v1/data/"


class SigningHook:
    """WSGI middleware signing every call under /api/v1/data/ as API client `client_id` with the client kit's `sign`
    (SPEC §9.1): the decoded path as Django reads it, the raw query string, the body bytes; a fresh nonce each call."""

    def __init__(self, app, client_id: str, secret: str):
        self.app, self.client_id, self.secret = app, client_id, secret
        self.sign = _client_kit().sign
        self.signed = 0

    def __call__(self, environ, start_response):
        path = get_path_info(environ)
        if path.startswith(DATA_PATHS):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
            environ.update(
                HTTP_X_CLIENT_ID=self.client_id, HTTP_X_TIMESTAMP=timestamp, HTTP_X_NONCE=nonce,
                HTTP_X_SIGNATURE=self.sign(self.secret, environ["REQUEST_METHOD"], path,
                                           environ.get("QUERY_STRING", ""), timestamp, nonce, body))
            # A WSGI server sets the peer's address (werkzeug's test environ has none): the client's allowed network.
            environ.setdefault("REMOTE_ADDR", "127.0.0.1")
            self.signed += 1
        return self.app(environ, start_response)


PURPOSE = "%E4%B8%9A%E5%8A%A1%E5%8D%8F%E5%90%8C"  # 业务协同, percent-encoded UTF-8 (as the client kit sends it)
KNOWN_CALLS = {
    "GET /api/v1/data/{resource}/records/": [{"query": {"limit": 1}}, {"query": {"since": "2000-01-01T00:00:00Z"}}],
    "GET /api/v1/data/{resource}/records/{key}/": [{}],
    "GET /api/v1/data/{resource}/export/": [{"query": {"format": "csv"}}, {"query": {"format": "xlsx"}},
                                            {"query": {"format": "csv"}, "headers": {"Range": "bytes=0-9"}}],
    # The world's client is the consumer's: the provider's push is refused (403), and that answer is documented too.
    "POST /api/v1/data/{resource}/records/": [{"body": [{"姓名": "张三"}], "media_type": "application/json"}],
}


def test_the_data_api_as_a_signed_client(world, no_connection_reset):
    """The data endpoints as the world's API client: 0 server errors, 0 conformance failures, no call refused 401."""
    client = world.rows["api_client"]
    client.rate_per_minute = 100_000  # the fuzz's calls are not what the rate limit is tested with
    client.save(update_fields=["rate_per_minute"])
    hook = SigningHook(get_wsgi_application(), client.client_id, world.rows["api_secret"])
    schema = schemathesis.openapi.from_wsgi("/api/schema/", hook)
    schema.config.generation.update(with_security_parameters=False)
    real = api_path_values(world)
    failures = []
    statuses = collections.defaultdict(collections.Counter)
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith(DATA_PATHS):
            continue
        strategies = [operation.as_strategy(mode, **kwargs) for mode in (GenerationMode.POSITIVE,
                                                                         GenerationMode.NEGATIVE)
                      for kwargs in ({}, {"path_parameters": real[operation.path]})]
        # First the calls an integrator makes (each GET answers data), then the generated ones.
        for known in KNOWN_CALLS[operation.label]:
            known = dict(known)
            headers = {"X-Purpose": PURPOSE, **known.pop("headers", {})}
            case = operation.Case(path_parameters=real[operation.path], headers=headers, **known)
            response = case.call()
            statuses[operation.label][response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} {known}: {exc}"[:3000])
        run = _fuzz(st.one_of(strategies), 15, {}, {}, statuses[operation.label], CHECKS)
        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{operation.label}: {exc}"[:3000])
    assert set(statuses) == {"GET /api/v1/data/{resource}/records/", "POST /api/v1/data/{resource}/records/",
                             "GET /api/v1/data/{resource}/records/{key}/", "GET /api/v1/data/{resource}/export/"}
    assert not failures, f"{len(failures)} operations failed:\n" + "\n\n".join(failures)
    # Every call was signed and accepted as the client's (none refused 401), and each read answered data.
    calls = sum(sum(seen.values()) for seen in statuses.values())
    assert hook.signed == calls and not [label for label, seen in statuses.items() if 401 in seen], statuses
    reads = [label for label, seen in statuses.items() if label.startswith("GET")
             and any(200 <= status < 300 for status in seen)]
    assert len(reads) == 3 and statuses["GET /api/v1/data/{resource}/export/"][206], statuses
