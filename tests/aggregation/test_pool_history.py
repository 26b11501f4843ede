"""Storage: upsert with history (who/when/before/after), no hard deletes, append-only history, tamper check."""

import polars as pl
import pytest
from django.conf import settings
from django.db import IntegrityError, InternalError, connection, transaction
from django.db.utils import ProgrammingError
from psycopg import sql

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


# ---------------------------------------------------------------- the integrity check (R35.5), on the resource table
#
# The check reads `pool.r<id>` (the table mirrors the records while the records path writes them, and is all there is
# once it does not): rows written by the records path (history in the record's JSON form, an insert history row per
# record) and rows written by the table writer (history in the writer's form, none for a load's insert) alike.
# Tampering goes to the table, by SQL around the application (records_tampered: the records no longer match it).


def _table(dataset):
    from aggregation.models import Dataset
    from aggregation.storage.layout import Layout

    return Layout.stored(Dataset.objects.get(pk=dataset.pk))


def _by_hand(dataset, statement: str, params=(), **columns):
    """SQL around the application on the dataset's table: {t} is the table, {name} the column of item `name`."""
    layout = _table(dataset)
    idents = {k: sql.Identifier(layout.columns[item]["col"]) for k, item in columns.items()}
    with connection.cursor() as cur:
        cur.execute(sql.SQL(statement).format(t=layout.table, **idents).as_string(connection.connection), list(params))


def _table_write(dataset, rows, *, job_id=None, actor_id=None, reason=""):
    """Rows through the table writer (storage.writing.write_batch): new keys inserted without history, changed ones
    updated with a history row in the writer's form."""
    from aggregation.storage.writing import cipher, write_batch

    target = _table(dataset).target(dataset.key_item_name)
    batch = pl.DataFrame({"row_no": list(range(2, 2 + len(rows))),
                          **{c.item: [r.get(c.item, "") for r in rows] for c in target.columns}})
    with transaction.atomic():
        return write_batch(target, batch, cipher=cipher(), job_id=job_id, actor_id=actor_id, reason=reason)


def _table_delete(dataset, row_id: int, actor) -> None:
    """A deletion as the application makes it on the table (soft: deleted_at, version + 1, a 'delete' history row
    whose before is the row in the writer's form)."""
    from aggregation.storage.reading import row_json_sql

    layout = _table(dataset)
    as_json = row_json_sql([(n, col) for n, col, _t in layout.plain(retired=False)], "t")
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql.SQL(
            "INSERT INTO aggregation_recordhistory (record_id, dataset_id, op, before, after, actor_id, reason, "
            "changed_at) SELECT t.id, %s, 'delete', {}, NULL, %s, '注销', now() FROM {} t WHERE t.id = %s"
        ).format(as_json, layout.table).as_string(connection.connection), [dataset.pk, actor.pk, row_id])
        cur.execute(sql.SQL("UPDATE {} SET deleted_at = now(), version = version + 1, updated_at = now() "
                            "WHERE id = %s").format(layout.table).as_string(connection.connection), [row_id])


WRITERS = ["records", pytest.param("tables", marks=pytest.mark.tables_only)]


def _four_people(writer, staff, people_entry):
    """A people dataset of four: a and b changed once since their insert, c inserted only, d deleted (by the
    application: `writer` "records" through the pool services, "tables" through the table writer)."""
    dataset = services.dataset_ensure(entry=people_entry)
    keys = ids(4)
    first = [{"公民身份号码": k, "姓名": f"张{n}", "性别": "男", "出生日期": "1990-01-0" + str(n + 1),
              "家庭人口": str(n + 2)} for n, k in enumerate(keys)]
    second = [{**first[0], "姓名": "张三丰"}, {**first[1], "性别": "女", "家庭人口": ""}, first[2], first[3]]
    if writer == "records":
        services.records_upsert(actor=staff, dataset=dataset, rows=first)
        services.records_upsert(actor=staff, dataset=dataset, rows=second, reason="更正")
        services.record_delete(actor=staff, dataset=dataset, key=keys[3], reason="注销")
    else:
        assert _table_write(dataset, first, job_id=None).inserted == 4
        assert _table_write(dataset, second, actor_id=staff.pk, reason="更正").updated == 2
        _table_delete(dataset, record_get(dataset=dataset, key=keys[3]).id, staff)
    dataset.refresh_from_db()
    a, b, c, d = (record_get(dataset=dataset, key=k).id for k in keys)
    return dataset, (a, b, c, d)


@pytest.mark.parametrize("writer", WRITERS)
def test_integrity_check_passes_on_untouched_rows_and_honours_its_limit(writer, staff, people_entry):
    dataset, (a, *_others) = _four_people(writer, staff, people_entry)
    report = record_integrity(dataset=dataset)
    assert report.ok, report
    assert report.checked == 4
    assert record_integrity(dataset=dataset, limit=2).checked == 2
    history = list(RecordHistory.objects.filter(record_id=a).order_by("id"))
    assert [h.op for h in history] == (["insert", "update"] if writer == "records" else ["update"])
    # The writer's history form is the row as the table holds it, byte for byte (no token opened to compare); the
    # record's JSON form (a token per personal item) is compared as clear values.
    (checked,) = [c for c in reading.checked(dataset) if c.row.id == a]
    # (the services write the writer's form too once they write the tables: AGGREGATION["WRITE_RECORDS"] off)
    assert (checked.op, checked.same) == ("update", writer == "tables" or not settings.AGGREGATION["WRITE_RECORDS"])


