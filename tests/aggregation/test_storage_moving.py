"""Moving the records into the resource tables (issue 18, item 1: "existing data migrates"): records loaded through
today's pipeline — a file job, a second load changing a row (history), a deletion, a verification case — land in
`pool.r<id>` under their own ids, their values decrypt equal, their digests are the writer's, running the move again
writes nothing, and the writer then finds the same rows unchanged. Values that do not fit refuse the dataset's move;
a stale digest is recomputed and counted. The demo world moves and verifies clean."""

import json

import polars as pl
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from psycopg import sql

from aggregation.models import Dataset, Record, RecordHistory
from aggregation.services import verification as v
from aggregation.services.pools import record_delete
from aggregation.storage.layout import Layout
from aggregation.storage.moving import MoveRefused, dataset_move, dataset_verify, move_all
from aggregation.storage.writing import open_token, write_batch
from security.crypto import FieldCipher, decrypt, is_encrypted
from security.masking import mask
from tests.aggregation.builders import csv_bytes, ids, person, submit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def records_written(settings):
    """What this file tests is the records' path (the records moved into the tables), which lives until the contract
    step deletes it: its writers write aggregation_record here whatever the run's AGGREGATION_WRITE_RECORDS."""
    settings.AGGREGATION = {**settings.AGGREGATION, "WRITE_RECORDS": True}


def cipher() -> FieldCipher:
    return FieldCipher(settings.FIELD_ENCRYPTION_KEYS, settings.BLIND_INDEX_KEY)


def plain(value: str) -> str:
    return decrypt(value) if is_encrypted(value) else value


def table_rows(dataset) -> dict[int, dict]:
    """{id: row} of the dataset's resource table, typed columns as text (DateStyle ISO, as the writer's)."""
    layout = Layout.stored(dataset)
    with connection.cursor() as cur:
        cur.execute("SET LOCAL DateStyle = 'ISO, YMD'")
        cur.execute(sql.SQL("SELECT row_to_json(t)::text FROM {} t").format(layout.table).as_string(
            connection.connection))
        rows = [json.loads(r[0]) for r in cur.fetchall()]
    return {r["id"]: r for r in rows}


@pytest.fixture
def loaded(people_entry, staff, other_staff):
    """人口 records as today's pipeline leaves them: 6 people by a file job, a second job changing one (an update
    history row), one deleted by the clerk, one disputed by another department (an open verification case)."""
    numbers = ids(6)
    job = submit(staff, people_entry, csv_bytes([person(n, name=f"王{i}明") for i, n in enumerate(numbers)]))
    assert job.inserted_rows == 6, job.log
    changed = [person(n, name=f"王{i}明") for i, n in enumerate(numbers)]
    changed[1] = person(numbers[1], name="李四", 户籍地址="河南省焦作市山阳区人民路3号")
    assert submit(staff, people_entry, csv_bytes(changed)).updated_rows == 1
    dataset = Dataset.objects.get(entry=people_entry)
    record_delete(actor=staff, dataset=dataset, key=numbers[2], reason="迁出")
    disputed = Record.objects.get(dataset=dataset, key_hash=cipher().blind_index(numbers[3]))
    case = v.verification_case_file(actor=other_staff, record_id=disputed.pk, dataset_id=dataset.pk,
                                    fields=["姓名"], description="姓名有误")
    unmirrored(dataset)
    return dataset, changed, case


def unmirrored(*datasets) -> None:
    """The tables emptied, as a dataset's records were before the writers mirrored them (storage.moving.mirror): what
    the switch's move finds."""
    with connection.cursor() as cur:
        for dataset in datasets or Dataset.objects.all():
            cur.execute(sql.SQL("DELETE FROM {}").format(Layout.stored(dataset).table).as_string(
                connection.connection))


