"""Following the portal's own links as a signed-in person would: the one crawler of the site-walk and navigation tests.

`walk(client)` starts at the home page and follows every same-site link (`<a href>`, GET only; on request the
actions of GET forms) breadth-first: a few
instances per URL name (two entries, two records, …) so every kind of page is reached without visiting ten thousand
records, optionally no deeper than `max_depth` clicks from the home page. Links that end the session or change the
language are never followed.
"""

from __future__ import annotations

from collections import Counter, deque
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

from django.test import Client
from django.urls import Resolver404, resolve

# URLs nobody should click in a walk: they end the session or post a form.
SKIP_NAMES = {"logout", "set_language", "admin:logout", "admin:view_on_site"}
PER_NAME = 2  # instances of one URL name followed per account
MAX_PAGES = 300  # per account: a walk that finds more has a link explosion worth a look


class _Links(HTMLParser):
    def __init__(self, forms: bool):
        super().__init__()
        self.forms = forms
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        elif self.forms and tag == "form" and attrs.get("action") and (attrs.get("method") or "get").lower() == "get":
            self.hrefs.append(attrs["action"])


def links(html: str, *, forms: bool = False) -> list[str]:
    """The `href` of every `<a>` of `html`, in document order; with `forms`, the `action` of every GET form too
    (submitting a filter or a selection on a list is a click: the form's page is reached with nothing chosen)."""
    parser = _Links(forms)
    parser.feed(html)
    return parser.hrefs


def route_name(path: str) -> str | None:
    """The URL name (`namespace:name`) `path` resolves to, or None."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.view_name


def walk(client: Client, *, max_depth: int | None = None, forms: bool = False) -> dict[str, int]:
    """{url: status} of the pages reachable from the home page by following links (at most `max_depth` clicks;
    with `forms`, submitting GET forms too)."""
    seen: dict[str, int] = {}
    per_name: Counter = Counter()
    queue = deque([("/", 0)])
    while queue and len(seen) < MAX_PAGES:
        url, depth = queue.popleft()
        if url in seen:
            continue
        response = client.get(url)
        seen[url] = response.status_code
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        if max_depth is not None and depth >= max_depth:
            continue
        for href in links(response.content.decode(), forms=forms):
            href = urldefrag(href)[0]
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or not parts.path.startswith("/"):
                continue
            name = route_name(parts.path)
            if name is None or name in SKIP_NAMES or href in seen:
                continue
            if per_name[name] >= PER_NAME:
                continue
            per_name[name] += 1
            queue.append((href, depth + 1))
    return seen
