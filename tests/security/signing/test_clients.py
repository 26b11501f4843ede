"""The API-client model is registered by the app that owns it (security never names it); without one, no client."""

import pytest

from security.signing import clients

pytestmark = pytest.mark.django_db


def test_sharing_registered_its_client_model():
    from sharing.models import ApiClient

    assert clients.client_model() is ApiClient
    assert clients.client_object_type() == "sharing.apiclient"


def test_a_registered_models_save_invalidates_the_cache(signed_get, api_client_row):
    client, _secret = api_client_row
    assert signed_get().status_code == 200
    assert client.client_id in clients._clients
    client.save(update_fields=["name"])  # post_save of the registered model
    assert client.client_id not in clients._clients


def test_without_a_registered_model_every_client_is_unknown(signed_get, monkeypatch, audit_log):
    monkeypatch.setattr(clients, "_client_model", None)
    clients._clients.clear()
    response = signed_get()
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    assert [e.data["reason"] for e in audit_log("security.signature.refused")] == ["unknown_client"]
