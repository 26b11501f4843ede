"""/api/v1/sharing/clients/: the security administrator manages API clients over REST as on the page — the secret
comes back once (register, rotate), a suspended client's next signed call is refused, nobody else reaches it."""

from __future__ import annotations

import pytest

from tests.sharing.helpers import published_entry
from tests.support import signed_headers

pytestmark = pytest.mark.django_db
URL = "/api/v1/sharing/clients/"


def test_the_security_admin_registers_suspends_resumes_and_rotates(security_admin, other_dept, dept, api_as,
                                                                  api_client, audit_log):
    admin = api_as(security_admin)
    made = admin.post(URL, {"department": other_dept.pk, "name": "低保审核系统", "allowed_networks": ["127.0.0.1/32"],
                            "rate_per_minute": 120}, format="json")
    assert made.status_code == 201, made.content
    body = made.json()
    secret, client_id = body["secret"], body["client_id"]
    assert len(secret) >= 32 and body["allowed_networks"] == ["127.0.0.1/32"] and body["state"] == "active"
    listed = admin.get(URL).json()["results"]
    assert [c["client_id"] for c in listed] == [client_id] and "secret" not in listed[0]
    assert [e.action for e in audit_log() if e.action.startswith("sharing.client")] == ["sharing.client.registered"]

    entry = published_entry(dept)
    path = f"/api/v1/sharing/interface/{entry.resource_key}/"
    assert api_client.get(path, **signed_headers(client_id, secret, "GET", path)).status_code == 200

    assert admin.post(f"{URL}{body['id']}/suspend/", {}, format="json").json()["code"] == "invalid"
    suspended = admin.post(f"{URL}{body['id']}/suspend/", {"reason": "联调结束"}, format="json")
    assert suspended.status_code == 200 and suspended.json()["state"] == "suspended"
    refused = api_client.get(path, **signed_headers(client_id, secret, "GET", path))
    assert refused.status_code == 403 and refused.json()["code"] == "client_suspended"
    assert admin.post(f"{URL}{body['id']}/resume/", {}, format="json").json()["state"] == "active"

    rotated = admin.post(f"{URL}{body['id']}/rotate/", {}, format="json").json()
    assert rotated["secret"] != secret
    assert api_client.get(path, **signed_headers(client_id, secret, "GET", path)).status_code == 401
    assert api_client.get(path, **signed_headers(client_id, rotated["secret"], "GET", path)).status_code == 200

    nets = admin.post(f"{URL}{body['id']}/networks/", {"allowed_networks": ["10.1.2.0/24"]}, format="json")
    assert nets.json()["allowed_networks"] == ["10.1.2.0/24"]
    bad = admin.post(f"{URL}{body['id']}/networks/", {"allowed_networks": ["not-a-network"]}, format="json")
    assert bad.status_code == 400 and "allowed_networks" in bad.json()["errors"]
    policy = admin.post(f"{URL}{body['id']}/leak-policy/", {"auto_suspend": False}, format="json")
    assert policy.json()["leak_auto_suspend"] is False


def test_nobody_but_the_security_admin_reaches_it(staff, reviewer, system_admin, audit_admin, api_as, api_client_row):
    client_row, _secret = api_client_row
    # Business roles are refused (403); the other administrators do not see it exist (404: portal.confinement).
    for user, code in ((staff, 403), (reviewer, 403), (system_admin, 404), (audit_admin, 404)):
        assert api_as(user).get(URL).status_code == code, user
        assert api_as(user).post(f"{URL}{client_row.pk}/suspend/", {"reason": "x"},
                                 format="json").status_code == code, user
    client_row.refresh_from_db()
    assert client_row.state == "active"
