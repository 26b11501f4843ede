"""aggregation.storage.writing: a batch written into its resource table `pool.r<id>` — new keys inserted without
history, unchanged rows untouched, changed rows updated with one history row each, one token per row, typed
columns, today's blind index, all or nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from decimal import Decimal

import polars as pl
import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from aggregation.ingest.encryption import row_digest, row_digests
from aggregation.models import RecordHistory
from aggregation.storage.ddl import create_statements
from aggregation.storage.layout import Layout
from aggregation.storage.writing import Column, Target, open_token, write_batch, write_batches
from security.crypto import FieldCipher, blind_index, is_encrypted
from security.masking import mask

pytestmark = pytest.mark.django_db

DATASET_ID = 9001
TARGET = Target(
    dataset_id=DATASET_ID, table=f"pool.r{DATASET_ID}", key_item="公民身份号码",
    columns=(
        Column("公民身份号码", None, "text", True, "m1", "id_number"),
        Column("姓名", None, "text", True, "m2", "name"),
        Column("户籍地址", None, "text", True, "m3", "address"),
        Column("出生日期", "c4", "date", False),
        Column("月收入", "c5", "numeric", False),
        Column("是否户主", "c6", "boolean", False),
        Column("文化程度", "c7", "text", False),
        Column("家庭人口", "c8", "bigint", False),
        Column("登记时间", "c9", "timestamp", False),
    ),
)
ITEMS = [c.item for c in TARGET.columns]


def _create_table(target: Target) -> None:
    """The resource table of `target`, made by the layout module's own DDL (no dataset behind it)."""
    with connection.cursor() as cur:
        for statement in create_statements(Layout.of_target(target)):
            cur.execute(statement)


@pytest.fixture
def table():
    _create_table(TARGET)
    return TARGET


@pytest.fixture
def cipher():
    return FieldCipher(settings.FIELD_ENCRYPTION_KEYS, settings.BLIND_INDEX_KEY)


@pytest.fixture(params=["thread", "processes"])
def preparing(request, settings):
    """The per-row work (a first load's, a reload's hashing and spill) by the producer thread, or by worker processes
    (storage.preparing)."""
    if request.param == "processes":
        settings.AGGREGATION = {**settings.AGGREGATION, "WRITE_WORKERS": 2, "WRITE_PARALLEL_MIN_ROWS": 1}
    else:
        settings.AGGREGATION = {**settings.AGGREGATION, "WRITE_WORKERS": 1}
    return request.param


def person(n: int, **values) -> dict[str, str]:
    row = {"公民身份号码": f"41080219900101{n:03d}X", "姓名": f"张{n}三", "户籍地址": f"河南省焦作市解放区民主路{n}号",
           "出生日期": "1990-01-01", "月收入": "3500.5", "是否户主": "true", "文化程度": "大学",
           "家庭人口": "4", "登记时间": "2020-05-06 07:08:09"}
    row.update(values)
    return row


def frame(rows: list[dict[str, str]], first_row_no: int = 2) -> pl.DataFrame:
    return pl.DataFrame({"row_no": list(range(first_row_no, first_row_no + len(rows))),
                         **{i: [r.get(i, "") for r in rows] for i in ITEMS}})


