"""Checks that every HTML page the portal renders is well-formed where people and assistive tools depend on it.

Used by the test settings as a middleware (`HtmlIntegrityMiddleware`), so every page any test renders is checked:
- no element id is used twice (a label, an anchor or a script would find the wrong element);
- every <label for=…> names an element of the page (otherwise clicking the label, or a screen reader, finds nothing);
- every <input type="date"> holds an ISO date or nothing (browsers show any other value as an empty field);
- every visible form control has a name for people who cannot see the layout: a <label> (around it or naming its
  id), aria-label, aria-labelledby or title (GB/T 37668 web accessibility; a placeholder is not a label);
- no inline code, which the Content-Security-Policy refuses: no <script> without src (a json_script data block aside),
  no <style> element, no style="…" attribute, no on…= event attribute or htmx hx-on attribute, no javascript: URL —
  inside <template> too (a script clones it into the page);
- every HTML response, whatever its status, carries a Content-Security-Policy header without 'unsafe-inline'
  (the ReDoc page's scoped style allowance aside, see CSP_INLINE_STYLE_PAGES).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UNLABELLED_TYPES = frozenset({"hidden", "submit", "button", "reset", "image"})  # named by their value or not shown
_DATA_SCRIPT_TYPES = frozenset({"application/json", "application/ld+json"})  # data, never run
_URL_ATTRS = frozenset({"href", "src", "action", "formaction", "data", "xlink:href"})
# Pages whose view adds 'unsafe-inline' to style-src (csp_update in config/urls.py): ReDoc injects <style> at run time.
CSP_INLINE_STYLE_PAGES = frozenset({"/api/redoc/"})


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: dict[str, int] = {}
        self.label_targets: list[str] = []
        self.bad_dates: list[str] = []
        self.controls: list[tuple[str, str, bool]] = []  # (description, id, labelled otherwise) of form controls
        self.inline: list[str] = []  # inline code the Content-Security-Policy refuses
        self._in_template = 0
        self._in_label = 0

    def _inline_code(self, tag, attrs):
        a = dict(attrs)
        where = f"<{tag}{' id=' + repr(a['id']) if a.get('id') else ''}>"
        if tag == "script" and not a.get("src") and (a.get("type") or "").lower() not in _DATA_SCRIPT_TYPES:
            self.inline.append(f"inline <script> at {where}")
        if tag == "style":
            self.inline.append("inline <style> element")
        for name, value in attrs:
            if name == "style":
                self.inline.append(f"style attribute on {where}")
            elif name.startswith("on") or name.startswith("hx-on"):
                self.inline.append(f"{name} attribute on {where}")
            elif name in _URL_ATTRS and (value or "").strip().lower().startswith("javascript:"):
                self.inline.append(f"javascript: URL in {name} of {where}")

    def handle_starttag(self, tag, attrs):
        self._inline_code(tag, attrs)
        if tag == "template":  # a <template>'s content is not part of the page until a script clones it
            self._in_template += 1
            return
        if self._in_template:
            return
        a = dict(attrs)
        if a.get("id"):
            self.ids[a["id"]] = self.ids.get(a["id"], 0) + 1
        if tag == "label":
            self._in_label += 1
            if a.get("for"):
                self.label_targets.append(a["for"])
        if tag in ("input", "select", "textarea") and (a.get("type") or "").lower() not in _UNLABELLED_TYPES:
            named = bool(self._in_label or a.get("aria-label") or a.get("aria-labelledby") or a.get("title"))
            self.controls.append((f"<{tag} name={a.get('name')!r}>", a.get("id") or "", named))
        date_value = a.get("value") if tag == "input" and (a.get("type") or "").lower() == "date" else None
        if date_value and not _ISO_DATE.match(date_value):
            self.bad_dates.append(f"{a.get('name')}={date_value!r}")

    def handle_endtag(self, tag):
        if tag == "template" and self._in_template:
            self._in_template -= 1
        if tag == "label" and self._in_label and not self._in_template:
            self._in_label -= 1


def problems(html: str) -> list[str]:
    """What is wrong with the page, in words (empty when nothing is)."""
    c = _Collector()
    c.feed(html)
    found = [f"id {i!r} is used {n} times" for i, n in c.ids.items() if n > 1]
    found += [f"<label for={t!r}> names no element" for t in c.label_targets if t not in c.ids]
    found += [f"date input {d} is not YYYY-MM-DD" for d in c.bad_dates]
    targets = set(c.label_targets)
    found += [f"{what} has no label" for what, id_, named in c.controls if not named and id_ not in targets]
    return found + c.inline


def inline_code(html: str) -> list[str]:
    """The inline script and style of the page the Content-Security-Policy would refuse, in words."""
    c = _Collector()
    c.feed(html)
    return c.inline


def csp_problems(path: str, header: str | None) -> list[str]:
    """What is wrong with a page's Content-Security-Policy header (empty when nothing is)."""
    if not header:
        return ["no Content-Security-Policy header"]
    directives = {d.split()[0]: d.split()[1:] for d in header.split(";") if d.strip()}
    found = [f"{name} allows 'unsafe-inline'" for name, sources in directives.items() if "'unsafe-inline'" in sources
             and not (name == "style-src" and path in CSP_INLINE_STYLE_PAGES)]
    found += [f"{name} allows 'unsafe-eval'" for name, sources in directives.items() if "'unsafe-eval'" in sources]
    return found


class HtmlIntegrityMiddleware:
    """Test settings only: fails the request (AssertionError) when a rendered HTML page has problems(), or — any HTML
    response, whatever its status, the admin's too — inline_code() or csp_problems(). The test settings put it first
    (outermost), so it sees the header the CSP middleware adds."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html") and not getattr(response, "streaming", False):
            html = response.content.decode(response.charset or "utf-8", errors="replace")
            if response.status_code == 200 and not request.path.startswith("/admin/"):  # Django's own admin
                found = problems(html)
            else:
                found = inline_code(html)
            found += csp_problems(request.path, response.get("Content-Security-Policy"))
            assert not found, f"{request.path}: " + "; ".join(found)
        return response
