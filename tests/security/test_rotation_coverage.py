"""Key rotation covers every column stored under the field keys (R28.3): after `rotate_field_keys` the old key can be
dropped and every signed client, push target, theme row and record still works; a new `*_enc` field that is not
registered with security.rotation fails here."""

from __future__ import annotations

import io
import json

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from aggregation.models import Record, RecordHistory, ThemeRow
from aggregation.selectors.pools import record_get, record_integrity, record_values
from aggregation.services import pools
from aggregation.services import themes as theme_services
from aggregation.storage import reading
from security import crypto, rotation
from sharing.push import run as push_engine
from sharing.services import push as push_services
from tests.aggregation.builders import id_number
from tests.aggregation.test_storage_rotating import assert_digests_verify, history_plain
from tests.sharing.conftest import (  # noqa: F401 — fixtures of the sharing tests, used here by name
    _no_settle,
    make_entry,
    make_grant,
    make_people,
    people_push,
    target_dsn,
)

from .test_crypto import KEY_A, KEY_B

BLIND_B = "FdrsnhMcmKhEwoHQDDyIFPF0NlUjnNlncMmPQxjbzDU"


@pytest.fixture
def everything(person_records, person_dataset, staff, api_client_row, people_push,  # noqa: F811
               target_dsn, other_staff, django_capture_on_commit_callbacks):  # noqa: F811
    """A value in every registered column: records and history (a change, so `before` holds tokens too), a built
    theme, an API client, a push target."""
    pools.records_upsert(actor=staff, dataset=person_dataset, rows=[
        {"身份证号码": id_number(1), "姓名": "张三", "性别": "男", "户籍地址": "焦作市解放区民主路14号",
         "联系电话": "13800001111"}])
    theme = theme_services.theme_save(actor=staff, name="人口主题库", key_kind="id_number", sources=[
        {"dataset": person_dataset.pk, "items": ["姓名", "户籍地址"]},
    ])
    with django_capture_on_commit_callbacks(execute=False):
        job = theme_services.theme_rebuild_request(actor=staff, theme_id=theme.pk)
    assert theme_services.theme_build(job_id=job.pk).status == "succeeded"
    _entry, grant, _keys = people_push
    sub = push_services.push_subscription_create(actor=other_staff, grant_id=grant.pk, dsn=target_dsn,
                                                 table="hj_people", interval_minutes=30)
    return {"theme": theme, "subscription": sub, "dataset": person_dataset}


def _tokens(table: str, column: str) -> list[str]:
    """Every token stored in a registered column (a text column's values; a JSON column's string values, nested)."""
    q = connection.ops.quote_name
    with connection.cursor() as cur:
        cur.execute(f"SELECT {q(column)} FROM {q(table)}")  # noqa: S608 — registered names
        values = [v for (v,) in cur.fetchall() if v is not None]
    found: list[str] = []

    def walk(value):
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str) and crypto.is_encrypted(value):
            found.append(value)

    for value in values:
        if isinstance(value, str) and value[:1] in "{[":
            value = json.loads(value)
        walk(value)
    return found


def _covered() -> set[tuple[str, str]]:
    """The registered columns holding this mode's data: without the records path (AGGREGATION["WRITE_RECORDS"] off)
    aggregation_record is neither written nor rotated — the resource tables are (`_table_tokens`)."""
    if settings.AGGREGATION["WRITE_RECORDS"]:
        return rotation.covered()
    return {(t, c) for t, c in rotation.covered() if t != "aggregation_record"}


def _datasets() -> list:
    from aggregation.models import Dataset

    return list(Dataset.objects.exclude(columns={}).order_by("pk"))


def _table_tokens() -> list[str]:
    """Every row token of every resource table (deleted rows too)."""
    return [r.token for d in _datasets() for r in reading.rows(d, include_deleted=True) if r.token]


