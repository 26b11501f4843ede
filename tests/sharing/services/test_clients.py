"""API clients: registration (secret stored encrypted only), who manages them, suspend / resume / rotate."""


import pytest

from portal.errors import InvalidTransition, NotFound
from security import crypto
from sharing.choices import ClientState
from sharing.services.clients import (
    api_client_register,
    api_client_resume,
    api_client_rotate_secret,
    api_client_suspend,
)
from tests.support import LOOPBACK

pytestmark = pytest.mark.django_db


def test_register_stores_secret_encrypted_only(security_admin, other_dept, audit_log):
    client, secret = api_client_register(actor=security_admin, department_id=other_dept.pk, name="系统A",
                                         allowed_networks=LOOPBACK)
    assert client.client_id.startswith("jzc_") and client.department == other_dept
    assert secret not in client.secret_enc and crypto.decrypt(client.secret_enc) == secret
    [event] = audit_log("sharing.client.registered")
    assert secret not in str(event.data) and event.department_id == other_dept.pk


def test_only_security_admin_manages_clients(reviewer, staff, other_dept, api_client_row):
    client, _secret = api_client_row
    for actor in (reviewer, staff):
        with pytest.raises(NotFound):
            api_client_register(actor=actor, department_id=other_dept.pk, name="x", allowed_networks=LOOPBACK)
        with pytest.raises(NotFound):
            api_client_suspend(actor=actor, client_pk=client.pk, reason="x")


def test_suspend_resume_rotate(security_admin, api_client_row, audit_log):
    client, secret = api_client_row
    client = api_client_suspend(actor=security_admin, client_pk=client.pk, reason="疑似泄露")
    assert client.state == ClientState.SUSPENDED
    with pytest.raises(InvalidTransition):
        api_client_suspend(actor=security_admin, client_pk=client.pk, reason="again")
    client = api_client_resume(actor=security_admin, client_pk=client.pk)
    assert client.state == ClientState.ACTIVE and client.suspend_reason == ""
    client, new_secret = api_client_rotate_secret(actor=security_admin, client_pk=client.pk)
    assert new_secret != secret and crypto.decrypt(client.secret_enc) == new_secret
    actions = [e.action for e in audit_log() if e.action.startswith("sharing.client.")]
    assert actions == ["sharing.client.registered", "sharing.client.suspended", "sharing.client.resumed",
                       "sharing.client.secret_rotated"]
