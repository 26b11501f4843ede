"""aggregation.storage.reading: the one read side of the resource tables, on tables made by storage.ddl (with the
dataset) and written by storage.writing.write_batch — keyset pages that never skip nor repeat, canonical text that
is exactly what the converters produced, filters, masked reads from the stored forms (decrypted and masked where a
row has none), one token opened per row, and the composable SQL of the set-based readers."""

from __future__ import annotations

import datetime as dt
import io
import json

import polars as pl
import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from psycopg import sql

from aggregation.ingest.encryption import row_digest
from aggregation.ingest.validation import converter
from aggregation.models import RecordHistory
from aggregation.services.pools import dataset_ensure
from aggregation.storage import reading
from aggregation.storage.layout import Layout
from aggregation.storage.writing import write_batch
from security.crypto import FieldCipher, blind_index
from security.masking import mask
from tests.aggregation.builders import ids, make_entry

pytestmark = pytest.mark.django_db

ITEMS = [  # (name, data_type, length, is_subject_key, is_base_item)
    ("公民身份号码", "C", 18, True, True),  # encrypted, masked id_number (m1)
    ("姓名", "C", 50, False, True),  # encrypted, masked name (m2)
    ("联系电话", "C", 20, False, False),  # encrypted, masked phone (m3)
    ("出生日期", "D", 8, False, False),  # clear date, masked generic (derived from the ID number; m4)
    ("登记时间", "T", 19, False, False),  # timestamp
    ("家庭人口", "I", 3, False, False),  # bigint
    ("档案编号", "I", 30, False, False),  # numeric (an integer longer than 18 digits)
    ("月收入", "N", 40, False, False),  # numeric
    ("是否户主", "L", 1, False, False),  # boolean
    ("备注", "C", 100, False, False),  # text
]
NAMES = [i[0] for i in ITEMS]
T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def dataset(dept):
    return dataset_ensure(entry=make_entry(dept, "社区登记信息", ITEMS))


@pytest.fixture
def cipher():
    return FieldCipher(settings.FIELD_ENCRYPTION_KEYS, settings.BLIND_INDEX_KEY)


def person(number: str, n: int = 0, **values) -> dict[str, str]:
    return {"公民身份号码": number, "姓名": f"张{n}三", "联系电话": "13812345678", "出生日期": "1990-01-01",
            "登记时间": "2020-05-06 07:08:09", "家庭人口": "4", "档案编号": "1234567890123456789012345",
            "月收入": "3500.5", "是否户主": "true", "备注": f"第{n}户", **values}


def write(dataset, rows: list[dict], cipher, *, now=T0, job_id=None):
    dataset.refresh_from_db()
    target = Layout.stored(dataset).target(dataset.key_item_name)
    batch = pl.DataFrame({"row_no": list(range(2, 2 + len(rows))),
                          **{c.item: [r.get(c.item, "") for r in rows] for c in target.columns}})
    return write_batch(target, batch, cipher=cipher, job_id=job_id, now=now)


def write_each(dataset, rows: list[dict], cipher):
    """One batch per row: row ids in the order of `rows` (a batch inserts in key-hash order)."""
    for row in rows:
        write(dataset, [row], cipher)


def execute(statement, params=()):
    with connection.cursor() as cur:
        cur.execute(statement.as_string(connection.connection) if isinstance(statement, sql.Composable)
                    else statement, list(params))
        return cur.fetchall() if cur.description else None


def table(dataset) -> str:
    return Layout.stored(dataset).qualified


# --------------------------------------------------------------------------------------------------
# Rows and canonical text