def test_records_move_under_their_ids_with_equal_values_and_digests(loaded, audit_log):
    dataset, _changed, case = loaded
    records = {r.pk: r for r in Record.objects.filter(dataset=dataset)}
    assert dataset.encrypted_items and len(dataset.encrypted_items) > 1  # the key and another personal item
    assert RecordHistory.objects.filter(dataset=dataset, op="update").exists()

    result = dataset_move(dataset)

    assert (result.moved, result.deleted, result.skipped) == (6, 1, False)
    assert (result.key_hash_recomputed, result.row_hash_recomputed, result.masks_computed) == (0, 0, 0)
    rows = table_rows(dataset)
    assert set(rows) == set(records)
    layout = Layout.stored(dataset)
    for rid, record in records.items():
        row = rows[rid]
        assert bytes.fromhex(row["key_hash"][2:]) == bytes(record.key_hash)
        assert bytes.fromhex(row["row_hash"][2:]) == bytes(record.row_hash)
        assert (row["version"], row["job_id"]) == (record.version, None)
        assert (row["deleted_at"] is None) == (record.deleted_at is None)
        secret = open_token(cipher(), row["token"])
        for item, entry in layout.columns.items():
            value = plain(record.data.get(item, ""))
            stored = secret.get(item, "") if entry["encrypted"] else (row[entry["col"]] or "")
            assert str(stored) == value, (rid, item)
            if entry["mask"]:
                assert row[entry["mask"]] == record.masked.get(entry["mask_kind"], {}).get(item)
        assert set(secret) == {i for i in dataset.encrypted_items if record.data.get(i)}
    # what points at a record points at its row
    assert case.record_id in rows
    assert all(h.record_id in rows for h in RecordHistory.objects.filter(dataset=dataset))
    # the sequence hands out ids above the moved ones
    with connection.cursor() as cur:
        cur.execute("SELECT nextval('pool.row_id_seq')")
        assert cur.fetchone()[0] > max(records)
    event = audit_log("aggregation.dataset.moved")[-1]
    assert event.data["moved"] == 6 and event.data["table"] == layout.qualified
    assert dataset_verify(dataset).clean


def test_moving_again_writes_nothing_and_the_writer_finds_the_rows_unchanged(loaded, audit_log):
    dataset, changed, _case = loaded
    dataset_move(dataset)
    before = table_rows(dataset)

    again = dataset_move(dataset)

    assert (again.skipped, again.moved, again.differences) == (True, 0, [])
    assert table_rows(dataset) == before
    assert len(audit_log("aggregation.dataset.moved")) == 1
    # the live rows written again by the writer of the next session are unchanged (digests agree)
    target = Layout.stored(dataset).target(dataset.key_item_name)
    header = [c.item for c in target.columns]
    names = csv_bytes([]).decode().strip().split(",")
    live = [dict(zip(names, row, strict=True)) for i, row in enumerate(changed) if i != 2]
    batch = pl.DataFrame({"row_no": list(range(len(live))), **{h: [r.get(h, "") for r in live] for h in header}})
    result = write_batch(target, batch, cipher=cipher())
    assert (result.inserted, result.updated, result.unchanged) == (0, 0, 5)


def test_a_stale_digest_is_recomputed_and_counted(loaded):
    dataset, *_ = loaded
    record = Record.objects.filter(dataset=dataset, deleted_at__isnull=True).order_by("pk").first()
    Record.objects.filter(pk=record.pk).update(row_hash=b"\x00" * 32)  # e.g. a row written before a rename

    result = dataset_move(dataset)

    assert (result.row_hash_recomputed, result.recomputed_ids) == (1, [record.pk])
    assert bytes.fromhex(table_rows(dataset)[record.pk]["row_hash"][2:]) != b"\x00" * 32
    assert dataset_verify(dataset).clean


@pytest.mark.records_tampered
def test_a_value_that_does_not_fit_refuses_the_move_with_the_rows_listed(loaded):
    dataset, *_ = loaded
    records = list(Record.objects.filter(dataset=dataset).order_by("pk"))
    for r in records[:2]:  # values written around the pipeline (its converters would have refused them)
        Record.objects.filter(pk=r.pk).update(data={**r.data, "出生日期": "1990-02-30", "家庭人口": "三"})

    with pytest.raises(MoveRefused) as refused:
        dataset_move(dataset)

    message = str(refused.value.detail)
    for r in records[:2]:
        assert f"记录 {r.pk}「出生日期」" in message and f"记录 {r.pk}「家庭人口」" in message
    assert table_rows(dataset) == {}


