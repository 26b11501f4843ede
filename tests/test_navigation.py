"""Everything a role may use is reachable by clicking (issue 17, item 1).

In the demo world (`seed_demo`, one account per role) the page matrix of tests/page_matrix.py holds cell by cell;
then each account walks its navigation — from the home page, following the portal's own links and GET forms
breadth-first (at most MAX_DEPTH clicks) — and reaches every page its row of the matrix allows it (200). The allowed
set is the matrix, not a list of its own: a page that a role may open but no menu, sub-navigation or index page of
that role links fails here with the role and the page.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import URLResolver, get_resolver

from portal.models import User
from tests.crawl import route_name, walk
from tests.page_matrix import ACCOUNTS, NOT_PAGES, PAGES
from tests.permissions import check_matrix
from tests.support import sign_in

pytestmark = pytest.mark.django_db

MAX_DEPTH = 4  # home → a menu item → its index or sub-navigation → a row of a list → that row's action


def _routes(patterns, prefix="", namespace=None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(n for n in (namespace, pattern.namespace) if n) or None
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif pattern.name:
            yield prefix + str(pattern.pattern), f"{namespace}:{pattern.name}" if namespace else pattern.name


def page_routes_without_ids() -> set[str]:
    """URL names of the site's pages whose URL takes no argument (not the API, not the Django admin site)."""
    return {name for route, name in _routes(get_resolver().url_patterns)
            if "<" not in route and not route.startswith(("api/", "admin/"))}


def test_every_page_without_ids_is_in_the_matrix_or_named_as_no_page():
    rows = {row.label for row in PAGES}
    assert len(rows) == len(PAGES), "a page has two rows"
    assert not rows & set(NOT_PAGES)
    missing = page_routes_without_ids() - rows - set(NOT_PAGES)
    assert not missing, f"add these pages to tests/page_matrix.py (PAGES, or NOT_PAGES with why): {sorted(missing)}"
    assert not (rows | set(NOT_PAGES)) - page_routes_without_ids(), "tests/page_matrix.py names a route that is gone"


def test_each_role_reaches_every_page_its_matrix_allows_by_clicking():
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    people = {u.username: u for u in User.objects.filter(username__in=ACCOUNTS)}
    assert set(people) == set(ACCOUNTS)
    # The matrix holds in this world (one seed for both halves: seed_demo is the slow part).
    check_matrix(people, PAGES)
    unreached = []
    for username, user in people.items():
        pages = walk(sign_in(Client(), user), max_depth=MAX_DEPTH, forms=True)
        reached = {route_name(urlsplit(url).path) for url, status in pages.items() if status == 200}
        allowed = {row.label for row in PAGES if row.expect[username] == 200}
        unreached += [f"{username}: {name}" for name in sorted(allowed - reached)]
    assert not unreached, "pages a role may open but cannot reach by clicking:\n" + "\n".join(unreached)