def test_a_row_reads_back_exactly_what_was_written(dataset, cipher):
    number = ids(1)[0]
    write(dataset, [person(number, 1, 备注="")], cipher, job_id=7)
    (row,) = reading.rows(dataset)
    assert row.key_hash == blind_index(number) and row.job_id == 7 and row.version == 1
    assert row.created_at == row.updated_at == T0 and row.deleted_at is None and row.flagged is None
    # clear items as canonical text, the empty one absent (NULL), encrypted ones only in the token
    assert row.values == {"出生日期": "1990-01-01", "登记时间": "2020-05-06 07:08:09", "家庭人口": "4",
                          "档案编号": "1234567890123456789012345", "月收入": "3500.5", "是否户主": "true"}
    assert row.masked == {"公民身份号码": mask(number, "id_number"), "姓名": "张*三", "联系电话": "138****5678",
                          "出生日期": mask("1990-01-01", "generic")}
    (secret,) = reading.decrypted([row], cipher)
    assert secret == {"公民身份号码": number, "姓名": "张1三", "联系电话": "13812345678"}
    # the values and the token are the plain row the writer digested
    (stored_hash,) = execute(f"SELECT row_hash FROM {table(dataset)}")[0]  # noqa: S608 — our own table
    assert row_digest(cipher, {**row.values, **secret}) == bytes(stored_hash)


@pytest.mark.parametrize(("item", "data_type", "length", "texts"), [
    ("出生日期", "D", 8, ["2024/1/31", "20240229", "2024年3月1日", "0099-01-01", "9999-12-31"]),
    ("登记时间", "T", 19, ["2024-01-31 08:30", "2024/1/31 8:05:09", "2024-01-31T23:59:59.999", "1900-01-01"]),
    ("家庭人口", "I", 3, ["0", "-12", "+5", "1,00", "９"]),
    ("档案编号", "I", 30, ["123456789012345678901234567890", "-99999999999999999999", "1E+25"]),
    ("月收入", "N", 40, ["1.50", "100", "100.000", "0.10", "-12.50", "1e-5", "1E+28", "0.0000000001",
                      "123456789012345678901234567890.1234567890", "¥1,024.00", "-0.5"]),
    ("是否户主", "L", 1, ["是", "否", "TRUE", "0", "√"]),
    ("备注", "C", 100, ["  带空格  ", "O'Brien \"引号\"", "ＡＢＣ１２３", "a,b\nc"]),
])
def test_typed_columns_read_the_converters_canonical_text(dataset, cipher, item, data_type, length, texts):
    convert = converter(data_type, length)
    canonical = []
    for text in texts:
        value, problem = convert(text.strip())
        assert problem is None, (text, problem)
        canonical.append(value)
    numbers = ids(len(texts))
    write(dataset, [person(n, i, **{item: v}) for i, (n, v) in enumerate(zip(numbers, canonical, strict=True))],
          cipher)
    by_key = {r.key_hash: r for r in reading.rows(dataset)}
    assert [by_key[blind_index(n)].values[item] for n in numbers] == canonical
    # and a filter on the canonical text finds the rows holding it
    for value in canonical:
        found = {r.key_hash for r in reading.rows(dataset, filters={item: value})}
        assert found == {blind_index(n) for n, v in zip(numbers, canonical, strict=True) if v == value}


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai"])
def test_dates_read_canonical_whatever_the_sessions_datestyle(dataset, cipher, zone):
    number = ids(1)[0]
    write(dataset, [person(number, 登记时间="2024-01-31 08:05:09", 出生日期="2024-02-29")], cipher)
    with connection.cursor() as cur:
        cur.execute("SELECT set_config('DateStyle', 'SQL, DMY', true), set_config('TimeZone', %s, true)", [zone])
    assert not reading._iso_dates()
    (row,) = reading.rows(dataset, filters={"出生日期": "2024-02-29"})
    assert (row.values["出生日期"], row.values["登记时间"]) == ("2024-02-29", "2024-01-31 08:05:09")
    assert row.updated_at == row.created_at == T0 and row.deleted_at is None
    statement, params = reading.select_sql(dataset, ["出生日期", "登记时间"])
    assert _copy(statement, params)[0][:2] == ["2024-02-29", "2024-01-31 08:05:09"]


