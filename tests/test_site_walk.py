"""Every page of the demo world, walked the way its users click through it: no server error for anybody.

The demo data (`seed_demo`) has one account per role and objects of every kind in every state. Each account signs
in and follows the portal's own links breadth-first from the dashboard (GET only; a few instances per URL name, so
every kind of page is reached without visiting ten thousand records). Then every page any account found is requested
by every account and by an anonymous visitor: no 5xx anywhere, an anonymous visitor is sent to the login page
(except the public pages), and each of the three administrators reaches nothing but their own pages and the account
pages everybody has (三员分立, tests/portal/test_three_admins.py has the POSTs). The API likewise: every GET operation
of the OpenAPI document (each list, and the detail of a row it answered) as every account.
"""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from aggregation.models import QualityReport
from portal.confinement import may_visit
from portal.models import Notification, User
from tests.crawl import route_name as _name
from tests.crawl import walk
from tests.support import sign_in

pytestmark = pytest.mark.django_db

PUBLIC_NAMES = {"login", "healthz", "verify", "admin:login", "api-docs", "api-redoc", "api-schema", "document-verify",
                "document-verify-key", "api-audit-seal-key"}
# One demo account per role (seed_demo's ACCOUNTS): a city department's staff and head, a county department's staff.
ACCOUNTS = ("admin", "security", "auditor", "reviewer", "assessor", "ga_staff", "ga_head", "xw_bureau", "xw_ga_staff")


@pytest.fixture
def demo_world():
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    return {u.username: u for u in User.objects.filter(username__in=ACCOUNTS)}


def test_every_page_answers_everybody_without_a_server_error(demo_world):
    # Messages summarise instead of flooding: a fresh install leaves each account a handful, not 150 — one unread
    # message per kind of news (a head: entries to sign, entries published, one returned, a project decided, the
    # violations register's news, the assessment's), each counting what it stands for.
    unread = {name: Notification.objects.filter(recipient=user, read_at__isnull=True).count()
              for name, user in demo_world.items()}
    assert max(unread.values()) <= 8, unread
    # The nightly quality job ran once at seed_demo: the quality page has a report, not nothing (R15).
    assert QualityReport.objects.exists()
    found: dict[str, dict[str, int]] = {}
    for username, user in demo_world.items():
        found[username] = walk(sign_in(Client(), user))
        print(username, len(found[username]), "pages")  # shown with -s: how far each walk got
    errors = [f"{who}: GET {url} -> {status}" for who, pages in found.items()
              for url, status in pages.items() if status >= 500]
    assert not errors, "\n".join(errors)
    # Then each kind of page (one URL per view name) as everybody else.
    by_name: dict[str, str] = {}
    for pages in found.values():
        for url in pages:
            by_name.setdefault(_name(urlsplit(url).path), url)
    everything = sorted(by_name.values())
    assert len(everything) > 60, f"the walk found only {len(everything)} kinds of page"
    # Each administrator's walk reaches their own desk (三员分立: their area, tests/portal/test_confinement.py).
    assert {"/system/", "/calendar/"} <= set(found["admin"]) and "/security/audit/" in found["auditor"]
    assert {"/security/", "/security/roles/", "/accounts/locks/"} <= set(found["security"])

    problems = []
    anonymous = Client()
    for url in everything:
        status = anonymous.get(url).status_code
        public = _name(urlsplit(url).path) in PUBLIC_NAMES
        if status >= 500 or (not public and status not in (302, 401, 403, 404)):
            problems.append(f"anonymous: GET {url} -> {status}")
    for username, user in demo_world.items():
        client = sign_in(Client(), user)
        for url in everything:
            status = found[username].get(url) or client.get(url).status_code
            if status >= 500:
                problems.append(f"{username}: GET {url} -> {status}")
            elif not may_visit(user, _name(urlsplit(url).path)) and status != 404:
                problems.append(f"{username}: GET {url} -> {status}, outside the administrator's area")
    assert not problems, "\n".join(problems)


def api_reads(client) -> dict[str, int]:
    """{url: status} of every GET operation of the OpenAPI document a person can name: each list, and each detail
    of the first row a list answered (`{pk}`, `{id}`, `{resource}` filled from the row)."""
    doc = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    gets = [path for path, ops in doc["paths"].items() if "get" in ops]
    seen: dict[str, int] = {}
    for path in gets:
        if "{" in path:
            continue
        response = client.get(path)
        seen[path] = response.status_code
        rows = response.json().get("results") if response.status_code == 200 and response.get(
            "Content-Type", "").startswith("application/json") and isinstance(response.json(), dict) else None
        if not rows or not isinstance(rows[0], dict):
            continue
        for detail in gets:
            if detail.startswith(path) and detail.count("{") == 1 and detail.endswith("}/") and \
                    detail[len(path):].count("/") == 1:
                name = detail[detail.index("{") + 1:detail.index("}")]
                value = rows[0].get(name) or rows[0].get("id")
                if value is not None:
                    url = detail.replace("{" + name + "}", str(value))
                    seen[url] = client.get(url).status_code
    return seen


def test_every_api_read_answers_everybody_without_a_server_error(demo_world):
    problems, reached = [], Counter()
    for username, user in demo_world.items():
        for url, status in api_reads(sign_in(APIClient(), user)).items():
            name = _name(urlsplit(url).path)
            if status >= 500:
                problems.append(f"{username}: GET {url} -> {status}")
            elif not may_visit(user, name) and status != 404:
                problems.append(f"{username}: GET {url} -> {status}, outside the administrator's area")
            elif status == 200:
                reached[username] += 1
    assert not problems, "\n".join(problems)
    print(dict(reached))  # shown with -s: how many reads each person made
    # Everybody reads something; the business roles read much more than the administrators.
    assert all(reached[u] >= 1 for u in demo_world), reached
    assert reached["ga_staff"] > 10 and reached["reviewer"] > 10, reached