@pytest.mark.records_tampered
def test_verify_names_the_differences(loaded):
    dataset, *_ = loaded
    dataset_move(dataset)
    record = Record.objects.filter(dataset=dataset, deleted_at__isnull=True).order_by("pk").first()
    layout = Layout.stored(dataset)
    with connection.cursor() as cur:
        cur.execute(sql.SQL("UPDATE {} SET {} = 'X', version = 9 WHERE id = %s").format(
            layout.table, sql.Identifier(layout.columns["性别"]["col"])).as_string(connection.connection),
            [record.pk])
        cur.execute(sql.SQL("DELETE FROM {} WHERE id = (SELECT max(id) FROM {})").format(
            layout.table, layout.table).as_string(connection.connection))

    check = dataset_verify(dataset)

    assert not check.clean and check.differing == 2
    col = layout.columns["性别"]["col"]
    assert check.differences[0] == f"{record.pk}: job_id/version/timestamps, {col}"
    assert check.differences[1].endswith(": no row") and check.differences[-1] == "counts: 6 records, 5 rows"


def test_the_command_moves_and_verifies(loaded):
    dataset, *_ = loaded
    out = __import__("io").StringIO()
    call_command("pool_move", "--dataset", str(dataset.pk), stdout=out)
    call_command("pool_move", "--dataset", str(dataset.pk), "--verify", stdout=out)
    text = out.getvalue()
    assert f"#{dataset.pk}" in text and "moved 6" in text and "clean" in text


def test_the_demo_world_moves_and_verifies_clean():
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    unmirrored()
    datasets = Dataset.objects.count()
    records = Record.objects.count()
    assert datasets > 1 and records > 100

    results = move_all()

    assert len(results) == datasets and sum(r.moved for r in results) == records
    # the demo's rows were all written by today's pipeline: their hashes and masked forms are the writer's
    assert not any(r.key_hash_recomputed or r.row_hash_recomputed or r.masks_computed for r in results)
    assert all(dataset_verify(d).clean for d in Dataset.objects.all())
    assert not any(r.moved for r in move_all())  # again: every dataset verified, nothing written


def test_a_missing_masked_form_is_masked_now_and_counted(loaded):
    dataset, *_ = loaded
    record = Record.objects.filter(dataset=dataset, deleted_at__isnull=True).order_by("pk").first()
    Record.objects.filter(pk=record.pk).update(masked={})  # a row stored before masked forms were (migration 0006)
    layout = Layout.stored(dataset)
    masked = [(item, e["mask"], e["mask_kind"]) for item, e in layout.columns.items() if e["mask"]]
    assert masked

    result = dataset_move(dataset)

    assert result.masks_computed == sum(1 for item, _m, _k in masked if record.data.get(item))
    row = table_rows(dataset)[record.pk]
    for item, m, kind in masked:
        assert row[m] == (mask(plain(record.data[item]), kind) if record.data.get(item) else None)
    assert dataset_verify(dataset).clean


@pytest.mark.records_tampered
def test_values_outside_the_layout_or_not_authentic_refuse_the_move(loaded):
    dataset, *_ = loaded
    first, second = Record.objects.filter(dataset=dataset).order_by("pk")[:2]
    Record.objects.filter(pk=first.pk).update(data={**first.data, "曾用名": "王小明"})
    token = next(v for v in second.data.values() if is_encrypted(v))
    item = next(k for k, v in second.data.items() if v == token)
    Record.objects.filter(pk=second.pk).update(data={**second.data, item: token[:-4] + "AAAA"})

    with pytest.raises(MoveRefused) as refused:
        dataset_move(dataset)

    message = str(refused.value.detail)
    assert f"信息项「曾用名」不在资源表的列中：1 条记录有值（如记录 {first.pk}）" in message
    assert f"1 个密文无法解密（如记录 {second.pk}）" in message
    assert table_rows(dataset) == {}