def test_history_form_is_the_writers_after(dataset, cipher):
    number = ids(1)[0]
    write(dataset, [person(number, 1)], cipher)
    write(dataset, [person(number, 1, 月收入="4000.25", 备注="", 出生日期="1991-02-03")], cipher,
          now=T0 + dt.timedelta(days=1))
    row = reading.by_key(dataset, number)
    (history,) = RecordHistory.objects.filter(dataset_id=dataset.pk)
    assert history.record_id == row.id and row.version == 2
    assert history.after == reading.history_form(row)
    assert history.before["月收入"] == "3500.5" and history.before["备注"] == "第1户"


# --------------------------------------------------------------------------------------------------
# Keyset pages


def _page_all(dataset, *, size: int, since=None, include_deleted=False) -> list[int]:
    seen, after_id, after = [], None, None
    while True:
        page = reading.rows(dataset, items=["备注"], after_id=None if since else after_id,
                            after=after if since else None, since=since, include_deleted=include_deleted, limit=size)
        seen += [r.id for r in page]
        if len(page) < size:
            return seen
        after_id, after = page[-1].id, (page[-1].updated_at, page[-1].id)


def test_pages_by_id_and_by_updated_at_never_skip_nor_repeat(dataset, cipher):
    numbers = ids(23)
    write(dataset, [person(n, i) for i, n in enumerate(numbers[:11])], cipher, now=T0)  # 11 rows share T0
    write(dataset, [person(n, i) for i, n in enumerate(numbers[11:], start=11)], cipher,
          now=T0 + dt.timedelta(hours=1))  # 12 share T1
    write(dataset, [person(n, 99) for n in numbers[3:6]], cipher, now=T0 + dt.timedelta(hours=2))  # 3 updated
    all_ids = sorted(r.id for r in reading.rows(dataset))
    assert len(all_ids) == 23 == reading.count(dataset)
    for size in (1, 4, 5, 11, 23, 50):
        assert _page_all(dataset, size=size) == all_ids
        changed = _page_all(dataset, size=size, since=T0 - dt.timedelta(seconds=1))
        assert sorted(changed) == all_ids and len(set(changed)) == 23
        # in (updated_at, id) order: the updated rows last
        updated = {r.id for r in reading.rows(dataset, key_hashes=[blind_index(n) for n in numbers[3:6]])}
        assert set(changed[-3:]) == updated
    # `since` is strict: rows changed after it
    since_t0 = _page_all(dataset, size=4, since=T0)
    assert len(since_t0) == 12 + 3
    assert reading.count(dataset, since=T0) == 15
    assert _page_all(dataset, size=4, since=T0 + dt.timedelta(hours=2)) == []


def test_rows_written_while_paging_are_not_repeated(dataset, cipher):
    numbers = ids(8)
    write(dataset, [person(n, i) for i, n in enumerate(numbers[:5])], cipher)
    first = reading.rows(dataset, limit=3)
    write(dataset, [person(n, i) for i, n in enumerate(numbers[5:])], cipher, now=T0 + dt.timedelta(minutes=1))
    rest = reading.rows(dataset, after_id=first[-1].id)
    assert len({r.id for r in first + rest}) == 8


def test_deleted_rows_are_left_out_unless_asked(dataset, cipher):
    numbers = ids(4)
    write(dataset, [person(n, i) for i, n in enumerate(numbers)], cipher)
    gone = reading.by_key(dataset, numbers[1])
    execute(f"UPDATE {table(dataset)} SET deleted_at = %s, updated_at = %s WHERE id = %s",  # noqa: S608
            [T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=1), gone.id])
    assert gone.id not in {r.id for r in reading.rows(dataset)}
    assert reading.count(dataset) == 3 and reading.count(dataset, include_deleted=True) == 4
    assert reading.get(dataset, gone.id) is None and reading.by_key(dataset, numbers[1]) is None
    assert reading.get(dataset, gone.id, include_deleted=True).deleted_at == T0 + dt.timedelta(hours=1)
    changes = reading.rows(dataset, since=T0, include_deleted=True)
    assert [(r.id, r.deleted_at is not None) for r in changes] == [(gone.id, True)]
    assert reading.rows(dataset, since=T0) == []
    # walk: every row in id order, in batches, deleted ones included
    batches = list(reading.walk(dataset, size=3))
    assert [len(b) for b in batches] == [3, 1]
    assert [r.id for b in batches for r in b] == sorted(r.id for r in reading.rows(dataset, include_deleted=True))
    assert all(r.token for b in batches for r in b)


