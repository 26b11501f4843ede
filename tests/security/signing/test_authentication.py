"""The signed-call check (SPEC §9.1): signature, clock window, replay, unknown and suspended clients (audited)."""

import json
import time

import pytest

from portal.choices import AuditResult
from sharing.services.clients import (
    api_client_resume,
    api_client_rotate_secret,
    api_client_suspend,
)
from tests.support import signed_headers

pytestmark = pytest.mark.django_db

GRANTS = "/api/v1/sharing/grants/"


def refused(audit_log):
    return list(audit_log("security.signature.refused"))


def test_query_order_does_not_matter(api_client, api_client_row):
    client, secret = api_client_row
    headers = signed_headers(client.client_id, secret, "GET", GRANTS, "state=active&box=mine")
    response = api_client.get(GRANTS + "?box=mine&state=active", **headers)
    assert response.status_code == 200


def test_wrong_signature(signed_get, audit_log):
    response = signed_get(HTTP_X_SIGNATURE="0" * 64)
    assert response.status_code == 401
    assert response.json()["code"] == "signature_invalid" and set(response.json()) == {"code", "detail"}
    [event] = refused(audit_log)
    assert event.result == AuditResult.DENIED and event.data["reason"] == "signature_mismatch"
    assert event.actor is None and event.actor_label.startswith("client:jzc_")


def test_a_refusal_on_a_path_with_control_characters_is_audited_without_them(signed_get, audit_log):
    response = signed_get(path="/api/v1/data/303-%00%01x/records/", HTTP_X_SIGNATURE="0" * 64)
    assert response.status_code == 401 and response.json()["code"] == "signature_invalid"
    [event] = refused(audit_log)
    assert event.data["path"] == "/api/v1/data/303-x/records/"


def test_query_tampering_is_refused(api_client, api_client_row):
    client, secret = api_client_row
    headers = signed_headers(client.client_id, secret, "GET", GRANTS, "box=mine")
    assert api_client.get(GRANTS + "?box=provider", **headers).json()["code"] == "signature_invalid"


def test_body_tampering_is_refused(api_client, api_client_row):
    client, secret = api_client_row
    path = "/api/v1/sharing/requests/"
    signed_body = json.dumps({"entry": 1}).encode()
    headers = signed_headers(client.client_id, secret, "POST", path, "", signed_body)
    response = api_client.post(path, data=json.dumps({"entry": 2}), content_type="application/json", **headers)
    assert response.status_code == 401 and response.json()["code"] == "signature_invalid"
    # Correctly signed, it is authenticated — and refused by permission (a client files no requests).
    headers = signed_headers(client.client_id, secret, "POST", path, "", signed_body)
    response = api_client.post(path, data=signed_body, content_type="application/json", **headers)
    assert response.status_code in (400, 403) and response.json()["code"] != "signature_invalid"


# Past the 300 s window by more than the second that int(time.time()) truncates plus the call itself.
@pytest.mark.parametrize("offset", [-305, 305, 100_000])
def test_skewed_clock(api_client, api_client_row, offset, audit_log):
    client, secret = api_client_row
    headers = signed_headers(client.client_id, secret, "GET", GRANTS, timestamp=int(time.time()) + offset)
    response = api_client.get(GRANTS, **headers)
    assert response.status_code == 401 and response.json()["code"] == "signature_invalid"
    assert "300" in response.json()["detail"]
    assert refused(audit_log)[0].data["reason"] == "timestamp_skew"


def test_within_window_is_fine(api_client, api_client_row):
    client, secret = api_client_row
    headers = signed_headers(client.client_id, secret, "GET", GRANTS, timestamp=int(time.time()) - 290)
    assert api_client.get(GRANTS, **headers).status_code == 200


def test_non_numeric_timestamp(signed_get):
    assert signed_get(HTTP_X_TIMESTAMP="yesterday").json()["code"] == "signature_invalid"


def test_replayed_nonce(api_client, api_client_row, audit_log):
    client, secret = api_client_row
    headers = signed_headers(client.client_id, secret, "GET", GRANTS)
    assert api_client.get(GRANTS, **headers).status_code == 200
    response = api_client.get(GRANTS, **headers)
    assert response.status_code == 401 and response.json()["code"] == "replayed"
    assert refused(audit_log)[0].data["code"] == "replayed"


