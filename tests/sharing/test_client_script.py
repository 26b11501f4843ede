"""clients/jiaozuo_client.py against the live server: the signature scheme end to end, over real HTTP."""

import importlib.util
from pathlib import Path

import pytest

from sharing.services.clients import api_client_register, api_client_suspend
from tests.support import LOOPBACK

SCRIPT = Path(__file__).resolve().parents[2] / "clients" / "jiaozuo_client.py"


def load_client_module():
    spec = importlib.util.spec_from_file_location("jiaozuo_client", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_uses_the_same_scheme_as_the_server():
    from security.signing import scheme

    jz = load_client_module()
    args = ("s3cret", "GET", "/api/v1/data/x/records/", "limit=5&fields=%E4%BC%81%E4%B8%9A&b=a b", "1767225600",
            "0123456789abcdef", b'{"a": 1}')
    assert jz.sign(*args) == scheme.sign(*args)
    assert jz.canonical_request(*args[1:]) == scheme.canonical_request(*args[1:])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_example_client_against_live_server(live_server, security_admin, other_dept, make_entry, make_grant):
    jz = load_client_module()
    client_row, secret = api_client_register(actor=security_admin, department_id=other_dept.pk,
                                                      name="民政业务系统", allowed_networks=LOOPBACK)
    grants = [make_grant(other_dept, make_entry(), ["法定代表人"]) for _ in range(3)]
    client = jz.JiaozuoClient(live_server.url, client_row.client_id, secret, purpose="业务协同：核验企业信息")

    # The shared catalog endpoint answers a signed call (its content is the catalog app's business).
    entries = list(client.catalog_entries(sharing_type="2"))
    assert isinstance(entries, list)

    # Cursor pages are followed: the signed `next` links carry the cursor in their query string.
    pulled = list(client.grants(limit=1))
    assert sorted(g["id"] for g in pulled) == sorted(g.pk for g in grants)

    # Errors come back as ApiError with the stable code.
    wrong = jz.JiaozuoClient(live_server.url, client_row.client_id, "not-the-secret")
    with pytest.raises(jz.ApiError) as exc:
        list(wrong.grants())
    assert exc.value.status == 401 and exc.value.code == "signature_invalid"

    # pull() follows the data interface's signed `next` cursors to the end (granted items only).
    import random

    from aggregation.demo import credit_code
    from aggregation.services import pools as agg

    rng = random.Random(7)
    codes = sorted({credit_code(rng) for _ in range(5)})
    firms = [{"统一社会信用代码": c, "企业名称": f"企业{n}", "法定代表人": "王五"} for n, c in enumerate(codes)]
    agg.records_upsert(actor=None, dataset=agg.dataset_ensure(entry=grants[0].entry), rows=firms)
    rows = list(client.pull(grants[0].entry.resource_key, fields=["统一社会信用代码", "法定代表人"], limit=2))
    assert sorted(r["统一社会信用代码"] for r in rows) == codes and all(r["法定代表人"] == "王五" for r in rows)
    with pytest.raises(jz.ApiError) as exc:
        list(client.pull(grants[0].entry.resource_key, fields=["注册资本"]))
    assert exc.value.status == 403 and exc.value.code == "no_grant"

    api_client_suspend(actor=security_admin, client_pk=client_row.pk, reason="演练")
    with pytest.raises(jz.ApiError) as exc:
        list(client.grants())
    assert exc.value.code == "client_suspended"


def test_cli_requires_credentials(capsys, monkeypatch):
    jz = load_client_module()
    monkeypatch.delenv("JZ_SECRET", raising=False)
    with pytest.raises(SystemExit):
        jz.main(["--client-id", "jzc_x", "catalog"])
