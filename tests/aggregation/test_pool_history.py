"""Storage: upsert with history (who/when/before/after), no hard deletes, append-only history, tamper check."""

import pytest
from django.conf import settings
from django.db import IntegrityError, InternalError, connection, transaction
from django.db.utils import ProgrammingError

from aggregation.models import Record, RecordHistory
from aggregation.selectors.pools import record_get, record_integrity, record_values
from aggregation.services import pools as services
from aggregation.storage import reading
from tests.aggregation.builders import ids, table_rows

pytestmark = pytest.mark.django_db


def current_form(dataset, record_id):
    """The current version as a history row holds it: the record's JSON (records written), else the table row in the
    writer's form."""
    if settings.AGGREGATION["WRITE_RECORDS"]:
        return Record.objects.get(pk=record_id).data
    return reading.history_form(reading.get(dataset, record_id, include_deleted=True))

DB_REFUSALS = (InternalError, ProgrammingError, IntegrityError)


def test_records_upsert_inserts_updates_and_keeps_history(staff, people_entry):
    dataset = services.dataset_ensure(entry=people_entry)
    a, b = ids(2)
    with transaction.atomic():
        first = services.records_upsert(actor=staff, dataset=dataset, rows=[
            {"公民身份号码": a, "姓名": "张三", "性别": "男"}, {"公民身份号码": b, "姓名": "李四"},
            {"公民身份号码": "123", "姓名": "坏"}, {"公民身份号码": a, "不存在的项": "x"},
        ], reason="测试")
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    assert [(r.row, r.item) for r in first.rejected] == [(3, "公民身份号码"), (4, "不存在的项")]
    assert {c.op for c in first.changes} == {"insert"}
    second = services.records_upsert(actor=staff, dataset=dataset, rows=[
        {"公民身份号码": a, "姓名": "张三丰", "性别": "男"}, {"公民身份号码": b, "姓名": "李四"}], reason="更正")
    assert (second.inserted, second.updated, second.unchanged) == (0, 1, 1)
    record = record_get(dataset=dataset, key=a)
    assert record.version == 2
    history = list(RecordHistory.objects.filter(record_id=record.id).order_by("id"))
    assert [h.op for h in history] == ["insert", "update"]
    assert history[1].actor == staff and history[1].reason == "更正" and history[1].changed_at
    assert history[1].before == history[0].after and history[1].after == current_form(dataset, record.id)
    assert second.changes[0].history_id == history[1].pk
    assert record_values(record, decrypt=True)["姓名"] == "张三丰"
    dataset.refresh_from_db()
    assert dataset.row_count == 2


def test_a_first_load_inserts_every_key_although_other_datasets_hold_the_same_keys(staff, dept, people_entry):
    # A dataset that holds no record yet is loaded by the INSERT alone (no anti-join): the emptiness is per dataset.
    from tests.aggregation.builders import PEOPLE_ITEMS, make_entry

    residents = make_entry(dept, "居住证信息", [(n, t, length, key, False) for n, t, length, key, _b in PEOPLE_ITEMS])
    first, second = services.dataset_ensure(entry=people_entry), services.dataset_ensure(entry=residents)
    a, b = ids(2)
    services.records_upsert(actor=staff, dataset=first, rows=[{"公民身份号码": a}, {"公民身份号码": b}])
    loaded = services.records_upsert(actor=staff, dataset=second, rows=[
        {"公民身份号码": a, "姓名": "甲"}, {"公民身份号码": b}, {"公民身份号码": a, "姓名": "乙"}])
    assert (loaded.inserted, loaded.updated) == (2, 0)
    assert record_values(record_get(dataset=second, key=a), decrypt=True)["姓名"] == "乙"  # the last occurrence
    again = services.records_upsert(actor=staff, dataset=second, rows=[{"公民身份号码": a, "姓名": "丙"}])
    assert (again.inserted, again.updated) == (0, 1)
    assert table_rows(second) == 2 and table_rows(first) == 2


def test_all_or_nothing_upsert_writes_nothing_on_a_bad_row(staff, people_entry):
    dataset = services.dataset_ensure(entry=people_entry)
    result = services.records_upsert(actor=staff, dataset=dataset, all_or_nothing=True,
                                     rows=[{"公民身份号码": ids(1)[0]}, {"公民身份号码": "bad"}])
    assert result.inserted == 0 and len(result.rejected) == 1 and table_rows() == 0


def test_delete_is_soft_with_history_and_sql_delete_is_refused(staff, people_entry, audit_log):
    dataset = services.dataset_ensure(entry=people_entry)
    key = ids(1)[0]
    services.records_upsert(actor=staff, dataset=dataset, rows=[{"公民身份号码": key, "姓名": "张三"}])
    with pytest.raises(services.PortalError):
        services.record_delete(actor=staff, dataset=dataset, key=key, reason=" ")
    record = services.record_delete(actor=staff, dataset=dataset, key=key, reason="当事人死亡注销")
    assert record.deleted_at is not None
    assert list(RecordHistory.objects.filter(record_id=record.id).values_list("op", flat=True)) == ["insert", "delete"]
    assert audit_log("aggregation.record.deleted")[0].data["reason"] == "当事人死亡注销"
    # Loading the subject again restores it (an update, with history).
    again = services.records_upsert(actor=staff, dataset=dataset, rows=[{"公民身份号码": key, "姓名": "张三"}])
    assert again.updated == 1
    if settings.AGGREGATION["WRITE_RECORDS"]:  # (the records table's no-delete trigger)
        with pytest.raises(DB_REFUSALS), transaction.atomic(), connection.cursor() as cur:
            cur.execute("DELETE FROM aggregation_record WHERE id = %s", [record.id])


def test_history_is_append_only(staff, people_entry):
    dataset = services.dataset_ensure(entry=people_entry)
    services.records_upsert(actor=staff, dataset=dataset, rows=[{"公民身份号码": ids(1)[0]}])
    with pytest.raises(DB_REFUSALS), transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE aggregation_recordhistory SET reason = 'x'")
    with pytest.raises(DB_REFUSALS), transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM aggregation_recordhistory")


def test_integrity_check_shows_changes_made_around_the_application(staff, people_entry):
    dataset = services.dataset_ensure(entry=people_entry)
    a, b, c = ids(3)
    services.records_upsert(actor=staff, dataset=dataset, rows=[
        {"公民身份号码": a, "性别": "男"}, {"公民身份号码": b, "性别": "女"}, {"公民身份号码": c, "性别": "男"}])
    assert record_integrity(dataset=dataset).ok
    target = record_get(dataset=dataset, key=b)
    with connection.cursor() as cur:  # an unauthorised change by hand, bypassing the application
        cur.execute("UPDATE aggregation_record SET data = jsonb_set(data, '{性别}', '\"男\"') WHERE id = %s",
                    [target.id])
    report = record_integrity(dataset=dataset)
    assert not report.ok
    assert report.digest_mismatch == [target.id] and report.history_mismatch == [target.id]
    assert report.checked == 3


def test_datasets_sync_gives_every_approved_entry_a_dataset(dept, people_entry, audit_log):
    from aggregation.models import Dataset
    from tests.aggregation.builders import PEOPLE_ITEMS, make_entry

    make_entry(dept, "草稿", PEOPLE_ITEMS, state="draft")
    make_entry(dept, "无主体标识", [("名称", "C", 10, False, False)])
    assert services.datasets_sync() == 1
    assert services.datasets_sync() == 0
    dataset = Dataset.objects.get()
    assert dataset.entry == people_entry and dataset.key_kind == "id_number"
    assert len(audit_log("aggregation.dataset.created")) == 1