def test_a_page_by_updated_at_uses_the_index(dataset, cipher):
    numbers = ids(1500)
    for i in range(0, 1500, 500):
        write(dataset, [person(n, j) for j, n in enumerate(numbers[i:i + 500], start=i)], cipher,
              now=T0 + dt.timedelta(minutes=i))
    execute(f"ANALYZE {table(dataset)}")
    middle = reading.rows(dataset, since=T0, limit=700)[-1]
    with CaptureQueriesContext(connection) as queries:
        reading.rows(dataset, since=T0, after=(middle.updated_at, middle.id), limit=100)
        reading.rows(dataset, since=T0 + dt.timedelta(minutes=600), limit=100)
    assert len(queries.captured_queries) == 2
    for query in queries.captured_queries:
        plan = "\n".join(r[0] for r in execute("EXPLAIN " + query["sql"]))
        assert f"r{dataset.pk}_since_idx" in plan, plan


# --------------------------------------------------------------------------------------------------
# Filters and lookups


def test_filters_compare_canonical_text_and_the_key_goes_through_its_blind_index(dataset, cipher):
    numbers = ids(5)
    hostile = ["x' OR '1'='1", "O'Brien; DROP TABLE pool.r1; --", "%s %(x)s \\", "第1户"]
    write(dataset, [person(n, i, 备注=hostile[i] if i < 4 else "") for i, n in enumerate(numbers)], cipher)
    for i, value in enumerate(hostile):
        assert [r.key_hash for r in reading.rows(dataset, filters={"备注": value})] == [blind_index(numbers[i])]
    assert reading.rows(dataset, filters={"备注": "x"}) == []
    # not the canonical text: nothing (as data->>item today)
    assert reading.rows(dataset, filters={"出生日期": "1990/1/1"}) == []
    assert len(reading.rows(dataset, filters={"出生日期": "1990-01-01", "是否户主": "true"})) == 5
    # the subject key: its blind index (normalised: a lower-case x finds the row)
    key = numbers[2]
    assert [r.key_hash for r in reading.rows(dataset, filters={"公民身份号码": key.lower()})] == [blind_index(key)]
    assert reading.by_key(dataset, key.lower()).key_hash == blind_index(key)
    # any other encrypted item cannot be filtered (the data API answers `invalid`)
    with pytest.raises(reading.Unfilterable):
        reading.rows(dataset, filters={"姓名": "张1三"})
    with pytest.raises(ValueError, match="not an item"):
        reading.rows(dataset, filters={"无此项": "1"})


def test_lookup_across_datasets_and_the_verification_flag(dataset, cipher, other_dept, staff):
    from aggregation.models import VerificationCase

    other = dataset_ensure(entry=make_entry(other_dept, "另一资源", ITEMS[:3], cls="102"))
    numbers = ids(3)
    write(dataset, [person(n, i) for i, n in enumerate(numbers)], cipher)
    write(other, [{"公民身份号码": numbers[1], "姓名": "李四", "联系电话": ""}], cipher)
    found = reading.lookup([dataset, other], blind_index(numbers[1]), items={other.pk: ["姓名"]})
    assert set(found) == {dataset.pk, other.pk}
    assert reading.decrypted([found[other.pk]], cipher) == [{"公民身份号码": numbers[1], "姓名": "李四"}]
    assert reading.lookup([dataset, other], blind_index(numbers[0])).keys() == {dataset.pk}
    row = reading.by_key(dataset, numbers[0])
    VerificationCase.objects.create(
        record_id=row.id, dataset=dataset, provider=dataset.department, requester=other_dept, key_hash=row.key_hash,
        fields=["姓名"], description="有疑义", received_on=T0.date(), created_by=staff)
    flags = {r.id: r.flagged for r in reading.rows(dataset, flagged=True)}
    assert flags[row.id] is True and sum(flags.values()) == 1


