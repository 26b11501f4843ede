"""Per-client source networks (R28 / 等保): checked on every signed call, after the signature, refusals audited."""

import pytest
from django.core.exceptions import ValidationError

from portal.choices import AuditResult
from security.networks import NetworkSet, parse_networks
from security.signing import clients
from sharing.models import ApiClient
from sharing.services.clients import api_client_networks_set
from tests.support import signed_headers

pytestmark = pytest.mark.django_db

GRANTS = "/api/v1/sharing/grants/"


def call(api_client, client_row, secret, ip, **extra):
    headers = signed_headers(client_row.client_id, secret, "GET", GRANTS)
    return api_client.get(GRANTS, REMOTE_ADDR=ip, **headers, **extra)


def refusals(audit_log):
    return audit_log("security.signature.refused")


def test_allowed_address_passes_and_another_is_refused_and_audited(api_client, api_client_row, security_admin,
                                                                   audit_log):
    client, secret = api_client_row
    api_client_networks_set(actor=security_admin, client_pk=client.pk, allowed_networks=["10.20.0.0/16"])
    assert call(api_client, client, secret, "10.20.3.4").status_code == 200
    response = call(api_client, client, secret, "10.21.0.1")
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "ip_not_allowed" and "网段" in body["detail"]
    [event] = refusals(audit_log)
    assert event.data["reason"] == "ip_not_allowed" and event.result == AuditResult.DENIED
    assert event.ip == "10.21.0.1" and event.object_id == client.client_id
    assert event.department_id == client.department_id


def test_ipv6_networks_and_ipv4_mapped_addresses(api_client, api_client_row, security_admin):
    client, secret = api_client_row
    api_client_networks_set(actor=security_admin, client_pk=client.pk,
                            allowed_networks=["2001:db8:10::/48", "192.0.2.7"])
    assert call(api_client, client, secret, "2001:db8:10:ffff::1").status_code == 200
    assert call(api_client, client, secret, "2001:db8:11::1").status_code == 403
    assert call(api_client, client, secret, "192.0.2.7").status_code == 200
    assert call(api_client, client, secret, "::ffff:192.0.2.7").status_code == 200  # a dual-stack listener's form
    assert call(api_client, client, secret, "192.0.2.8").status_code == 403


def test_a_wrong_signature_from_outside_says_nothing_about_the_networks(api_client, api_client_row, security_admin):
    client, _secret = api_client_row
    api_client_networks_set(actor=security_admin, client_pk=client.pk, allowed_networks=["10.20.0.0/16"])
    response = call(api_client, client, "not-the-secret", "203.0.113.9")
    assert response.status_code == 401 and response.json()["code"] == "signature_invalid"


def test_a_refused_call_does_not_spend_its_nonce(api_client, api_client_row, security_admin):
    client, secret = api_client_row
    api_client_networks_set(actor=security_admin, client_pk=client.pk, allowed_networks=["10.20.0.0/16"])
    headers = signed_headers(client.client_id, secret, "GET", GRANTS)
    assert api_client.get(GRANTS, REMOTE_ADDR="203.0.113.9", **headers).status_code == 403
    assert api_client.get(GRANTS, REMOTE_ADDR="10.20.0.1", **headers).status_code == 200


def test_x_real_ip_is_believed_only_from_a_trusted_proxy(api_client, api_client_row, security_admin, settings):
    client, secret = api_client_row
    api_client_networks_set(actor=security_admin, client_pk=client.pk, allowed_networks=["10.20.0.0/16"])
    settings.PORTAL = {**settings.PORTAL, "TRUSTED_PROXIES": ["192.168.50.1/32"]}
    # A stranger writing an allowed address into the header is judged on its own address.
    assert call(api_client, client, secret, "203.0.113.9", HTTP_X_REAL_IP="10.20.0.1").status_code == 403
    # The proxy's header names the caller.
    assert call(api_client, client, secret, "192.168.50.1", HTTP_X_REAL_IP="10.20.0.1").status_code == 200
    assert call(api_client, client, secret, "192.168.50.1", HTTP_X_REAL_IP="203.0.113.9").status_code == 403