@pytest.mark.django_db
def test_after_rotation_the_old_key_can_be_dropped_and_everything_still_works(
        everything, settings, api_client, signed_get, api_client_row, staff, audit_log):
    # Data under the old key in every registered column.
    for table, column in _covered():
        tokens = _tokens(table, column)
        assert tokens and all(t.startswith("test1:") for t in tokens), f"{table}.{column} has no test1 data"
    assert _table_tokens() and all(t.startswith("test1:") for t in _table_tokens())

    settings.FIELD_ENCRYPTION_KEYS = f"{KEY_B},{KEY_A}"
    rotated = (Record.objects.count() if settings.AGGREGATION["WRITE_RECORDS"]
               else sum(reading.count(d, include_deleted=True) for d in _datasets()))
    dry = io.StringIO()
    call_command("rotate_field_keys", "--dry-run", stdout=dry)
    assert "would re-encrypt" in dry.getvalue() and "1 row of sharing_apiclient.secret_enc" in dry.getvalue()
    assert all(t.startswith("test1:") for t in _tokens("sharing_apiclient", "secret_enc"))  # dry run wrote nothing
    assert audit_log("security.keys.rotated_batch") == []

    call_command("rotate_field_keys", "--batch", "1", stdout=io.StringIO())
    for table, column in _covered():
        tokens = _tokens(table, column)
        assert tokens and all(t.startswith("test2:") for t in tokens), f"{table}.{column} still under test1"
    assert all(t.startswith("test2:") for t in _table_tokens())
    batches = audit_log("security.keys.rotated_batch")
    per_column = {}
    for event in batches:
        assert event.data["key"] == "test2"
        assert event.data["count"] == 1 or event.data["table"] == "aggregation_recordhistory"  # --batch 1
        per_column[(event.data["table"], event.data["column"])] = per_column.get(
            (event.data["table"], event.data["column"]), 0) + 1
    assert per_column[("sharing_apiclient", "secret_enc")] == 1
    assert per_column[("sharing_pushsubscription", "target_dsn_enc")] == 1
    assert per_column[("aggregation_themerow", "key_enc")] == ThemeRow.objects.count() == 2
    assert per_column[("aggregation_themerow", "data")] == 2
    if settings.AGGREGATION["WRITE_RECORDS"]:
        assert per_column[("aggregation_record", "key_enc, data")] == rotated == Record.objects.count()
    else:  # each resource table's rows, one batch each (--batch 1)
        for d in _datasets():
            assert per_column.get((f"pool.r{d.pk}", "token, key_hash, row_hash"), 0) == reading.count(
                d, include_deleted=True)
    [summary] = audit_log("security.field_keys.rotated")
    assert summary.data["key"] == "test2" and summary.data["sharing_apiclient.secret_enc"] == 1
    assert summary.data["records"] == rotated
    assert summary.data["history"] == RecordHistory.objects.count()

    # Run again: nothing left (an interrupted run is resumed the same way), no batch audited.
    call_command("rotate_field_keys", stdout=io.StringIO())
    second = audit_log("security.field_keys.rotated")[-1].data
    totals = {k: v for k, v in second.items() if type(v) is int}
    assert "sharing_pushsubscription.target_dsn_enc" in totals and set(totals.values()) == {0}
    assert len(audit_log("security.keys.rotated_batch")) == len(batches)

    settings.FIELD_ENCRYPTION_KEYS = KEY_B  # the old key is gone
    # Every signed client signs a call.
    assert signed_get().status_code == 200
    # Every push target connects: its DSN decrypts and the rows arrive.
    run = push_engine.push_run(subscription_id=everything["subscription"].pk)
    assert (run.status, run.error_code, run.rows) == ("succeeded", "", 7)
    # Every theme row reads (its key and its encrypted values).
    page = theme_services.theme_rows_page(actor=staff, theme=everything["theme"])
    names = {r["values"][f"{everything['dataset'].pk}:姓名"] for r in page["rows"]}
    assert names == {"张三", "李小明"}
    # Every record reads, and the pool's integrity check holds.
    dataset = everything["dataset"]
    assert record_values(record_get(dataset=dataset, key=id_number(1)), decrypt=True)["姓名"] == "张三"
    assert record_integrity(dataset=dataset).ok  # (the resource table, in either mode)
    for d in _datasets():
        assert_digests_verify(d)
        history_plain(d)  # every history row opens


@pytest.mark.django_db
def test_a_blind_index_rotation_recomputes_theme_rows_and_verification_cases(everything, settings, other_staff):
    from aggregation.models import VerificationCase

    dataset = everything["dataset"]
    row = record_get(dataset=dataset, key=id_number(1))  # a table row: with records or without
    case = VerificationCase.objects.create(
        record_id=row.id, dataset=dataset, provider=dataset.entry.provider, requester=other_staff.department,
        key_hash=row.key_hash, fields=["性别"], description="有疑义", received_on=timezone.localdate(),
        created_by=other_staff)
    old = settings.BLIND_INDEX_KEY
    settings.BLIND_INDEX_KEY = BLIND_B
    out = io.StringIO()
    call_command("rotate_field_keys", "--blind-index-from", old, stdout=out)
    assert "1 verification case indexes" in out.getvalue() and "2 theme row indexes" in out.getvalue()
    theme, dataset = everything["theme"], everything["dataset"]
    row = ThemeRow.objects.get(theme=theme, key_hash=crypto.blind_index(id_number(1)))
    # key_enc is the source row's token: the key is its key item's value there
    assert row.key_dataset == dataset.pk
    assert json.loads(crypto.decrypt(row.key_enc))[dataset.key_item_name] == id_number(1)
    assert ThemeRow.objects.filter(theme=theme).count() == 2
    record = record_get(dataset=everything["dataset"], key=id_number(1))
    case.refresh_from_db()
    assert bytes(case.key_hash) == bytes(record.key_hash) == crypto.blind_index(id_number(1))