TAMPERING = {
    # name: (statement, parameters by row name, columns, expected report {field: row names})
    "a value changed": ("UPDATE {t} SET {sex} = '女' WHERE id = %s", ["a"], {"sex": "性别"},
                        {"digest_mismatch": ["a"], "history_mismatch": ["a"]}),
    "an inserted row's value changed": ("UPDATE {t} SET {born} = '1991-02-03' WHERE id = %s", ["c"],
                                        {"born": "出生日期"}, {"digest_mismatch": ["c"], "history_mismatch": ["c"]}),
    "a value changed with a digest from another row": (
        "UPDATE {t} r SET {sex} = s.{sex}, row_hash = s.row_hash FROM {t} s WHERE r.id = %s AND s.id = %s",
        ["a", "b"], {"sex": "性别"}, {"digest_mismatch": ["a"], "history_mismatch": ["a"]}),
    "a row deleted": ("DELETE FROM {t} WHERE id = %s", ["b"], {}, {"missing_records": ["b"]}),
    "a token swapped with another row's": (
        "UPDATE {t} r SET token = s.token FROM {t} s WHERE r.id = %s AND s.id = %s", ["a", "c"], {},
        {"digest_mismatch": ["a"], "history_mismatch": ["a"]}),
    "a whole row copied from another": (
        "UPDATE {t} r SET token = s.token, row_hash = s.row_hash, {sex} = s.{sex}, {born} = s.{born}, "
        "{size} = s.{size} FROM {t} s WHERE r.id = %s AND s.id = %s", ["c", "a"],
        {"sex": "性别", "born": "出生日期", "size": "家庭人口"}, {"digest_mismatch": ["c"], "history_mismatch": ["c"]}),
    "a token that does not authenticate": ("UPDATE {t} SET token = left(token, -4) || 'AAAA' WHERE id = %s", ["b"],
                                           {}, {"undecryptable": ["b"]}),
    "a version bumped without history": ("UPDATE {t} SET version = version + 1 WHERE id = %s", ["a"], {},
                                         {"history_mismatch": ["a"]}),
    "an inserted row's version bumped": ("UPDATE {t} SET version = version + 1 WHERE id = %s", ["c"], {},
                                         {"history_mismatch": ["c"]}),
    "a deleted row restored": ("UPDATE {t} SET deleted_at = NULL WHERE id = %s", ["d"], {},
                               {"history_mismatch": ["d"]}),
    "a row deleted without history": ("UPDATE {t} SET deleted_at = now() WHERE id = %s", ["c"], {},
                                      {"history_mismatch": ["c"]}),
}


@pytest.mark.records_tampered
@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("tampering", list(TAMPERING))
def test_integrity_check_shows_changes_made_around_the_application(writer, tampering, staff, people_entry):
    dataset, (a, b, c, d) = _four_people(writer, staff, people_entry)
    named = {"a": a, "b": b, "c": c, "d": d}
    statement, rows, columns, expected = TAMPERING[tampering]
    assert record_integrity(dataset=dataset).ok
    _by_hand(dataset, statement, [named[r] for r in rows], **columns)  # bypassing the application
    report = record_integrity(dataset=dataset)
    assert not report.ok
    found = {f: getattr(report, f) for f in ("digest_mismatch", "history_mismatch", "missing_records", "undecryptable")}
    assert found == {f: sorted(named[r] for r in expected.get(f, [])) for f in found}


@pytest.mark.parametrize("writer", WRITERS)
def test_record_page_shows_what_each_history_row_changed_in_either_form(writer, staff, people_entry, web_as):
    from django.urls import reverse

    dataset, (a, b, _c, d) = _four_people(writer, staff, people_entry)
    client = web_as(staff)

    def shown(row_id):
        page = client.get(reverse("aggregation:record-detail", args=[dataset.pk, row_id]))
        assert page.status_code == 200
        return [(row["h"].op, row["items"]) for row in page.context["history"]]

    everything = ["公民身份号码", "出生日期", "姓名", "家庭人口", "性别"]
    inserted = [("insert", everything)] if writer == "records" else []  # (a load's insert writes none)
    assert shown(a) == [("update", ["姓名"]), *inserted]  # clear values compared: no fresh token counts as a change
    assert shown(b) == [("update", ["家庭人口", "性别"]), *inserted]
    deleted = client.get(reverse("aggregation:record-detail", args=[dataset.pk, d]))
    assert deleted.status_code == 404  # (the page shows live rows)
    history = list(RecordHistory.objects.filter(record_id=d).order_by("id"))
    from aggregation.selectors.pools import history_changes

    assert [(h.op, items) for h, items in history_changes(d, history, dataset=dataset)][-1] == ("delete", everything)


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
