"""The shared signature test vectors (clients/test_vectors.json) through the server's own verification.

The same file is checked against clients/jiaozuo_client.py by tests/sharing/test_client_kit.py, so the server and the
integrators' client can never sign differently without one of the two tests failing.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.test import RequestFactory
from rest_framework.request import Request

from security import crypto
from security.signing import authentication
from security.signing.authentication import ClientSignatureAuthentication
from security.signing.errors import SignatureInvalid
from security.signing.scheme import canonical_request
from tests.support import LOOPBACK

VECTORS = json.loads((Path(__file__).resolve().parents[3] / "clients" / "test_vectors.json").read_text("utf-8"))
CASES = VECTORS["vectors"]


def wire_request(vector: dict, **headers):
    """The request as WSGI hands it over: percent-encoded path in PATH_INFO, the raw query in QUERY_STRING."""
    url = vector["path"] + ("?" + vector["query"] if vector["query"] else "")
    request = RequestFactory().generic(vector["method"].upper(), url, data=vector["body"].encode(),
                                       content_type="application/json", **headers)
    assert request.META["QUERY_STRING"] == vector["query"]
    return request


def test_the_vectors_cover_the_edge_cases():
    names = {v["name"] for v in CASES}
    assert {"chinese-value", "repeated-keys", "plus-is-space", "encoded-path", "push-json-body", "no-query",
            "sort-decoded-not-encoded", "sort-by-code-point", "reserved-and-unreserved"} <= names
    assert len(names) == len(CASES) and len({v["nonce"] for v in CASES}) == len(CASES)


@pytest.mark.parametrize("vector", CASES, ids=[v["name"] for v in CASES])
def test_the_server_builds_each_canonical_request(vector):
    request = wire_request(vector)
    assert canonical_request(request.method, request.path, request.META["QUERY_STRING"], vector["timestamp"],
                             vector["nonce"], request.body) == vector["canonical"]


@pytest.mark.django_db
@pytest.mark.parametrize("vector", CASES, ids=[v["name"] for v in CASES])
def test_the_server_accepts_each_vector_and_refuses_it_altered(vector, api_client_row, monkeypatch):
    """The whole check of a signed call (ClientSignatureAuthentication) at the vector's time, by a client holding the
    vector's id and secret."""
    row, _secret = api_client_row
    row.client_id, row.secret_enc = vector["client_id"], crypto.encrypt(vector["secret"])
    row.allowed_networks = LOOPBACK
    row.save()
    monkeypatch.setattr(authentication, "time", SimpleNamespace(time=lambda: int(vector["timestamp"]) + 1))
    headers = {"HTTP_X_CLIENT_ID": vector["client_id"], "HTTP_X_TIMESTAMP": vector["timestamp"],
               "HTTP_X_NONCE": vector["nonce"]}

    principal, client = ClientSignatureAuthentication().authenticate(
        Request(wire_request(vector, HTTP_X_SIGNATURE=vector["signature"], **headers)))
    assert client.pk == row.pk and principal.api_client.pk == row.pk

    wrong = vector["signature"][:-1] + ("0" if vector["signature"][-1] != "0" else "1")
    nonce = headers["HTTP_X_NONCE"][::-1]  # a fresh nonce: the first one is spent
    with pytest.raises(SignatureInvalid):
        ClientSignatureAuthentication().authenticate(
            Request(wire_request(vector, HTTP_X_SIGNATURE=wrong, **{**headers, "HTTP_X_NONCE": nonce})))