def _unregistered_enc_fields() -> list[str]:
    """Every concrete `*_enc` field of every installed model whose column no registered rotator covers."""
    registered = rotation.covered()
    return [
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if field.name.endswith("_enc") and (model._meta.db_table, field.column) not in registered
    ]


def test_every_encrypted_field_of_every_model_is_registered_for_rotation():
    missing = _unregistered_enc_fields()
    assert missing == [], f"register these with security.rotation (register_column / register_json): {missing}"
    # And the JSON columns that hold tokens among plain values.
    for model, name in [(Record, "data"), (RecordHistory, "before"), (RecordHistory, "after"), (ThemeRow, "data")]:
        assert (model._meta.db_table, model._meta.get_field(name).column) in rotation.covered()


def test_the_coverage_check_names_an_encrypted_field_nobody_registered(monkeypatch):
    monkeypatch.setattr(rotation, "_rotators", dict(rotation._rotators))
    del rotation._rotators["sharing.push_subscriptions.dsn"]
    assert _unregistered_enc_fields() == ["sharing.PushSubscription.target_dsn_enc"]


@pytest.fixture
def probe_table(db, monkeypatch):
    """A raw table (no model) with a text column of tokens and a JSON column holding tokens at {"values": …},
    registered as the only columns to rotate; 5 rows under the old key."""
    monkeypatch.setattr(rotation, "_rotators", {})
    monkeypatch.setattr(rotation, "_covers", {})
    with connection.cursor() as cur:
        cur.execute("CREATE TEMP TABLE rot_probe (id bigserial PRIMARY KEY, secret text, doc jsonb)")
        for i in range(5):
            doc = {"values": {"name": crypto.encrypt(f"名{i}"), "plain": "明文", "n": i}, "note": crypto.encrypt("外")}
            cur.execute("INSERT INTO rot_probe (secret, doc) VALUES (%s, %s::jsonb)",
                        [crypto.encrypt(f"secret-{i}") if i != 3 else None, json.dumps(doc, ensure_ascii=False)])
    rotation.register_column("rot_probe", "secret")
    rotation.register_json("rot_probe", "doc", path=("values",))

    def rows():
        with connection.cursor() as cur:
            cur.execute("SELECT secret, doc FROM rot_probe ORDER BY id")
            return [(s, json.loads(d) if isinstance(d, str) else d) for s, d in cur.fetchall()]

    return rows


@pytest.mark.django_db
def test_an_interrupted_rotation_keeps_its_committed_batches_and_a_rerun_finishes(probe_table, settings, audit_log):
    settings.FIELD_ENCRYPTION_KEYS = f"{KEY_B},{KEY_A}"
    cipher = crypto.cipher()
    column = rotation.registered()["rot_probe.secret"]
    assert column(cipher=cipher, batch=2, recompute_blind_index=False, dry_run=True) == {"rot_probe.secret": 4}

    seen = []

    def dies_on_the_second_batch(table, col, count):
        seen.append((table, col, count))
        if len(seen) == 2:
            raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError):
        column(cipher=cipher, batch=2, recompute_blind_index=False, dry_run=False, on_batch=dies_on_the_second_batch)
    secrets = [s for s, _ in probe_table()]
    assert [s[:6] if s else s for s in secrets] == ["test2:", "test2:", "test1:", None, "test1:"]  # batch 1 kept

    out = io.StringIO()
    call_command("rotate_field_keys", "--batch", "2", stdout=out)
    assert "re-encrypted 2 rows of rot_probe.secret and 5 rows of rot_probe.doc under key test2" in out.getvalue()
    assert [e.data["count"] for e in audit_log("security.keys.rotated_batch")
            if e.data["column"] == "secret"] == [2]  # only the rows left: the rotated ones are not even read
    settings.FIELD_ENCRYPTION_KEYS = KEY_B
    for i, (secret, doc) in enumerate(probe_table()):
        assert secret is None if i == 3 else crypto.decrypt(secret) == f"secret-{i}"
        assert crypto.decrypt(doc["values"]["name"]) == f"名{i}"
        assert doc["values"]["plain"] == "明文" and doc["values"]["n"] == i
        assert doc["note"].startswith("test1:")  # a token outside the registered path: left alone
