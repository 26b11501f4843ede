"""CSRF on every form: a POST without the token, to every page of the URLconf (and to every unsafe operation of the
session-authenticated API), as a signed-in person whose browser a hostile site drives, answers 403 and changes
nothing — no row of any project table, no audit event."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.test import Client
from rest_framework.test import APIClient

from portal.models import AuditEvent
from tests.hostile.pages import page_urls
from tests.hostile.test_api_params import document, fill, operations
from tests.hostile.world import api_path_values
from tests.support import sign_in

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("portal", "catalog", "aggregation", "sharing", "security", "supervision", "auth", "sessions")


def snapshot() -> dict[str, int]:
    """Row counts of every project table, and the newest audit event (an UPDATE audits itself)."""
    counts = {model._meta.label: model._base_manager.count() for model in apps.get_models()
              if model._meta.app_label in PROJECT_APPS and model._meta.managed and not model._meta.proxy}
    counts["last audit event"] = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    return counts


@pytest.mark.parametrize("who", ["staff", "head", "reviewer", "security_admin"])
def test_every_page_refuses_a_post_without_the_token(world, who):
    client = Client(enforce_csrf_checks=True)
    sign_in(client, world.people[who])
    client.get("/")  # the browser has its CSRF cookie; the forged form just cannot read it
    before = snapshot()
    urls = page_urls(world)
    wrong = []
    for _name, url in urls:
        response = client.post(url, {"name": "x", "comment": "x", "reason": "x", "body": "x", "action": "approve"})
        if response.status_code != 403:
            wrong.append(f"POST {url}: {response.status_code}")
    assert len(urls) >= 80
    assert not wrong, "\n".join(wrong)
    assert snapshot() == before


def test_the_login_and_the_public_pages_refuse_a_post_without_the_token(world):
    client = Client(enforce_csrf_checks=True)
    before = snapshot()
    for url, data in [("/login/", {"username": "staff", "password": "x"}), ("/verify/", {}), ("/logout/", {})]:
        assert client.post(url, data).status_code == 403, url
    assert snapshot() == before


def test_the_session_api_refuses_an_unsafe_call_without_the_token(world):
    client = APIClient(enforce_csrf_checks=True)
    sign_in(client, world.people["staff"])
    paths = api_path_values(world)
    before = snapshot()
    wrong, checked = [], 0
    for method, path, op in operations(document(client)):
        if method == "get" or not any("cookieAuth" in scheme for scheme in op.get("security") or [{}]):
            continue  # a public operation (document verification: a calculation, no state) takes no session
        values = paths.get(path) or {}
        url = fill(path, {**dict.fromkeys(("id", "dataset_pk", "kind", "key", "resource"), 1), **values})
        response = getattr(client, method)(url, {}, format="json")
        checked += 1
        if response.status_code != 403 or response.json().get("code") != "permission_denied":
            wrong.append(f"{method.upper()} {url}: {response.status_code} {response.content[:200]!r}")
    assert checked >= 25
    assert not wrong, "\n".join(wrong)
    assert snapshot() == before
