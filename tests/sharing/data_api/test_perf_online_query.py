"""The signed online query's fast path (issue 5): the client cache and its invalidation, the counter throttle, and the
one-statement read of the grant policy — each refuses exactly what the slow path refused, at the next call."""

from __future__ import annotations

import datetime as dt
import time
from urllib.parse import quote, urlsplit

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from catalog.choices import EntryState, ShareType
from portal.errors import PortalError
from security import crypto
from security.signing import authentication, clients, store
from sharing.choices import GrantState
from sharing.data_api.facts import entry_for_read
from sharing.models import ApiClient
from sharing.policy import read_permission
from sharing.services.clients import api_client_register, api_client_resume, api_client_suspend
from sharing.services.grants import grant_revoke
from tests.aggregation.builders import ids
from tests.sharing.helpers import PEOPLE, PHONE
from tests.support import LOOPBACK, signed_headers, stored_row

pytestmark = pytest.mark.django_db

GRANTS = "/api/v1/sharing/grants/"


@pytest.fixture
def call(api_client, api_client_row):
    """call(path, secret=None, nonce=None, purpose=...) -> response of a signed GET by api_client_row's client."""
    client, secret = api_client_row

    def _call(path=GRANTS, *, secret_=None, nonce=None, purpose="窗口核验"):
        parts = urlsplit(path)
        headers = signed_headers(client.client_id, secret_ or secret, "GET", parts.path, parts.query, nonce=nonce)
        headers["HTTP_X_PURPOSE"] = purpose.encode().decode("latin-1")
        return api_client.get(path, **headers)

    return _call