def test_a_refused_call_does_not_burn_the_nonce(api_client, api_client_row):
    client, secret = api_client_row
    nonce = "a" * 32
    bad = signed_headers(client.client_id, "wrong-secret", "GET", GRANTS, nonce=nonce)
    assert api_client.get(GRANTS, **bad).json()["code"] == "signature_invalid"
    good = signed_headers(client.client_id, secret, "GET", GRANTS, nonce=nonce)
    assert api_client.get(GRANTS, **good).status_code == 200


@pytest.mark.parametrize("nonce", ["short", "x" * 65, "有中文的随机串有中文的随机串有中文"])
def test_malformed_nonce(api_client, api_client_row, nonce):
    client, secret = api_client_row
    headers = signed_headers(client.client_id, secret, "GET", GRANTS, nonce="n" * 16)
    headers["HTTP_X_NONCE"] = nonce
    assert api_client.get(GRANTS, **headers).json()["code"] == "signature_invalid"


def test_unknown_client_and_missing_headers(api_client, audit_log):
    headers = signed_headers("jzc_doesnotexist", "x", "GET", GRANTS)
    response = api_client.get(GRANTS, **headers)
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    response = api_client.get(GRANTS, HTTP_X_CLIENT_ID="jzc_doesnotexist")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    response = api_client.get(GRANTS, HTTP_X_CLIENT_ID="bad id with spaces")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    assert [e.data["reason"] for e in refused(audit_log)] == ["unknown_client", "headers_missing",
                                                              "client_id_malformed"]


def test_suspended_client(signed_get, security_admin, api_client_row, audit_log):
    client, _secret = api_client_row
    api_client_suspend(actor=security_admin, client_pk=client.pk, reason="疑似泄露")
    response = signed_get()
    assert response.status_code == 403 and response.json()["code"] == "client_suspended"
    assert refused(audit_log)[0].data["reason"] == "suspended"
    api_client_resume(actor=security_admin, client_pk=client.pk)
    assert signed_get().status_code == 200


def test_rotated_secret_stops_the_old_one(api_client, security_admin, api_client_row):
    client, old = api_client_row
    _client, new = api_client_rotate_secret(actor=security_admin, client_pk=client.pk)
    assert api_client.get(GRANTS, **signed_headers(client.client_id, old, "GET", GRANTS)).status_code == 401
    assert api_client.get(GRANTS, **signed_headers(client.client_id, new, "GET", GRANTS)).status_code == 200


def test_staff_session_and_anonymous_are_untouched(api_as, api_client, other_staff):
    for _ in range(3):
        assert api_as(other_staff).get(GRANTS).status_code == 200
    response = api_client.get(GRANTS)
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_kernel_me_endpoint_does_not_crash_for_a_client(signed_get):
    response = signed_get(path="/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["username"].startswith("client:jzc_")


@pytest.mark.parametrize("signature", ["é" * 64, "Z" * 64, "ab", ""])
def test_garbage_signature_never_crashes(signed_get, signature):
    response = signed_get(HTTP_X_SIGNATURE=signature)
    assert response.status_code == 401
    assert response.json()["code"] in {"signature_invalid", "not_authenticated"}


def test_uppercase_hex_signature_is_accepted(api_client, api_client_row):
    client, secret = api_client_row
    headers = signed_headers(client.client_id, secret, "GET", GRANTS)
    headers["HTTP_X_SIGNATURE"] = headers["HTTP_X_SIGNATURE"].upper()
    assert api_client.get(GRANTS, **headers).status_code == 200


def test_replay_guard_down_fails_closed(signed_get, monkeypatch):
    import socket

    import redis

    from security.signing import store

    with socket.socket() as s:  # a port where nothing listens: a real connection failure
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
    monkeypatch.setattr(store, "redis_client_and_script", lambda: (dead, dead.register_script(store._SPEND)))
    response = signed_get()
    assert response.status_code == 503 and response.json()["code"] == "unavailable"
