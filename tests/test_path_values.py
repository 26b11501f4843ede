"""Every URL route with a free-text path parameter (`<str:…>`) refuses a bad value — NUL, another control character,
more than 200 characters — before it looks anything up: 400 `invalid` naming the parameter (API), 404 (pages). New
routes are found by walking the URLconf, so one added without portal.api.params.path_text fails here."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import PathConverter, StringConverter
from django.urls.resolvers import RoutePattern

from tests.api_params import BAD_PATH_TEXTS, assert_invalid, path_segment
from tests.support import sign_in

pytestmark = pytest.mark.django_db

# What stands in for the other converters of a route (an id, a slug such as a base database's kind).
_OTHER = {"int": "1", "slug": "population", "uuid": "00000000-0000-0000-0000-000000000000"}
_PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def _text_routes(patterns=None, prefix: str = ""):
    """(route, view class, names of its free-text parameters) of every path() route taking one."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if not isinstance(entry.pattern, RoutePattern):
            continue  # a regex route (DRF's routers: ids, slugs) takes no free text here
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver) and entry.app_name == "admin":
            continue  # Django's admin reads its own <path:object_id> (a bad one redirects with a message)
        if isinstance(entry, URLResolver):
            yield from _text_routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            # <str:…> and <path:…> (a slug's converter subclasses str's, but takes [-a-zA-Z0-9_] only).
            names = [n for n, c in entry.pattern.converters.items() if type(c) in (StringConverter, PathConverter)]
            if names:
                yield route, getattr(entry.callback, "cls", None), names


def _url(route: str, name: str, value: str) -> str:
    def fill(match):
        if match["name"] == name:
            return path_segment(value)
        return _OTHER.get(match["converter"] or "str", "x")

    return "/" + _PARAM.sub(fill, route)


def test_the_free_text_routes_are_found():
    found = {route for route, _cls, _names in _text_routes()}
    assert {"api/v1/data/<str:resource>/records/", "api/v1/data/<str:resource>/records/<str:key>/",
            "api/v1/data/<str:resource>/export/", "api/v1/sharing/interface/<str:resource>/",
            "api/v1/aggregation/subjects/<slug:kind>/<str:key>/"} <= found


@pytest.mark.parametrize("bad", BAD_PATH_TEXTS)
def test_every_free_text_route_refuses_a_bad_value(client, api_as, reviewer, bad):
    api, page = api_as(reviewer), client
    sign_in(page, reviewer)
    for route, cls, names in _text_routes():
        methods = [m for m in ("get", "post") if cls is None or hasattr(cls, m)]
        for name in names:
            url = _url(route, name, bad)
            for method in methods:
                if route.startswith("api/"):
                    assert_invalid(getattr(api, method)(url, format="json" if method == "post" else None), name)
                else:
                    assert getattr(page, method)(url).status_code == 404, (method, url)