def counted(client_id: str) -> int:
    """Calls counted against the client's rate in the current minute."""
    window = int(time.time() // store.RATE_WINDOW_SECONDS)
    return int(cache.get(store.rate_name(client_id, window)) or 0)


def refusal_reasons(audit_log) -> list[str]:
    return [e.data["reason"] for e in audit_log("security.signature.refused")]


# ---------------------------------------------------------------- the client cache


def test_suspension_refuses_the_next_call_of_a_cached_client(call, api_client_row, security_admin, audit_log):
    client, _secret = api_client_row
    assert call().status_code == 200
    assert client.client_id in clients._clients  # this process holds the row now
    api_client_suspend(actor=security_admin, client_pk=client.pk, reason="疑似泄露")
    response = call()
    assert response.status_code == 403 and response.json()["code"] == "client_suspended"
    api_client_resume(actor=security_admin, client_pk=client.pk)
    assert call().status_code == 200
    assert refusal_reasons(audit_log) == ["suspended"]


def test_a_change_made_by_another_process_refuses_the_next_call(call, api_client_row, audit_log):
    """Another process suspends the client: this one still holds the old row, but the generation moved on."""
    client, _secret = api_client_row
    assert call().status_code == 200
    ApiClient.objects.filter(pk=client.pk).update(state="suspended")  # no signal in this process …
    clients._bump_generation()  # … only what the other process's clients_changed sends
    assert client.client_id in clients._clients
    response = call()
    assert response.status_code == 403 and response.json()["code"] == "client_suspended"
    assert refusal_reasons(audit_log) == ["suspended"]
    assert counted(client.client_id) == 1  # the refused call was taken off the rate counter again


def test_a_rotation_made_by_another_process_stops_the_old_secret(call, api_client_row, audit_log):
    client, old = api_client_row
    assert call().status_code == 200
    ApiClient.objects.filter(pk=client.pk).update(secret_enc=crypto.encrypt("the-new-secret"))
    clients._bump_generation()
    response = call(secret_=old)
    assert response.status_code == 401 and response.json()["code"] == "signature_invalid"
    assert call(secret_="the-new-secret").status_code == 200
    assert refusal_reasons(audit_log) == ["signature_mismatch"]


def test_a_new_secret_and_a_resumption_work_at_once_in_a_process_holding_the_old_row(call, api_client_row):
    """What a copy would refuse is judged on the row as it is now (no generation bump needed)."""
    client, _old = api_client_row
    assert call().status_code == 200
    ApiClient.objects.filter(pk=client.pk).update(secret_enc=crypto.encrypt("rotated-elsewhere"))
    assert call(secret_="rotated-elsewhere").status_code == 200
    ApiClient.objects.filter(pk=client.pk).update(state="suspended")
    clients._bump_generation()
    assert call(secret_="rotated-elsewhere").json()["code"] == "client_suspended"  # now held as suspended
    ApiClient.objects.filter(pk=client.pk).update(state="active")
    assert call(secret_="rotated-elsewhere").status_code == 200


def test_a_change_that_bypasses_the_signals_is_read_when_the_copy_runs_out(call, api_client_row):
    client, _secret = api_client_row
    assert call().status_code == 200
    ApiClient.objects.filter(pk=client.pk).update(state="suspended")  # raw update: no bump anywhere
    clients._clients[client.client_id].expires = time.monotonic() - 1  # CLIENT_CACHE_SECONDS later
    assert call().json()["code"] == "client_suspended"


def test_deactivating_the_department_refuses_the_next_call(call, api_client_row):
    client, _secret = api_client_row
    assert call().status_code == 200
    department = client.department
    department.is_active = False
    department.save(update_fields=["is_active"])
    assert call().json()["code"] == "client_suspended"


def test_the_generation_is_bumped_again_after_commit(api_client_row, security_admin, monkeypatch,
                                                      django_capture_on_commit_callbacks):
    client, _secret = api_client_row
    bumps = []
    original = clients._bump_generation
    monkeypatch.setattr(clients, "_bump_generation", lambda: bumps.append(1) or original())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        api_client_suspend(actor=security_admin, client_pk=client.pk, reason="停用")
    assert len(bumps) == 1  # at the save: other processes re-read at once …
    for callback in callbacks:
        callback()
    assert len(bumps) == 2  # … and again after the commit, in case one re-read the row before it


def test_replayed_nonce_of_a_cached_client_and_unknown_client(call, api_client_row, api_client, audit_log):
    client, _secret = api_client_row
    nonce = "r" * 32
    assert call(nonce=nonce).status_code == 200
    assert call(nonce=nonce).json()["code"] == "replayed"
    assert counted(client.client_id) == 1  # a replay does not use up the allowance
    response = api_client.get(GRANTS, **signed_headers("jzc_nobody", "x", "GET", GRANTS))
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    assert refusal_reasons(audit_log) == ["nonce_seen", "unknown_client"]


def test_one_redis_round_trip_and_no_client_query_per_call(call, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as first:
        assert call().status_code == 200  # loads the client row (and records last_used_at)
    assert sum("sharing_apiclient" in q["sql"] for q in first.captured_queries) == 2
    commands = []
    redis = store.redis_client()
    original = redis.execute_command
    monkeypatch.setattr(redis, "execute_command", lambda *a, **k: commands.append(a[0]) or original(*a, **k))
    with CaptureQueriesContext(connection) as second:
        assert call().status_code == 200
    assert not any("sharing_apiclient" in q["sql"] for q in second.captured_queries)
    assert len(second.captured_queries) == len(first.captured_queries) - 2
    assert commands == ["EVALSHA"]  # nonce, counter and client generation: one command, one round trip


# ---------------------------------------------------------------- the counter throttle


def test_counter_throttle_refuses_over_the_limit(api_client, security_admin, other_dept, audit_log):
    client, secret = api_client_register(actor=security_admin, department_id=other_dept.pk, name="慢系统",
                                                  rate_per_minute=3, allowed_networks=LOOPBACK)

    def get():
        return api_client.get(GRANTS, **signed_headers(client.client_id, secret, "GET", GRANTS))

    assert [get().status_code for _ in range(3)] == [200, 200, 200]
    refused = get()
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    assert int(refused["Retry-After"]) >= 1
    assert get().json()["code"] == "throttled"
    assert counted(client.client_id) == 3  # refused calls are not counted
    [event] = audit_log("security.signature.throttled")
    assert event.data["rate_per_minute"] == 3


def test_counter_throttle_weighs_the_previous_minute(api_client, security_admin, other_dept, monkeypatch):
    """Halfway through a minute, half of the previous minute's calls still count (no doubled rate at the turn)."""
    client, secret = api_client_register(actor=security_admin, department_id=other_dept.pk, name="B",
                                                  rate_per_minute=10, allowed_networks=LOOPBACK)
    window = int(time.time() // 60) + 1
    now = window * 60 + 30.0  # half a minute into a window

    real_monotonic = time.monotonic

    class Clock:
        @staticmethod
        def time():
            return now

        monotonic = staticmethod(real_monotonic)

    for module in (store, authentication):  # the call store's minute and the signature's clock window
        monkeypatch.setattr(module, "time", Clock)
    cache.set(store.rate_name(client.client_id, window - 1), 14, timeout=120)  # 14 × ½ = 7 still count

    def get():
        headers = signed_headers(client.client_id, secret, "GET", GRANTS, timestamp=int(now))
        return api_client.get(GRANTS, **headers).status_code

    assert [get() for _ in range(4)] == [200, 200, 200, 429]  # 7 + 3 = 10 fit, the 11th does not


def test_throttle_counts_only_views_that_throttle_clients(api_client, security_admin, other_dept):
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView

    client, secret = api_client_register(actor=security_admin, department_id=other_dept.pk, name="C",
                                                  rate_per_minute=5, allowed_networks=LOOPBACK)

    class Unthrottled(APIView):
        throttle_classes: list = []

        def get(self, request):
            from rest_framework.response import Response

            return Response({"user": request.user.username})

    request = APIRequestFactory().get("/x/", **signed_headers(client.client_id, secret, "GET", "/x/"))
    response = Unthrottled.as_view()(request)
    assert response.status_code == 200 and response.data["user"] == f"client:{client.client_id}"
    assert counted(client.client_id) == 0
    assert api_client.get(GRANTS, **signed_headers(client.client_id, secret, "GET", GRANTS)).status_code == 200
    assert counted(client.client_id) == 1


@override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}})
def test_a_cache_that_is_not_redis_still_guards_nonces_and_rates(api_client, security_admin, other_dept):
    assert store.redis_client() is None
    client, secret = api_client_register(actor=security_admin, department_id=other_dept.pk, name="D",
                                                  rate_per_minute=2, allowed_networks=LOOPBACK)
    headers = signed_headers(client.client_id, secret, "GET", GRANTS)
    assert api_client.get(GRANTS, **headers).status_code == 200
    assert api_client.get(GRANTS, **headers).json()["code"] == "replayed"
    codes = [api_client.get(GRANTS, **signed_headers(client.client_id, secret, "GET", GRANTS)).status_code
             for _ in range(2)]
    assert codes == [200, 429]


