"""The page routes of the URLconf (not the API, not Django's admin), each with its URL onto the world's rows."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RoutePattern

# Routes that are no page a person reads: machine endpoints, language switch, the OpenAPI document and its viewers
# (third-party templates; the document is JSON).
NOT_PAGES = {"healthz", "set_language", "api-schema", "api-docs", "api-redoc"}


def page_routes(patterns=None, prefix: str = "", namespace: str = ""):
    """(route, namespaced name, parameter names) of every page route."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin" or route.startswith("api/"):
                continue
            ns = ":".join(filter(None, [namespace, entry.namespace]))
            yield from page_routes(entry.url_patterns, route, ns)
        elif isinstance(entry, URLPattern) and isinstance(entry.pattern, RoutePattern):
            if entry.name in NOT_PAGES or route.startswith("api/"):
                continue
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            yield route, name, list(entry.pattern.converters)


def page_urls(world):
    """(namespaced name, URL) of every page route; routes whose ids the world does not know fail the caller."""
    urls, unknown = [], []
    for route, name, params in page_routes():
        if not params:
            urls.append((name, reverse(name)))
            continue
        kwargs = world.kwargs(name)
        if kwargs is None:
            unknown.append(route)
            continue
        urls.append((name, reverse(name, kwargs=kwargs)))
    assert not unknown, f"give these routes' ids in tests/hostile/world.py World.kwargs: {unknown}"
    return urls
