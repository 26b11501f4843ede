"""Checks that every HTML page the portal renders is well-formed where people and assistive tools depend on it.

Used by the test settings as a middleware (`HtmlIntegrityMiddleware`), so every page any test renders is checked:
- no element id is used twice (a label, an anchor or a script would find the wrong element);
- every <label for=…> names an element of the page (otherwise clicking the label, or a screen reader, finds nothing);
- every <input type="date"> holds an ISO date or nothing (browsers show any other value as an empty field);
- every visible form control has a name for people who cannot see the layout: a <label> (around it or naming its
  id), aria-label, aria-labelledby or title (GB/T 37668 web accessibility; a placeholder is not a label).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UNLABELLED_TYPES = frozenset({"hidden", "submit", "button", "reset", "image"})  # named by their value or not shown


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: dict[str, int] = {}
        self.label_targets: list[str] = []
        self.bad_dates: list[str] = []
        self.controls: list[tuple[str, str, bool]] = []  # (description, id, labelled otherwise) of form controls
        self._in_template = 0
        self._in_label = 0

    def handle_starttag(self, tag, attrs):
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
    return found


class HtmlIntegrityMiddleware:
    """Test settings only: fails the request (AssertionError) when a rendered HTML page has problems()."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (response.get("Content-Type", "").startswith("text/html") and not getattr(response, "streaming", False)
                and response.status_code == 200 and not request.path.startswith("/admin/")):  # Django's own admin
            found = problems(response.content.decode(response.charset or "utf-8", errors="replace"))
            assert not found, f"{request.path}: " + "; ".join(found)
        return response