def stored(target: Target = TARGET) -> dict[bytes, dict]:
    with connection.cursor() as cur:
        cur.execute(f"SELECT *, ctid::text AS ctid FROM {target.table}")  # noqa: S608 — our own table name
        names = [d.name for d in cur.description]
        return {bytes(r[names.index("key_hash")]): dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def history() -> list[RecordHistory]:
    return list(RecordHistory.objects.filter(dataset_id=DATASET_ID).order_by("record_id", "id"))


def test_a_first_load_inserts_every_row_with_no_history(table, cipher):
    rows = [person(n) for n in range(5)]
    result = write_batch(table, frame(rows), cipher=cipher, job_id=77, actor_id=None, reason="导入任务 #77")
    assert (result.inserted, result.updated, result.unchanged, result.duplicates) == (5, 0, 0, [])
    table_rows = stored()
    assert len(table_rows) == 5
    assert {r["job_id"] for r in table_rows.values()} == {77}
    assert {r["version"] for r in table_rows.values()} == {1}
    assert history() == []


def test_the_token_holds_exactly_the_rows_encrypted_items(table, cipher, preparing):
    rows = [person(1), person(2, 户籍地址=""), person(3, 姓名='"王\\五\n')]  # empty; JSON and CSV specials
    write_batch(table, frame(rows), cipher=cipher)
    table_rows = stored()
    for row in rows:
        stored_row = table_rows[blind_index(row["公民身份号码"])]
        assert is_encrypted(stored_row["token"])  # the token format of one value, recognised as today
        expected = {i: row[i] for i in ("公民身份号码", "姓名", "户籍地址") if row[i]}
        assert open_token(cipher, stored_row["token"]) == expected
        assert "c1" not in stored_row and "c2" not in stored_row  # encrypted items have no plain column
        assert stored_row["m1"] == mask(row["公民身份号码"], "id_number")
        assert stored_row["m2"] == mask(row["姓名"], "name")
        assert stored_row["m3"] == (mask(row["户籍地址"], "address") if row["户籍地址"] else None)


def test_typed_columns_hold_typed_values_and_empty_is_null(table, cipher):
    write_batch(table, frame([person(1), person(2, 出生日期="", 月收入="", 是否户主="false", 家庭人口="")]),
                cipher=cipher)
    table_rows = stored()
    one = table_rows[blind_index(person(1)["公民身份号码"])]
    assert one["c4"] == dt.date(1990, 1, 1)
    assert one["c5"] == Decimal("3500.5")
    assert one["c6"] is True
    assert one["c7"] == "大学"
    assert one["c8"] == 4
    assert one["c9"] == dt.datetime(2020, 5, 6, 7, 8, 9)
    two = table_rows[blind_index(person(2)["公民身份号码"])]
    assert (two["c4"], two["c5"], two["c6"], two["c8"]) == (None, None, False, None)


def test_text_values_keep_the_characters_csv_and_copy_treat_specially(table, cipher):
    odd = 'a,b"c\r\nd\te\\.\\N'
    write_batch(table, frame([person(1, 文化程度=odd, 户籍地址=odd), person(2, 文化程度="\\.")]), cipher=cipher)
    one = stored()[blind_index(person(1)["公民身份号码"])]
    assert one["c7"] == odd
    assert open_token(cipher, one["token"])["户籍地址"] == odd
    assert stored()[blind_index(person(2)["公民身份号码"])]["c7"] == "\\."


def test_the_blind_index_and_digest_are_todays(table, cipher):
    row = person(1, 公民身份号码="41080219900101001x")  # lower-case x: the index is of the upper-cased key
    write_batch(table, frame([row]), cipher=cipher)
    (key_hash, stored_row), = stored().items()
    upper = row["公民身份号码"].upper().encode()
    assert key_hash == hmac.digest(cipher.blind_key, upper, "sha256") == blind_index(row["公民身份号码"].upper())
    assert bytes(stored_row["row_hash"]) == row_digest(cipher, {k: v for k, v in row.items() if v})
    assert bytes(stored_row["row_hash"]) == hashlib.blake2b(
        "\x1e".join(f"{k}\x1f{row[k]}" for k in sorted(row)).encode(), key=cipher.blind_key, digest_size=32).digest()


def test_the_same_batch_again_writes_nothing(table, cipher, preparing):
    rows = [person(n) for n in range(4)]
    write_batch(table, frame(rows), cipher=cipher, job_id=1)
    before = stored()
    result = write_batch(table, frame(rows), cipher=cipher, job_id=2)
    assert (result.inserted, result.updated, result.unchanged) == (0, 0, 4)
    after = stored()
    assert after == before  # same tuples (ctid), tokens, job, version and updated_at
    assert history() == []


def test_changed_rows_are_updated_with_history_and_new_keys_inserted(table, cipher, preparing):
    rows = [person(n) for n in range(4)]
    write_batch(table, frame(rows), cipher=cipher, job_id=1)
    before = stored()
    changed = [person(0), person(1, 文化程度="研究生"), person(2, 姓名="李四"), person(3), person(9)]
    result = write_batch(table, frame(changed), cipher=cipher, job_id=2, actor_id=5, reason="导入任务 #2")
    assert (result.inserted, result.updated, result.unchanged) == (1, 2, 2)
    assert result.seconds.get("workers") == (2 if preparing == "processes" else None)  # (the reload's first pass)
    after = stored()
    for n in (0, 3):
        key = blind_index(person(n)["公民身份号码"])
        assert after[key] == before[key]
    for n in (1, 2):
        key = blind_index(person(n)["公民身份号码"])
        assert after[key]["id"] == before[key]["id"]
        assert (after[key]["version"], after[key]["job_id"]) == (2, 2)
        assert after[key]["updated_at"] > before[key]["updated_at"]
    assert after[blind_index(person(1)["公民身份号码"])]["c7"] == "研究生"
    assert open_token(cipher, after[blind_index(person(2)["公民身份号码"])]["token"])["姓名"] == "李四"
    assert after[blind_index(person(2)["公民身份号码"])]["m2"] == "李*"
    new = after[blind_index(person(9)["公民身份号码"])]
    assert (new["version"], new["job_id"]) == (1, 2)

    entries = history()  # one per update, none for the insert
    assert [(h.record_id, h.op, h.job_id, h.actor_id, h.reason) for h in entries] == sorted(
        (before[blind_index(person(n)["公民身份号码"])]["id"], "update", 2, 5, "导入任务 #2") for n in (1, 2))
    by_record = {h.record_id: h for h in entries}
    one = by_record[before[blind_index(person(1)["公民身份号码"])]["id"]]
    assert one.before["文化程度"] == "大学" and one.after["文化程度"] == "研究生"
    assert one.before["token"] == before[blind_index(person(1)["公民身份号码"])]["token"]
    assert one.after["token"] == after[blind_index(person(1)["公民身份号码"])]["token"]
    # The stored row as JSON: the values' canonical text (empty ones absent, no masked forms), so the row digest
    # can be recomputed from a history row.
    assert one.after == {"token": one.after["token"], "出生日期": "1990-01-01", "月收入": "3500.5", "是否户主": "true",
                         "文化程度": "研究生", "家庭人口": "4", "登记时间": "2020-05-06 07:08:09"}
    for h in entries:
        plain = {k: v for k, v in h.after.items() if k != "token"} | open_token(cipher, h.after["token"])
        assert row_digest(cipher, plain) == bytes(after[blind_index(plain["公民身份号码"])]["row_hash"])
    two = by_record[before[blind_index(person(2)["公民身份号码"])]["id"]]
    assert open_token(cipher, two.before["token"])["姓名"] == "张2三"
    assert open_token(cipher, two.after["token"])["姓名"] == "李四"


def test_a_soft_deleted_key_comes_back_as_an_update(table, cipher, preparing):
    write_batch(table, frame([person(1)]), cipher=cipher, job_id=1)
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {TARGET.table} SET deleted_at = now()")  # noqa: S608 — our own table name
    result = write_batch(table, frame([person(1)]), cipher=cipher, job_id=2)
    assert (result.inserted, result.updated) == (0, 1)
    (row,) = stored().values()
    assert (row["deleted_at"], row["version"]) == (None, 2)
    assert len(history()) == 1


def test_a_key_given_twice_keeps_its_last_row_and_reports_the_others(table, cipher, preparing):
    rows = [person(1, 文化程度="小学"), person(2), person(1, 文化程度="初中"), person(3), person(1, 文化程度="高中"),
            person(2, 公民身份号码=person(2)["公民身份号码"].lower())]  # same key once upper-cased
    result = write_batch(table, frame(rows, first_row_no=10), cipher=cipher)
    assert result.duplicates == [[10, 12, 14], [11, 15]]
    assert result.dropped == 3
    assert (result.inserted, result.unchanged) == (3, 0)
    assert stored()[blind_index(person(1)["公民身份号码"])]["c7"] == "高中"


def test_a_failure_mid_write_leaves_nothing_written(table, cipher):
    write_batch(table, frame([person(n) for n in range(3)]), cipher=cipher, job_id=1)
    before = stored()
    with connection.cursor() as cur:  # fails the INSERT of the new key, after the UPDATE of the changed ones
        cur.execute(f"ALTER TABLE {TARGET.table} ADD CHECK (c7 <> '坏值')")
    batch = frame([person(0, 文化程度="研究生"), person(1, 姓名="李四"), person(5, 文化程度="坏值")])
    with pytest.raises(DatabaseError):
        write_batch(table, batch, cipher=cipher, job_id=2)
    assert stored() == before
    assert history() == []


@pytest.mark.parametrize("loaded", [False, True], ids=["into an empty table", "through the stage"])
def test_a_value_that_does_not_fit_its_type_fails_the_batch(table, cipher, loaded, preparing):
    if loaded:
        write_batch(table, frame([person(0)]), cipher=cipher)
    before = stored()
    with pytest.raises(DatabaseError):
        write_batch(table, frame([person(1), person(2, 出生日期="1990-02-30")]), cipher=cipher)
    with pytest.raises(DatabaseError):
        write_batch(table, frame([person(1), person(2, 家庭人口="4.5")]), cipher=cipher)
    assert stored() == before


def test_an_empty_key_is_refused(table, cipher, preparing):
    with pytest.raises(ValueError, match="empty key"):
        write_batch(table, frame([person(1, 公民身份号码=" ")]), cipher=cipher)


def test_null_and_empty_text_are_the_same_empty_value(table, cipher):
    write_batch(table, frame([person(1, 文化程度="", 户籍地址="")]), cipher=cipher)
    nulls = frame([person(1)]).with_columns(pl.lit(None, dtype=pl.Utf8).alias("文化程度"),
                                            pl.lit(None, dtype=pl.Utf8).alias("户籍地址"))
    result = write_batch(table, nulls, cipher=cipher)
    assert (result.inserted, result.updated, result.unchanged) == (0, 0, 1)


def test_an_empty_batch_writes_nothing(table, cipher):
    result = write_batch(table, frame([]).cast({"row_no": pl.Int64}), cipher=cipher)
    assert (result.inserted, result.updated, result.unchanged) == (0, 0, 0)
    assert stored() == {}


# --------------------------------------------------------------------------------------------------
# write_batches: a stream of batches in one transaction; an empty table loaded without its secondary indexes


def indexes(target: Target = TARGET) -> list[tuple]:
    """(name, definition, valid, constraint type) of the table's indexes."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisvalid AND i.indisready, k.contype "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid AND k.conrelid = i.indrelid "
            "WHERE i.indrelid = %s::regclass ORDER BY 1", [target.table])
        return cur.fetchall()


def test_a_first_load_in_batches_leaves_the_indexes_as_they_were_and_valid(table, cipher, preparing):
    before = indexes()
    assert len(before) == 3
    batches = [frame([person(n) for n in range(0, 4)], 2), frame([person(n) for n in range(4, 9)], 6)]
    result = write_batches(table, iter(batches), cipher=cipher, job_id=7)
    assert (result.inserted, result.updated, result.unchanged, result.duplicates) == (9, 0, 0, [])
    assert result.seconds.get("workers") == (2 if preparing == "processes" else None)
    assert indexes() == before
    assert all(valid for _, _, valid, _ in indexes())
    with connection.cursor() as cur:  # the unique index is built and enforced
        cur.execute(f"SELECT count(*), count(DISTINCT key_hash) FROM {TARGET.table}")  # noqa: S608
        assert cur.fetchone() == (9, 9)
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute(f"EXPLAIN SELECT id FROM {TARGET.table} WHERE key_hash = '\\x00'")  # noqa: S608
        assert "r9001_key_hash_key" in " ".join(r[0] for r in cur.fetchall())
        with pytest.raises(DatabaseError), transaction.atomic():
            cur.execute(f"INSERT INTO {TARGET.table} (key_hash, row_hash) SELECT key_hash, row_hash "  # noqa: S608
                        f"FROM {TARGET.table} LIMIT 1")
    assert {r["job_id"] for r in stored().values()} == {7}


def test_a_first_load_stamps_its_job_and_time_and_leaves_the_declared_defaults(table, cipher, preparing):
    """The job and time of a first load are the columns' defaults during its COPY only."""
    def defaults():
        with connection.cursor() as cur:
            cur.execute("SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a "
                        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
                        "WHERE a.attrelid = %s::regclass AND a.attname IN ('job_id', 'created_at', 'updated_at')",
                        [TARGET.table])
            return dict(cur.fetchall())

    declared = defaults()
    assert declared == {"job_id": None, "created_at": "now()", "updated_at": "now()"}
    now = timezone.now() - dt.timedelta(days=3)
    write_batches(table, iter([frame([person(n) for n in range(3)], 2), frame([person(n) for n in range(3, 5)], 5)]),
                  cipher=cipher, job_id=8, now=now)
    assert {(r["job_id"], r["created_at"], r["updated_at"]) for r in stored().values()} == {(8, now, now)}
    assert defaults() == declared
    with connection.cursor() as cur:  # a row written afterwards gets the declared defaults again
        cur.execute(f"INSERT INTO {TARGET.table} (key_hash, row_hash) VALUES ('\\x01', '\\x01') "  # noqa: S608
                    "RETURNING job_id, created_at > %s", [now])
        assert cur.fetchone() == (None, True)


@pytest.mark.parametrize("loaded", [False, True], ids=["into an empty table", "into a loaded table"])
def test_a_key_given_in_two_batches_keeps_its_last_row_and_is_reported(
        table, cipher, loaded, preparing, tmp_path, monkeypatch):
    import tempfile

    if loaded:
        write_batch(table, frame([person(1), person(9)]), cipher=cipher, job_id=1)
    batches = [frame([person(1, 文化程度="小学"), person(2)], 10),
               frame([person(3), person(1, 文化程度="高中"), person(2, 姓名="王二")], 12)]
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    spilled = []

    def given():  # (the load's keys are on disk while it runs — its memory does not grow with the file — then gone)
        yield batches[0]
        spilled.extend(p.name.split("-")[1] for p in tmp_path.glob("pool-keys-*"))
        yield batches[1]

    result = write_batches(table, given(), cipher=cipher, job_id=2)
    assert spilled == ["keys"] and not list(tmp_path.glob("pool-keys-*"))
    assert result.duplicates == [[10, 13], [11, 14]]
    assert result.dropped == 2
    if loaded:  # 1 changed (one update, one history row), 2 and 3 new, 9 not given
        assert (result.inserted, result.updated, result.unchanged) == (2, 1, 0)
        assert len(history()) == 1
    else:
        assert (result.inserted, result.updated, result.unchanged) == (3, 0, 0)
    table_rows = stored()
    assert len(table_rows) == (4 if loaded else 3)
    assert table_rows[blind_index(person(1)["公民身份号码"])]["c7"] == "高中"
    assert open_token(cipher, table_rows[blind_index(person(2)["公民身份号码"])]["token"])["姓名"] == "王二"
    assert all(valid for _, _, valid, _ in indexes())


def _failing(batches, exc):
    yield from batches
    raise exc


@pytest.mark.parametrize("loaded", [False, True], ids=["into an empty table", "into a loaded table"])
@pytest.mark.parametrize("failure", ["the stream", "the server"])
def test_a_failure_mid_stream_leaves_nothing_and_the_indexes_intact(table, cipher, loaded, failure, preparing):
    if loaded:
        write_batch(table, frame([person(0)]), cipher=cipher, job_id=1)
    before, before_indexes = stored(), indexes()
    good = frame([person(n, 文化程度="研究生") for n in range(0, 3)], 2)
    if failure == "the stream":  # the reader of the file fails after a batch was sent
        batches, expected = _failing([good], OSError("磁盘读取失败")), OSError
    else:  # the server refuses a value of the second batch
        batches, expected = iter([good, frame([person(5, 出生日期="1990-02-30")], 5)]), DatabaseError
    with pytest.raises(expected):
        write_batches(table, batches, cipher=cipher, job_id=2)
    assert stored() == before
    assert history() == []
    assert indexes() == before_indexes
    # and the table takes the next load as usual
    result = write_batches(table, [good], cipher=cipher, job_id=3)
    assert result.inserted + result.updated == 3


def test_keys_are_indexed_upper_cased_and_stripped_as_today(table, cipher):
    keys = ["41080219900101001x", " 41080219900101002X\t", "４１０８０２１９９００１０１００３ｘ",
            "\u300041080219900101004x", " 41080219900101005x "]
    write_batch(table, frame([person(n, 公民身份号码=k) for n, k in enumerate(keys)]), cipher=cipher)
    assert set(stored()) == {blind_index(k) for k in keys}
    write_batch(table, frame([person(0, 公民身份号码=keys[0])]), cipher=cipher)  # ASCII only: the polars path
    assert len(stored()) == 5


def test_row_digests_are_row_digest_of_each_row(cipher):
    names = ["b", "a", "姓名", "c\x1fd", "z"]
    values = ["", "x", "张三", "a\x1eb", "c\x1fd", "\x1e", "\x1f", "é", "0"]
    rows = [{n: values[(i * 7 + j * 3 + i // 5) % len(values)] for j, n in enumerate(names)} for i in range(120)]
    rows.append(dict.fromkeys(names, ""))
    batch = pl.DataFrame({n: [r[n] for r in rows] for n in names})
    expected = [row_digest(cipher, {k: v for k, v in r.items() if v}) for r in rows]
    assert row_digests(cipher, batch) == expected
    with_nulls = batch.with_columns(pl.when(pl.col("a") == "").then(None).otherwise(pl.col("a")).alias("a"))
    assert row_digests(cipher, with_nulls) == expected
