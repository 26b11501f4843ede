"""Writes from code into the resource tables only (issue 18's contract step, AGGREGATION["WRITE_RECORDS"] off):
records_upsert / records_push and record_delete write `pool.r<dataset id>` through storage.writing — an item a row
leaves out keeps the subject's stored value (per row), null or "" empties it, duplicate keys: the last row wins,
inserts and updates and deletions each write one history row in the writer's form ({"token": …, item: text}),
and aggregation_record is not touched."""

from __future__ import annotations

import pytest

from aggregation.models import Record, RecordHistory
from aggregation.selectors.pools import record_values
from aggregation.services import pools as services
from aggregation.storage import reading
from aggregation.storage.writing import cipher, open_token
from portal.errors import NotFound
from tests.aggregation.builders import ids

pytestmark = [pytest.mark.django_db, pytest.mark.tables_only]


def values(dataset, key) -> dict:
    return record_values(reading.by_key(dataset, key, include_deleted=True))


def history(row_id) -> list[RecordHistory]:
    return list(RecordHistory.objects.filter(record_id=row_id).order_by("id"))


def writer_form(dataset, plain: dict[str, str]) -> tuple[dict, dict]:
    """(the clear part of a writer's-form row, the encrypted part its token holds) of values {item: text}."""
    encrypted = {n for n, e in dataset.columns.items() if e["encrypted"]}
    return ({n: v for n, v in plain.items() if n not in encrypted and v},
            {n: v for n, v in plain.items() if n in encrypted and v})


FULL = {"姓名": "张三", "性别": "男", "出生日期": "1990-01-01", "户籍地址": "河南省焦作市解放区民主路12号",
        "联系电话": "13812345678", "家庭人口": "4"}


def test_an_item_a_row_leaves_out_keeps_its_stored_value_row_by_row(staff, people_entry):
    dataset = services.dataset_ensure(entry=people_entry)
    a, b, c = ids(3)
    first = services.records_upsert(actor=staff, dataset=dataset, rows=[
        {"公民身份号码": a, **FULL}, {"公民身份号码": b, **FULL, "姓名": "李四", "性别": "女"}])
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    # Row 1 changes 姓名 only, row 2 联系电话 only (each leaves out other items), row 3 is a new key that leaves out
    # everything but 姓名: it keeps nothing.
    second = services.records_upsert(actor=staff, dataset=dataset, rows=[
        {"公民身份号码": a, "姓名": "张叁"}, {"公民身份号码": b, "联系电话": "13900000000"},
        {"公民身份号码": c, "姓名": "王五"}])
    assert (second.inserted, second.updated, second.unchanged) == (1, 2, 0)
    assert values(dataset, a) == {"公民身份号码": a, **FULL, "姓名": "张叁"}
    assert values(dataset, b) == {"公民身份号码": b, **FULL, "姓名": "李四", "性别": "女", "联系电话": "13900000000"}
    assert values(dataset, c) == {"公民身份号码": c, "姓名": "王五"}
    # A row that leaves out every item but its key changes nothing: unchanged, no history row.
    before = RecordHistory.objects.count()
    third = services.records_upsert(actor=staff, dataset=dataset, rows=[{"公民身份号码": a}, {"公民身份号码": b}])
    assert (third.inserted, third.updated, third.unchanged, third.changes) == (0, 0, 2, [])
    assert RecordHistory.objects.count() == before
    dataset.refresh_from_db()
    assert dataset.row_count == 3
    assert not Record.objects.exists()  # the records table is not written


def test_an_item_given_null_or_empty_is_emptied(staff, people_entry):
    dataset = services.dataset_ensure(entry=people_entry)
    (a,) = ids(1)
    services.records_upsert(actor=staff, dataset=dataset, rows=[{"公民身份号码": a, **FULL}])
    result = services.records_upsert(actor=staff, dataset=dataset, rows=[
        {"公民身份号码": a, "联系电话": None, "出生日期": "", "户籍地址": "  "}])
    assert (result.updated, result.unchanged) == (1, 0)
    kept = {k: v for k, v in FULL.items() if k not in ("联系电话", "出生日期", "户籍地址")}
    assert values(dataset, a) == {"公民身份号码": a, **kept}
    row = reading.by_key(dataset, a)
    assert "出生日期" not in row.values  # the typed column is NULL
    (update,) = [h for h in history(row.id) if h.op == "update"]
    assert "出生日期" in update.before and "出生日期" not in update.after