def test_a_garbage_x_real_ip_from_the_proxy_falls_back_to_the_peer(api_client, api_client_row, audit_log):
    client, secret = api_client_row  # loopback allowed; loopback is a trusted proxy by default
    response = call(api_client, client, secret, "127.0.0.1", HTTP_X_REAL_IP="not-an-ip\x00")
    assert response.status_code == 200
    [read] = [e for e in audit_log() if e.action.startswith("sharing.")][-1:] or [None]
    assert read is None or read.ip in (None, "127.0.0.1")


def test_a_change_holds_from_the_next_call(api_client, api_client_row, security_admin):
    client, secret = api_client_row
    assert call(api_client, client, secret, "127.0.0.1").status_code == 200
    assert client.client_id in clients._clients  # the process's copy, with its parsed networks
    api_client_networks_set(actor=security_admin, client_pk=client.pk, allowed_networks=["10.20.0.0/16"])
    assert call(api_client, client, secret, "127.0.0.1").status_code == 403
    api_client_networks_set(actor=security_admin, client_pk=client.pk, allowed_networks=["127.0.0.1"])
    assert call(api_client, client, secret, "127.0.0.1").status_code == 200


def test_a_stale_copy_is_judged_on_the_row_as_it_is_now(api_client, api_client_row, security_admin):
    """A change the signals did not see (a queryset update) is noticed when the copy would refuse: the row is read
    again before refusing, so widening the networks works at once."""
    client, secret = api_client_row
    ApiClient.objects.filter(pk=client.pk).update(allowed_networks=["10.20.0.0/16"])
    clients._clients.clear()
    assert call(api_client, client, secret, "10.30.0.1").status_code == 403
    ApiClient.objects.filter(pk=client.pk).update(allowed_networks=["10.30.0.0/16"])  # no signal: the copy is stale
    assert call(api_client, client, secret, "10.30.0.1").status_code == 200


def test_a_client_registered_before_allow_lists_keeps_working_until_its_networks_are_set(
        api_client, api_client_row, security_admin, audit_log):
    client, secret = api_client_row
    # What migration 0004 leaves on a row registered before it: no networks, flagged "any address".
    ApiClient.objects.filter(pk=client.pk).update(allowed_networks=[], any_network=True)
    clients._clients.clear()
    assert call(api_client, client, secret, "198.51.100.23").status_code == 200
    assert call(api_client, client, secret, "2001:db8::5").status_code == 200
    api_client_networks_set(actor=security_admin, client_pk=client.pk, allowed_networks="198.51.100.0/24")
    client.refresh_from_db()
    assert client.any_network is False and client.allowed_networks == ["198.51.100.0/24"]
    assert call(api_client, client, secret, "198.51.100.23").status_code == 200
    assert call(api_client, client, secret, "2001:db8::5").status_code == 403
    [event] = audit_log("sharing.client.networks_set")
    assert event.data == {"before": {"networks": [], "any_network": True},
                          "after": {"networks": ["198.51.100.0/24"], "any_network": False}}


def test_an_empty_list_refuses_every_address(api_client, api_client_row):
    client, secret = api_client_row
    ApiClient.objects.filter(pk=client.pk).update(allowed_networks=[], any_network=False)
    clients._clients.clear()
    assert call(api_client, client, secret, "127.0.0.1").status_code == 403


@pytest.mark.parametrize(("text", "expected"), [
    ("10.1.2.3/24", ["10.1.2.0/24"]),
    ("10.1.2.3", ["10.1.2.3/32"]),
    ("10.0.0.0/8, 10.0.0.0/8\n2001:DB8::/32", ["10.0.0.0/8", "2001:db8::/32"]),
    ("::1", ["::1/128"]),
    ("", []),
])
def test_parse_networks_normalises(text, expected):
    assert parse_networks(text) == expected


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "300.1.1.1", "１０.0.0.1", "10.0.0.1\x00", "fe80::1%eth0",
                                 "example.org", "10.0.0.0/8/8", "x" * 5000, "2001:db8::/129"])
def test_parse_networks_refuses(bad):
    with pytest.raises(ValidationError) as exc:
        parse_networks([bad])
    message = " ".join(exc.value.messages)
    assert "不是有效的 IP 地址或网段" in message and "\x00" not in message and len(message) < 200


def test_network_set_matching():
    nets = NetworkSet(["10.0.0.0/8", "2001:db8::/32"])
    assert "10.255.0.1" in nets and "2001:db8::1" in nets and "::ffff:10.0.0.1" in nets
    assert "11.0.0.1" not in nets and "2001:db9::1" not in nets and None not in nets and "garbage" not in nets
