"""Stored and reflected XSS: a hostile string saved into the text people type (tests/hostile/world.py, through the
services; then every other name-, title-, reason- and comment-like text column of the project's models, so a field
added later is covered), and every page of the URLconf rendered as each kind of person — the markup never appears
unescaped. The same string in every query parameter of every page is never reflected unescaped either. JSON answers
are JSON (the API's escaping is the client's job); downloads are covered by the cell tests."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.db import DatabaseError, models, transaction

from tests.hostile.pages import page_urls
from tests.hostile.world import XSS, XSS_MARKERS
from tests.support import sign_in

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("portal", "catalog", "aggregation", "sharing", "security", "supervision")
# Text columns people type and pages show, by how their names end.
_TYPED = re.compile(r"(^|_)(name|title|body|description|summary|comment|reason|note|basis|detail|contact|"
                    r"explanation|answer|label|need|document|condition|remark|opinion|message)$")
# Names of that shape that are identifiers the code looks things up by (an item's name is a JSON key of every record).
_IDENTIFIERS = {"username", "key_item_name", "first_name", "last_name"}
# Query parameters pages read (search boxes, filters, tabs, the login's `next`); more come from each page's own forms.
COMMON_PARAMS = ["q", "search", "next", "state", "kind", "box", "page", "tab", "year", "department", "provider",
                 "classification", "sharing_type", "update_cycle", "scope", "side", "sort", "key", "entry", "day"]
_INPUT_NAME = re.compile(r'<(?:input|select|textarea)\b[^>]*\bname="([^"]+)"')


def poison_typed_columns() -> list[str]:
    """Set every typed text column of every project model to the hostile string (cut to its max_length)."""
    poisoned = []
    for model in apps.get_models():
        if model._meta.app_label not in PROJECT_APPS or model._meta.proxy or not model._meta.managed:
            continue
        unique_together = {name for constraint in model._meta.constraints
                           if isinstance(constraint, models.UniqueConstraint) for name in constraint.fields}
        unique_together |= {name for names in model._meta.unique_together for name in names}
        for field in model._meta.concrete_fields:
            if (not isinstance(field, (models.CharField, models.TextField)) or field.choices or field.unique
                    or field.name in unique_together  # a key (a data item's name keys every record's values)
                    or field.primary_key or field.name in _IDENTIFIERS or not _TYPED.search(field.name)):
                continue
            value = XSS if not field.max_length else (XSS * 3)[: field.max_length]
            if field.max_length and field.max_length < len(XSS):
                continue  # too short to hold markup that could run
            try:
                with transaction.atomic():
                    model._base_manager.update(**{field.name: value})
            except DatabaseError:
                # An append-only table (a trigger refuses UPDATE: audit trail, record history) keeps what services
                # wrote into it, copies of the typed texts above.
                continue
            poisoned.append(f"{model._meta.label}.{field.name}")
    return poisoned


def unescaped(response) -> list[str]:
    if not response.get("Content-Type", "").startswith("text/html"):
        return []
    text = response.content.decode("utf-8", errors="replace")
    return [marker for marker in XSS_MARKERS if marker in text]


PEOPLE = ["staff", "head", "other_staff", "reviewer", "security_admin"]


def test_stored_markup_is_escaped_on_every_page(world, client):
    poisoned = poison_typed_columns()
    assert len(poisoned) >= 40, poisoned
    urls = page_urls(world)
    failures, shown, carried = [], 0, set()
    for who in PEOPLE:
        client.logout()
        sign_in(client, world.people[who])
        for name, url in urls:
            response = client.get(url)
            assert response.status_code < 500, (who, url)
            if response.status_code == 200 and response.get("Content-Type", "").startswith("text/html"):
                shown += 1
                if "&lt;script&gt;alert(1)" in response.content.decode():
                    carried.add(name)
            found = unescaped(response)
            if found:
                failures.append(f"{who} GET {url}: {found}")
    # The hostile text reached many pages (escaped), so the check above had something to find.
    assert shown >= 150 and len(carried) >= 25, (shown, sorted(carried))
    assert not failures, "\n".join(failures)


def test_query_parameters_are_never_reflected_unescaped(world, client):
    urls = page_urls(world)
    failures, sent = [], 0
    for who in ("staff", "reviewer"):
        client.logout()
        sign_in(client, world.people[who])
        for _name, url in urls:
            first = client.get(url)
            names = set(COMMON_PARAMS)
            if first.get("Content-Type", "").startswith("text/html"):
                names |= set(_INPUT_NAME.findall(first.content.decode(errors="replace")))
            names.discard("csrfmiddlewaretoken")
            response = client.get(url, dict.fromkeys(names, XSS))
            sent += len(names)
            assert response.status_code < 500, (who, url)
            found = unescaped(response)
            if found:
                failures.append(f"{who} GET {url}?…={XSS}: {found}")
    # Anonymous: the login page and the public verification page.
    client.logout()
    for url in ("/login/", "/verify/"):
        response = client.get(url, dict.fromkeys(COMMON_PARAMS, XSS))
        if unescaped(response):
            failures.append(f"anonymous GET {url}: {unescaped(response)}")
    assert sent >= 2000, sent
    assert not failures, "\n".join(failures)