# ---------------------------------------------------------------- the grant, read at the moment of every call


@pytest.fixture
def people(make_people):
    return make_people(3, start=70)


def query_url(entry, key):
    return f"/api/v1/data/{entry.resource_key}/records/{key}/"


def test_revoked_grant_is_refused_by_the_next_query(people, call, api_client_row, make_grant, staff, audit_log):
    entry, keys = people
    client, _secret = api_client_row
    grant = make_grant(client.department, entry, ["联系电话"], methods=("query",))
    first = call(query_url(entry, keys[0]))
    assert first.status_code == 200 and first.json()["联系电话"] == PHONE
    grant_revoke(actor=staff, grant_id=grant.pk, reason="业务已结束")
    # The default projection falls back to the base items (R19.2), read masked; asking for the item is refused.
    after = call(query_url(entry, keys[0]))
    assert after.status_code == 200 and "联系电话" not in after.json() and "*" in after.json()["公民身份号码"]
    refused = call(query_url(entry, keys[0]) + "?fields=" + quote("联系电话"))
    assert refused.status_code == 403 and refused.json()["code"] == "no_grant"
    assert audit_log("sharing.data.refused")[-1].data["code"] == "no_grant"


def test_expired_grant_is_refused_by_the_next_query(people, call, api_client_row, make_grant, freeze_today):
    entry, keys = people
    client, _secret = api_client_row
    today = timezone.localdate()
    make_grant(client.department, entry, ["联系电话"], methods=("query",), valid_to=today)
    assert call(query_url(entry, keys[1]) + "?fields=" + quote("联系电话")).status_code == 200
    freeze_today(today + dt.timedelta(days=1))  # nothing ran: the grant row still says "active"
    refused = call(query_url(entry, keys[1]) + "?fields=" + quote("联系电话"))
    assert refused.status_code == 403 and refused.json()["code"] == "grant_expired"