def test_duplicate_keys_in_one_push_the_last_row_wins_and_keeps_from_the_stored_row(staff, people_entry):
    dataset = services.dataset_ensure(entry=people_entry)
    a, b, c = ids(3)
    services.records_upsert(actor=staff, dataset=dataset, rows=[{"公民身份号码": a, "姓名": "张三", "性别": "女"}])
    result = services.records_upsert(actor=staff, dataset=dataset, rows=[
        {"公民身份号码": a, "姓名": "甲", "性别": "男"}, {"公民身份号码": b, "姓名": "乙"},
        {"公民身份号码": a.lower(), "姓名": "丙"},  # the same subject (the blind index upper-cases)
        {"公民身份号码": c, "姓名": "丁", "性别": "男"}, {"公民身份号码": c, "姓名": "戊"}])
    assert (result.inserted, result.updated, result.unchanged) == (2, 1, 0)
    assert not result.rejected
    # a: the last row (丙) with 性别 kept from the STORED row (女), not from the earlier row of the push (男).
    assert values(dataset, a)["姓名"] == "丙" and values(dataset, a)["性别"] == "女"
    # c, a new key: its last row alone (a new key keeps nothing).
    assert values(dataset, c) == {"公民身份号码": c, "姓名": "戊"}
    assert sorted(ch.op for ch in result.changes) == ["insert", "insert", "update"]
    assert len({ch.record_id for ch in result.changes}) == 3
    row = reading.by_key(dataset, a)
    assert [h.op for h in history(row.id)] == ["insert", "update"] and row.version == 2


def test_an_insert_from_code_writes_its_history_row_in_the_writers_form(staff, people_entry):
    dataset = services.dataset_ensure(entry=people_entry)
    (a,) = ids(1)
    result = services.records_upsert(actor=staff, dataset=dataset, reason="接口推送",
                                     rows=[{"公民身份号码": a, **FULL, "户籍地址": ""}])
    (change,) = result.changes
    row = reading.by_key(dataset, a)
    assert (change.record_id, change.op) == (row.id, "insert") and row.version == 1 and row.job_id is None
    insert = RecordHistory.objects.get(pk=change.history_id)
    assert (insert.op, insert.record_id, insert.dataset_id, insert.before) == ("insert", row.id, dataset.pk, None)
    assert insert.actor == staff and insert.reason == "接口推送" and insert.job_id is None
    clear, secret = writer_form(dataset, {"公民身份号码": a, **FULL, "户籍地址": ""})
    assert insert.after == {"token": row.token, **clear} == reading.history_form(row)
    assert open_token(cipher(), insert.after["token"]) == secret  # (empty values absent from the token too)
    assert insert.after["出生日期"] == "1990-01-01" and insert.after["家庭人口"] == "4"


def test_an_update_writes_before_and_after_in_the_writers_form(staff, people_entry):
    dataset = services.dataset_ensure(entry=people_entry)
    (a,) = ids(1)
    first = services.records_upsert(actor=staff, dataset=dataset, rows=[{"公民身份号码": a, **FULL}])
    result = services.records_upsert(actor=staff, dataset=dataset, reason="更正",
                                     rows=[{"公民身份号码": a, "姓名": "张叁", "家庭人口": "5"}])
    (change,) = result.changes
    assert change.op == "update" and change.record_id == first.changes[0].record_id
    update = RecordHistory.objects.get(pk=change.history_id)
    insert = RecordHistory.objects.get(pk=first.changes[0].history_id)
    row = reading.get(dataset, change.record_id)
    assert update.before == insert.after and update.after == reading.history_form(row)
    assert update.actor == staff and update.reason == "更正" and row.version == 2
    assert open_token(cipher(), update.before["token"])["姓名"] == "张三"
    after = open_token(cipher(), update.after["token"])
    assert after["姓名"] == "张叁" and after["联系电话"] == FULL["联系电话"]  # (kept, inside the new token)
    assert (update.before["家庭人口"], update.after["家庭人口"]) == ("4", "5")


def test_delete_is_soft_with_one_history_row(staff, people_entry, audit_log):
    dataset = services.dataset_ensure(entry=people_entry)
    a, b = ids(2)
    services.records_upsert(actor=staff, dataset=dataset, rows=[{"公民身份号码": a, **FULL}, {"公民身份号码": b}])
    live = reading.by_key(dataset, a)
    deleted = services.record_delete(actor=staff, dataset=dataset, key=a, reason="当事人死亡注销")
    assert deleted.id == live.id and deleted.deleted_at is not None and deleted.version == 2
    assert deleted.updated_at == deleted.deleted_at
    assert reading.by_key(dataset, a) is None and reading.count(dataset) == 1
    insert, delete = history(live.id)
    assert (insert.op, delete.op) == ("insert", "delete")
    assert delete.before == reading.history_form(live) == insert.after and delete.after is None
    assert delete.actor == staff and delete.reason == "当事人死亡注销"
    (event,) = audit_log("aggregation.record.deleted")
    assert event.object_id == str(live.id) and event.data == {"dataset": dataset.pk, "reason": "当事人死亡注销"}
    dataset.refresh_from_db()
    assert dataset.row_count == 1
    with pytest.raises(NotFound):
        services.record_delete(actor=staff, dataset=dataset, key=a, reason="再删")
    # Pushed again: brought back by an update; a deleted row keeps nothing for the items the push leaves out.
    again = services.records_upsert(actor=staff, dataset=dataset, rows=[{"公民身份号码": a, "姓名": "张三"}])
    assert (again.inserted, again.updated) == (0, 1)
    back = reading.by_key(dataset, a)
    assert back.deleted_at is None and back.version == 3 and values(dataset, a) == {"公民身份号码": a, "姓名": "张三"}
    assert not Record.objects.exists()