# --------------------------------------------------------------------------------------------------
# Tokens and masked reads


def test_each_token_is_opened_once_and_a_bad_one_reads_empty(dataset, cipher):
    numbers = ids(4)
    write_each(dataset, [person(n, i) for i, n in enumerate(numbers)], cipher)
    rows = reading.rows(dataset)
    tampered = rows[2]
    execute(f"UPDATE {table(dataset)} SET token = %s WHERE id = %s",  # noqa: S608
            [tampered.token[:-4] + ("AAAA" if not tampered.token.endswith("AAAA") else "BBBB"), tampered.id])
    rows = reading.rows(dataset)
    secrets = reading.decrypted(rows, cipher)
    assert secrets[2] is None
    assert [s["姓名"] for i, s in enumerate(secrets) if i != 2] == ["张0三", "张1三", "张3三"]
    shown = reading.rendered(Layout.stored(dataset), rows, ["姓名", "备注"], cipher=cipher)
    assert shown[2] == {"姓名": None, "备注": "第2户"}
    # a token of another key of the ring is opened by itself (the current key's in one frame)
    rotated = FieldCipher(f"new1:{'A' * 43},{settings.FIELD_ENCRYPTION_KEYS}", settings.BLIND_INDEX_KEY)
    assert [s and s["姓名"] for s in reading.decrypted(rows, rotated)] == ["张0三", "张1三", None, "张3三"]
    assert reading.decrypted([], cipher) == []


def test_masked_read_uses_the_stored_form_and_masks_where_there_is_none(dataset, cipher, monkeypatch):
    numbers = ids(3)
    write_each(dataset, [person(n, i) for i, n in enumerate(numbers)], cipher)
    layout = Layout.stored(dataset)
    kinds = {"公民身份号码": "id_number", "姓名": "name", "出生日期": "generic"}
    items = ["公民身份号码", "姓名", "联系电话", "出生日期", "备注"]
    rows = reading.rows(dataset, items=items)
    # the stored forms: nothing to open when every masked item has its form and nothing encrypted is read in full
    opened = []
    real = reading.decrypted
    monkeypatch.setattr(reading, "decrypted", lambda rs, c: opened.append(len(rs)) or real(rs, c))
    shown = reading.rendered(layout, rows, ["姓名", "出生日期", "备注"], kinds=kinds, cipher=cipher)
    assert opened == [0]
    assert shown[0] == {"姓名": "张*三", "出生日期": mask("1990-01-01", "generic"), "备注": "第0户"}
    # a form read as stored, not recomputed: a stored form says what masking gave at write time
    execute(f"UPDATE {layout.qualified} SET m2 = '张#三' WHERE id = %s", [rows[0].id])  # noqa: S608
    rows = reading.rows(dataset, items=items)
    assert reading.rendered(layout, rows, ["姓名"], kinds=kinds, cipher=cipher)[0] == {"姓名": "张#三"}
    # a masked column emptied by a catalog update (recreated NULL): decrypted, or read clear, and masked here
    execute(f"UPDATE {layout.qualified} SET m2 = NULL, m4 = NULL WHERE id = %s", [rows[1].id])  # noqa: S608
    rows = reading.rows(dataset, items=items)
    opened.clear()
    shown = reading.rendered(layout, rows, ["姓名", "出生日期"], kinds=kinds, cipher=cipher)
    assert opened == [1]  # only the row without its form
    assert shown[1] == {"姓名": mask("张1三", "name"), "出生日期": mask("1990-01-01", "generic")}
    # a kind other than the stored one: the stored form does not count
    shown = reading.rendered(layout, rows, ["姓名"], kinds={"姓名": "generic"}, cipher=cipher)
    assert [s["姓名"] for s in shown] == [mask(f"张{i}三", "generic") for i in range(3)]
    # in full: decrypted
    shown = reading.rendered(layout, rows, items, cipher=cipher)
    assert shown[2] == {"公民身份号码": numbers[2], "姓名": "张2三", "联系电话": "13812345678",
                        "出生日期": "1990-01-01", "备注": "第2户"}