def test_online_query_is_three_statements(people, call, api_client_row, make_grant, django_assert_num_queries):
    entry, keys = people
    client, _secret = api_client_row
    make_grant(client.department, entry, [n for n, *_ in PEOPLE], methods=("query",))
    assert call(query_url(entry, keys[2])).status_code == 200
    # entry + items + grants; the subject's row in the dataset's resource table + its open verification case (read
    # once the policy allowed the call); the audit event.
    with django_assert_num_queries(3):
        row = call(query_url(entry, keys[2])).json()
    assert row["公民身份号码"] == keys[2] and row["under_verification"] is False


def test_a_refused_query_never_reads_the_subject(people, call, api_client_row):
    """An item the resource does not have: the refusal is audited, and the subject's row is never read."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    entry, keys = people
    with CaptureQueriesContext(connection) as queries:
        refused = call(query_url(entry, keys[1]) + "?fields=" + quote("不存在"))
    assert refused.status_code == 400
    assert queries.captured_queries and not any('"pool"' in q["sql"] for q in queries.captured_queries)


def test_the_subject_row_is_the_subjects(people, other_dept, make_grant):
    from sharing.data_api.calls import DataCall
    from sharing.data_api.records import subject_record

    entry, keys = people
    wanted = stored_row(entry.dataset, keys[1])
    permission = read_permission(department=entry.provider, entry=entry, items=None, method="query")
    call = DataCall(user=None, entry=entry, dataset=entry.dataset, permission=permission, method="query",
                    purpose="x", projection=list(permission.items))
    subject = subject_record(call, keys[1])
    assert subject.id == wanted.id and subject.flagged is False and subject.values["公民身份号码"] == keys[1]
    assert subject_record(call, "nobody") is None


# ---------------------------------------------------------------- entry_for_read = the ORM's reads


def test_entry_for_read_loads_what_the_orm_loads(people, other_dept, make_grant):
    from catalog.models import CatalogEntry

    entry, _keys = people
    grant = make_grant(other_dept, entry, ["性别"], methods=("api", "query"))
    fast, facts = entry_for_read(code=entry.code, department_id=other_dept.pk)
    slow = CatalogEntry.objects.select_related("provider", "classification", "dataset").get(pk=entry.pk)

    def fields(obj):
        return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}

    assert fields(fast) == fields(slow)
    for name in ("provider", "classification", "dataset"):
        assert fields(getattr(fast, name)) == fields(getattr(slow, name))
    assert fast.dataset.entry is fast
    assert facts.declared == tuple((i.name, i.is_base_item, i.data_type) for i in slow.items.order_by("position"))
    [loaded] = facts.grants
    assert (loaded.pk, loaded.items, loaded.methods, loaded.valid_from, loaded.valid_to, loaded.state,
            loaded.purpose) == (grant.pk, grant.items, grant.methods, grant.valid_from, grant.valid_to,
                                grant.state, grant.purpose)
    assert entry_for_read(pk=entry.pk, department_id=None)[0].pk == entry.pk
    assert entry_for_read(code="303/none", department_id=other_dept.pk) == (None, None)


def test_entry_without_dataset(make_entry, other_dept):
    from aggregation.models import Dataset

    entry = make_entry()
    fast, _facts = entry_for_read(pk=entry.pk, department_id=other_dept.pk)
    with pytest.raises(Dataset.DoesNotExist):
        fast.dataset  # noqa: B018 — as with select_related: the reverse one-to-one raises


def _outcome(**kwargs):
    try:
        perm = read_permission(**kwargs)
    except PortalError as exc:
        return type(exc).__name__, exc.code, {k: [str(m) for m in v] for k, v in (exc.errors or {}).items()}
    return perm.items, perm.grant.pk if perm.grant else None, perm.basis


GRANT_CASES = {
    "none": [],
    "active": [{"items": ["法定代表人"]}],
    "two": [{"items": ["法定代表人"]}, {"items": ["法定代表人", "成立日期"], "valid_to_days": 90}],
    "expired by date": [{"items": ["法定代表人"], "valid_from_days": -60, "valid_to_days": -1}],
    "expired state": [{"items": ["法定代表人"], "valid_from_days": -60, "valid_to_days": -1,
                       "state": GrantState.EXPIRED}],
    "revoked": [{"items": ["法定代表人"], "state": GrantState.REVOKED}],
    "future": [{"items": ["法定代表人"], "valid_from_days": 5, "valid_to_days": 50}],
    "other method": [{"items": ["法定代表人"], "methods": ("download",)}],
}
ITEM_CASES = [None, ["法定代表人"], ["成立日期"], ["统一社会信用代码", "企业名称"], ["不存在"], []]


@pytest.mark.parametrize("grants", list(GRANT_CASES))
@pytest.mark.parametrize("share_type", [ShareType.CONDITIONAL, ShareType.UNCONDITIONAL])
def test_the_one_statement_decides_as_the_queries_did(make_entry, make_grant, other_dept, dept, grants, share_type):
    entry = make_entry(share_type=share_type, methods=("api", "query"))
    today = timezone.localdate()
    for spec in GRANT_CASES[grants]:
        spec = dict(spec)
        make_grant(other_dept, entry, spec.pop("items"), methods=spec.pop("methods", ("api", "query")),
                   valid_from=today + dt.timedelta(days=spec.pop("valid_from_days", -30)),
                   valid_to=today + dt.timedelta(days=spec.pop("valid_to_days", 30)), **spec)
    for department in (other_dept, dept):
        fast, facts = entry_for_read(pk=entry.pk, department_id=department.pk)
        for items in ITEM_CASES:
            for method in ("api", "query", "download", "ftp"):
                for at in (None, timezone.now() + dt.timedelta(days=40)):
                    kwargs = {"department": department, "items": items, "method": method, "at": at}
                    assert _outcome(entry=fast, facts=facts, **kwargs) == _outcome(entry=entry, **kwargs), kwargs


def test_facts_of_another_department_or_entry_are_not_used(make_entry, make_grant, other_dept, dept):
    entry = make_entry()
    other_entry = make_entry()
    make_grant(other_dept, entry, ["法定代表人"])
    _e, facts_for_dept = entry_for_read(pk=entry.pk, department_id=dept.pk)
    _e, facts_other_entry = entry_for_read(pk=other_entry.pk, department_id=other_dept.pk)
    for facts in (facts_for_dept, facts_other_entry):
        perm = read_permission(department=other_dept, entry=entry, items=["法定代表人"], method="api", facts=facts)
        assert perm.grant is not None


def test_unpublished_entry_is_not_found_through_the_api(make_entry, call):
    entry = make_entry(state=EntryState.DRAFT)
    response = call(f"/api/v1/data/{entry.pk}/records/{ids(1, start=1)[0]}/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert call("/api/v1/data/²/records/x/").json()["code"] == "not_found"
