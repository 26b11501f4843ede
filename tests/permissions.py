"""The one permission-matrix helper: every request of a list, made as every person of a mapping, all cells at once.

A matrix is a list of `Row`s (method, URL or URL factory, body) each with the status every person should get:

    check_matrix(people, [
        Row("get", reverse("sharing:request-detail", args=[req.pk]),
            {"anonymous": LOGIN, "staff": 200, "other_staff": 200, "county": 404, "reviewer": 200}),
        Row("post", reverse("sharing:request-withdraw", args=[req.pk]), {"staff": 403, "other_staff": 302}),
    ], isolated=True)

`people` maps a name to a user (None: anonymous; a `SignedClient`: a signed API client's call, with `api=True`).
A row names only the people it checks. Every cell runs, and a failure lists every cell that differs (method, URL,
person, expected, got), not just the first.

- Expected statuses: an HTTP status, `LOGIN` (a page's redirect to the login page), or a set of them.
- `api=True` calls through DRF's APIClient (bodies as JSON) and checks that every refusal (4xx) answers the
  `{"code", "detail"}` shape; otherwise Django's test Client posts form data.
- `isolated=True` runs each cell in a savepoint rolled back afterwards, so each person meets the world as the
  fixture built it (e.g. both of two people allowed to revoke a grant find it unrevoked). Without it the cells run
  in order on one database, as a person clicking through would (a later row may rely on an earlier one).
- `Row.also(who, response)` asserts more about one cell (a list's row count); its AssertionError counts as a failure.
- A URL or body may be a zero-argument callable, evaluated when the cell runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.shortcuts import resolve_url
from django.test import Client
from rest_framework.test import APIClient

from tests.support import sign_in, signed_headers

LOGIN = "login"  # a page's answer to an anonymous visitor: 302 to the login page (an API answers 401)

Status = int | str


@dataclass(frozen=True)
class Row:
    """One request of a matrix and the status each person named in `expect` should get."""

    method: str
    url: str | Callable[[], str]
    expect: Mapping[str, Status | Iterable[Status]]
    body: Any = None
    also: Callable[[str, Any], None] | None = field(default=None, compare=False)
    label: str = ""


@dataclass(frozen=True)
class SignedClient:
    """A person who is an API client: each call carries a fresh signature (security.signing), no session."""

    client_id: str
    secret: str


def _status(response) -> tuple[int, bool]:
    """(status code, whether it is a redirect to the login page)."""
    location = response.get("Location", "") if response.status_code in (301, 302) else ""
    login = bool(location) and location.split("?", 1)[0].endswith(resolve_url(settings.LOGIN_URL))
    return response.status_code, login


def _matches(got: tuple[int, bool], expected) -> bool:
    options = expected if isinstance(expected, (set, frozenset, list, tuple)) else (expected,)
    return any(got[1] if option == LOGIN else got[0] == option for option in options)


def _shown(got: tuple[int, bool]) -> str:
    return f"{got[0]} (to the login page)" if got[1] else str(got[0])


def _request(user, row: Row, *, api: bool):
    url = row.url() if callable(row.url) else row.url
    body = row.body() if callable(row.body) else row.body
    method = row.method.lower()
    if isinstance(user, SignedClient):
        assert api, "a signed API client calls the API only (api=True)"
        return url, _signed_call(user, method, url, body)
    client = APIClient() if api else Client()
    if user is not None:
        sign_in(client, user)
    if method in ("get", "head", "options") or not api:
        return url, getattr(client, method)(url, body or {})
    return url, getattr(client, method)(url, body if body is not None else {}, format="json")


def _signed_call(signer: SignedClient, method: str, url: str, body):
    path, _, query = url.partition("?")
    if method in ("get", "head", "options"):
        headers = signed_headers(signer.client_id, signer.secret, method.upper(), path, query)
        return getattr(APIClient(), method)(url, **headers)
    data = json.dumps(body if body is not None else {}).encode()
    headers = signed_headers(signer.client_id, signer.secret, method.upper(), path, query, data)
    return APIClient().generic(method.upper(), url, data, content_type="application/json", **headers)


def _cell(user, who: str, row: Row, *, api: bool) -> str | None:
    """Run one cell; a description of how it differs, or None."""
    url, response = _request(user, row, api=api)
    got = _status(response)
    where = f"{row.method.upper()} {url}{f' [{row.label}]' if row.label else ''} as {who}"
    expected = row.expect[who]
    if not _matches(got, expected):
        hint = ""
        if api and response.get("Content-Type", "").startswith("application/json"):
            hint = f" {response.content[:200].decode(errors='replace')}"
        return f"{where}: expected {expected!r}, got {_shown(got)}{hint}"
    if api and 400 <= got[0] < 500 and not set(_json(response)) >= {"code", "detail"}:
        return f"{where}: a refusal without the {{code, detail}} shape: {response.content[:200]!r}"
    if row.also is not None:
        try:
            row.also(who, response)
        except AssertionError as exc:
            return f"{where}: {exc or 'also-check failed'}"
    return None


def _json(response) -> dict:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def check_matrix(people: Mapping[str, Any], rows: Iterable[Row], *, api: bool = False,
                 isolated: bool = False) -> None:
    """Run every cell (row x person the row names) and fail once, listing every cell that differs."""
    failures, cells = [], 0
    for row in rows:
        unknown = set(row.expect) - set(people)
        assert not unknown, f"{row.method} {row.url}: nobody called {sorted(unknown)} among the people"
        for who in row.expect:
            cells += 1
            if isolated:
                with transaction.atomic():
                    failure = _cell(people[who], who, row, api=api)
                    transaction.set_rollback(True)
            else:
                failure = _cell(people[who], who, row, api=api)
            if failure:
                failures.append(failure)
    if failures:
        pytest.fail(f"{len(failures)} of {cells} cells differ:\n  " + "\n  ".join(failures), pytrace=False)