def test_an_item_made_personal_reads_from_the_token_and_is_masked_until_rewritten(dataset, cipher):
    """A catalog change moves an item into the tokens (storage.ddl): its masked column is added empty, so a masked
    read decrypts and masks it, and a full read finds it in the token."""
    from aggregation.models import Dataset
    from aggregation.storage import ddl

    numbers = ids(2)
    write_each(dataset, [person(n, i, 备注=f"备注{i}号") for i, n in enumerate(numbers)], cipher)
    Dataset.objects.filter(pk=dataset.pk).update(encrypted_items=[*dataset.encrypted_items, "备注"])
    dataset.refresh_from_db()
    ddl.table_migrate(dataset, actor=None)
    layout = Layout.stored(dataset)
    kind = layout.columns["备注"]["mask_kind"]
    assert layout.columns["备注"]["col"] is None and kind
    rows = reading.rows(dataset, items=["备注"])
    assert all(r.masked == {} and r.values == {} for r in rows)
    assert reading.rendered(layout, rows, ["备注"], kinds={"备注": kind}, cipher=cipher) == [
        {"备注": mask(f"备注{i}号", kind)} for i in range(2)]
    assert reading.rendered(layout, rows, ["备注"], cipher=cipher) == [{"备注": f"备注{i}号"} for i in range(2)]
    with pytest.raises(reading.Unfilterable):
        reading.rows(dataset, filters={"备注": "备注0号"})


# --------------------------------------------------------------------------------------------------
# Set-based SQL


def _copy(statement, params) -> list[list[str]]:
    import csv

    connection.ensure_connection()
    buf = io.BytesIO()
    with connection.connection.cursor() as cur, cur.copy(
            sql.SQL("COPY ({}) TO STDOUT (FORMAT csv)").format(statement), params) as copy:
        for block in copy:
            buf.write(block)
    return list(csv.reader(io.StringIO(buf.getvalue().decode())))


def test_select_sql_for_a_copy_export(dataset, cipher):
    numbers = ids(3)
    write_each(dataset, [person(n, i, 备注="a,\"b\"" if i == 0 else "") for i, n in enumerate(numbers)], cipher)
    layout = Layout.stored(dataset)
    ids_ = [r.id for r in reading.rows(dataset)]
    execute(f"UPDATE {layout.qualified} SET m4 = NULL, m2 = NULL WHERE id = %s", [ids_[2]])  # noqa: S608
    marker = "\x1fabc123\x1f"
    kinds = {"姓名": "name", "出生日期": "generic", "联系电话": "generic"}  # 联系电话's stored kind is phone
    statement, params = reading.select_sql(dataset, ["公民身份号码", "姓名", "联系电话", "出生日期", "月收入", "备注"],
                                           kinds=kinds, marker=marker)
    out = _copy(statement, params)
    tokens = {r.id: r.token for r in reading.rows(dataset)}
    assert [int(r[6]) for r in out] == ids_ and [r[7] for r in out] == [tokens[i] for i in ids_]
    assert out[0][:6] == [marker, "张*三", marker, mask("1990-01-01", "generic"), "3500.5", 'a,"b"']
    # no stored form: an encrypted item comes as the marker (read the token), a clear one wrapped (mask it)
    assert out[2][:6] == [marker, marker, marker, marker + "1990-01-01" + marker, "3500.5", ""]
    # without a marker those cells are NULL, and nothing needs a token when nothing is encrypted
    statement, params = reading.select_sql(dataset, ["出生日期", "备注"], kinds={"出生日期": "generic"})
    out = _copy(statement, params)
    assert [r[0] for r in out] == [mask("1990-01-01", "generic")] * 2 + [""] and len(out[0]) == 3


