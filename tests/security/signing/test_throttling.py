"""The per-client rate of signed calls (ClientRateThrottle): its limit, per client, failing open."""

import time

import pytest

from portal.choices import AuditResult
from sharing.services import clients as services
from tests.support import LOOPBACK, signed_headers

pytestmark = pytest.mark.django_db

GRANTS = "/api/v1/sharing/grants/"


def test_per_client_throttle(api_client, security_admin, other_dept, audit_log):
    client, secret = services.api_client_register(actor=security_admin, department_id=other_dept.pk, name="慢系统",
                                                  rate_per_minute=2, allowed_networks=LOOPBACK)
    codes = [api_client.get(GRANTS, **signed_headers(client.client_id, secret, "GET", GRANTS)).status_code
             for _ in range(4)]
    assert codes == [200, 200, 429, 429]
    response = api_client.get(GRANTS, **signed_headers(client.client_id, secret, "GET", GRANTS))
    assert response.json()["code"] == "throttled"
    [event] = audit_log("security.signature.throttled")  # one event per client per minute, not one per call
    assert event.result == AuditResult.DENIED and event.department_id == other_dept.pk


def test_throttle_is_per_client(api_client, security_admin, other_dept):
    a, sa = services.api_client_register(actor=security_admin, department_id=other_dept.pk, name="A", rate_per_minute=1,
                                           allowed_networks=LOOPBACK)
    b, sb = services.api_client_register(actor=security_admin, department_id=other_dept.pk, name="B", rate_per_minute=1,
                                           allowed_networks=LOOPBACK)
    assert api_client.get(GRANTS, **signed_headers(a.client_id, sa, "GET", GRANTS)).status_code == 200
    assert api_client.get(GRANTS, **signed_headers(a.client_id, sa, "GET", GRANTS)).status_code == 429
    assert api_client.get(GRANTS, **signed_headers(b.client_id, sb, "GET", GRANTS)).status_code == 200


def test_throttle_store_down_fails_open(signed_get, api_client_row):
    from django.core.cache import cache

    from security.signing import store

    # The counter's commands fail (INCR of a value that is not a number), the nonce's SET NX in the same round trip
    # still works: the call goes through.
    client, _secret = api_client_row
    window = int(time.time() // store.RATE_WINDOW_SECONDS)
    for w in (window, window + 1):
        cache.set(store.rate_name(client.client_id, w), "not a number", timeout=120)
    assert signed_get().status_code == 200
