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
"""

from __future__ import annotations

import collections

import pytest
import schemathesis
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