def test_completeness_counts_non_empty_values_in_one_scan(dataset, cipher):
    numbers = ids(5)
    write(dataset, [person(numbers[0]), person(numbers[1], 联系电话="", 月收入="", 是否户主="false"),
                    person(numbers[2], 出生日期="", 备注=""), person(numbers[3]), person(numbers[4], 姓名="")],
          cipher)
    gone = reading.by_key(dataset, numbers[3])
    execute(f"UPDATE {table(dataset)} SET deleted_at = now() WHERE id = %s", [gone.id])  # noqa: S608
    total, counts = reading.completeness(dataset)
    assert total == 4
    assert counts == {"公民身份号码": 4, "姓名": 3, "联系电话": 3, "出生日期": 3, "登记时间": 4, "家庭人口": 4,
                      "档案编号": 4, "月收入": 3, "是否户主": 4, "备注": 3}


def test_rows_sql_is_a_subquery_for_joins(dataset, cipher, other_dept):
    other = dataset_ensure(entry=make_entry(other_dept, "另一资源", [ITEMS[0], ITEMS[7], ITEMS[9]], cls="102"))
    numbers = ids(3)
    write(dataset, [person(n, i) for i, n in enumerate(numbers)], cipher)
    write(other, [{"公民身份号码": numbers[1], "月收入": "3500.5", "备注": "另"},
                  {"公民身份号码": numbers[2], "月收入": "3600", "备注": ""}], cipher)
    la, lb = Layout.stored(dataset), Layout.stored(other)
    # consistency pairs: the same item of both sides, joined on the blind index
    pairs = execute(sql.SQL("SELECT a.v0, b.v0 FROM ({}) a JOIN ({}) b ON b.key_hash = a.key_hash ORDER BY a.id")
                    .format(reading.rows_sql(la, ["月收入"], alias="x"), reading.rows_sql(lb, ["月收入"], alias="y")))
    assert sorted(pairs) == [("3500.5", "3500.5"), ("3500.5", "3600")]
    # a theme's source: one jsonb of the chosen items under "<dataset>:" (empty ones absent, encrypted in the token)
    data = execute(sql.SQL("SELECT key_hash, token, data FROM ({}) s").format(
        reading.rows_sql(lb, ["公民身份号码", "月收入", "备注"], data_prefix=f"{other.pk}:")))
    by_key = {bytes(k): (t, d) for k, t, d in data}
    token, values = by_key[blind_index(numbers[2])]
    assert (json.loads(values) if isinstance(values, str) else values) == {f"{other.pk}:月收入": "3600"}
    assert json.loads(cipher.decrypt(token)) == {"公民身份号码": numbers[2]}


def test_item_names_never_reach_sql(dept, cipher):
    hostile = ['备注"; DROP TABLE x; --', "a'b", "%s"]
    dataset = dataset_ensure(entry=make_entry(dept, "恶意名称", [ITEMS[0], *[(n, "C", 50, False, False)
                                                                       for n in hostile]]))
    write(dataset, [{"公民身份号码": ids(1)[0], **{n: f"v{i}" for i, n in enumerate(hostile)}}], cipher)
    (row,) = reading.rows(dataset, filters={hostile[0]: "v0", hostile[2]: "v2"})
    assert row.values == {n: f"v{i}" for i, n in enumerate(hostile)}
    statement, _params = reading.select_sql(dataset, hostile)
    text = statement.as_string(connection.connection)
    assert not any(n in text for n in hostile)
