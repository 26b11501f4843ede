"""Resource tables (issue 18, aggregation.storage): a table per dataset, created with it, migrated online by an
approved catalog update (add, retire, rename, retype), a retype refused with the rows whose values do not fit, and
nothing half-done when a migration is refused or cannot get its lock.

The rows of a resource table are written here by SQL (`put_rows`): the loads write them once storage.writing lands."""

import json

import pytest
from django.conf import settings
from django.db import connection
from psycopg import sql

from aggregation.ingest.encryption import row_digest
from aggregation.models import Dataset
from aggregation.services.pools import dataset_ensure, datasets_sync, record_delete
from aggregation.storage import ddl
from aggregation.storage.layout import Layout, assign, column_ident, table_ident, table_name
from catalog.choices import UpdateCaseState
from catalog.models import ITEM_FIELDS, CatalogUpdateCase, DataItem
from catalog.services.update_cases import update_case_approve, update_case_open, update_case_save, update_case_submit
from portal.errors import PortalError
from portal.services.workdays import local_today
from security.crypto import FieldCipher, blind_index
from tests.aggregation.builders import ids, load, make_entry
from tests.catalog.helpers import entry_values
from tests.support import TableLock

pytestmark = pytest.mark.django_db

ITEMS = [  # (name, data_type, length, is_subject_key, is_base_item)
    ("公民身份号码", "C", 18, True, True),
    ("姓名", "C", 50, False, True),
    ("登记日期", "C", 20, False, False),
    ("在册人数", "C", 10, False, False),
    ("备注", "C", 100, False, False),
    ("联系电话", "C", 20, False, False),
    ("Grade等级", "C", 10, False, False),
]


@pytest.fixture
def dataset(dept):
    return dataset_ensure(entry=make_entry(dept, "社区登记信息", ITEMS))


def table_columns(dataset) -> list[tuple[str, str]]:
    with connection.cursor() as cur:
        cur.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'pool' AND "
                    "table_name = %s ORDER BY ordinal_position", [table_name(dataset.pk)])
        return cur.fetchall()


def cipher() -> FieldCipher:
    return FieldCipher(settings.FIELD_ENCRYPTION_KEYS, settings.BLIND_INDEX_KEY)


def put_rows(dataset, rows: list[dict], *, deleted: bool = False) -> list[int]:
    """Rows as storage.writing will write them (contract): the key's blind index, one token of the encrypted items,
    the plain items in their columns as canonical text, the row digest of the plain row."""
    dataset.refresh_from_db()
    layout = Layout.stored(dataset)
    c = cipher()
    out = []
    for row in rows:
        secret = {k: v for k, v in row.items() if layout.columns[k]["encrypted"]}
        plain = [(layout.columns[k], v) for k, v in row.items() if not layout.columns[k]["encrypted"]]
        statement = sql.SQL("INSERT INTO {} (key_hash, token, row_hash, deleted_at{}) VALUES (%s, %s, %s, {}{}) "
                            "RETURNING id").format(
            layout.table, sql.SQL("").join(sql.SQL(", {}").format(column_ident(e["col"])) for e, _v in plain),
            sql.SQL("now()" if deleted else "NULL"),
            sql.SQL("").join(sql.SQL(", %s::text::{}").format(sql.SQL(e["type"])) for e, _v in plain))
        with connection.cursor() as cur:
            cur.execute(q(statement), [
                blind_index(row[dataset.key_item_name]), c.encrypt(json.dumps(secret, ensure_ascii=False)),
                row_digest(c, {k: v for k, v in row.items() if v}), *[v for _e, v in plain]])
            out.append(cur.fetchone()[0])
    return out


def q(statement) -> str:
    return statement.as_string(connection.connection)


def stored(dataset, row_id: int, item: str):
    layout = Layout.stored(dataset)
    with connection.cursor() as cur:
        cur.execute(q(sql.SQL("SELECT {}, row_hash FROM {} WHERE id = %s").format(
            column_ident(layout.columns[item]["col"]), layout.table)), [row_id])
        return cur.fetchone()


def current_items(entry, **changes) -> list[dict]:
    """The entry's items as an update case proposes them: `name={...}` changes an item, `name=None` drops it,
    unknown names are added at the end."""
    items = []
    for item in entry.items.order_by("position"):
        fields = {f: getattr(item, f) for f in ITEM_FIELDS}
        if item.name in changes:
            if changes[item.name] is None:
                continue
            fields.update(changes[item.name])
        items.append(fields)
    known = {i.name for i in entry.items.all()}
    for name, change in changes.items():
        if name not in known and change is not None:
            items.append({"name": name, "data_type": "C", "length": 50, "is_subject_key": False,
                          "is_base_item": False, "description": "", **change})
    return items


def submitted_update(staff, entry, items) -> CatalogUpdateCase:
    case = update_case_open(actor=staff, entry_id=entry.pk, trigger_kind="law_amended", trigger_date=local_today(),
                            trigger_document="《社区登记办法》（2026年修订）")
    values = entry_values(name=entry.name, classification=entry.classification, summary=entry.summary,
                          update_cycle="weekly")
    update_case_save(actor=staff, case_id=case.pk, values=values, items=items)
    return update_case_submit(actor=staff, case_id=case.pk)


def person(number: str, **values) -> dict:
    return {"公民身份号码": number, "姓名": "张三", "登记日期": "2024-01-31", "在册人数": "3", "备注": "",
            "联系电话": "13812345678", "Grade等级": "A", **values}


# --------------------------------------------------------------------------------------------------
# Creation


def test_table_created_with_the_dataset(dataset, audit_log):
    dataset.refresh_from_db()
    n = {name: int((e["col"] or e["mask"])[1:]) for name, e in dataset.columns.items()}
    assert [n[name] for name, *_ in ITEMS] == [1, 2, 3, 4, 5, 6, 7]  # numbered in catalog order
    assert dataset.columns["登记日期"] == {"col": "c3", "mask": None, "mask_kind": None, "type": "text",
                                         "encrypted": False, "retired": False}
    # the key and the personal items live only in the token, with their masked forms
    assert {name for name, e in dataset.columns.items() if e["encrypted"]} == {"公民身份号码", "姓名", "联系电话"}
    assert all(dataset.columns[name]["col"] is None and dataset.columns[name]["mask"]
               for name in ("公民身份号码", "姓名", "联系电话"))
    plain = [(c, "text") for c in ("c3", "c4", "c5", "c7")]
    masks = [(m, "text") for m in ("m1", "m2", "m6")]
    assert table_columns(dataset) == [
        ("id", "bigint"), ("key_hash", "bytea"), ("token", "text"), *plain, *masks, ("row_hash", "bytea"),
        ("job_id", "bigint"), ("version", "integer"), ("created_at", "timestamp with time zone"),
        ("updated_at", "timestamp with time zone"), ("deleted_at", "timestamp with time zone")]
    with connection.cursor() as cur:
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'pool' AND tablename = %s "
                    "ORDER BY indexname", [table_name(dataset.pk)])
        indexes = dict(cur.fetchall())
        cur.execute("SELECT column_default, is_nullable FROM information_schema.columns WHERE table_schema = 'pool' "
                    "AND table_name = %s AND column_name = 'id'", [table_name(dataset.pk)])
        default, nullable = cur.fetchone()
        cur.execute("SELECT relpersistence FROM pg_class WHERE oid = %s::regclass", [f"pool.r{dataset.pk}"])
        assert cur.fetchone()[0] == "p"  # durable: never UNLOGGED
    r = f"r{dataset.pk}"
    assert set(indexes) == {f"{r}_pkey", f"{r}_key_hash_key", f"{r}_since_idx"}
    assert "UNIQUE" in indexes[f"{r}_key_hash_key"] and "(key_hash)" in indexes[f"{r}_key_hash_key"]
    assert "(updated_at, id)" in indexes[f"{r}_since_idx"]
    assert default == "nextval('pool.row_id_seq'::regclass)" and nullable == "NO"
    (event,) = audit_log("aggregation.dataset.table_created")
    assert event.data["table"] == f"pool.{r}" and event.data["columns"]["登记日期"] == ["c3", None]
    assert ddl.table_create(dataset) is False  # idempotent
    assert len(audit_log("aggregation.dataset.table_created")) == 1


def test_row_ids_come_from_one_sequence_across_tables(dataset, other_dept):
    other = dataset_ensure(entry=make_entry(other_dept, "另一资源", ITEMS, cls="102"))
    a = put_rows(dataset, [person(ids(1)[0])])
    b = put_rows(other, [person(ids(1)[0])])
    assert b[0] > a[0]


def test_sync_creates_the_table_of_an_older_dataset_and_follows_the_catalog(dept, audit_log):
    entry = make_entry(dept, "旧数据集", ITEMS)
    old = Dataset.objects.create(entry=entry, department=dept, key_item_name="公民身份号码", key_kind="id_number",
                                 encrypted_items=["公民身份号码", "姓名", "联系电话"])
    assert old.columns == {}
    datasets_sync()
    old.refresh_from_db()
    assert old.columns["在册人数"]["col"] == "c4" and ("c4", "text") in table_columns(old)
    DataItem.objects.create(entry=entry, position=8, name="入册方式", data_type="C", length=20)
    datasets_sync()  # a catalog change made outside an update case is caught by the nightly sync
    old.refresh_from_db()
    assert old.columns["入册方式"]["col"] == "c8" and ("c8", "text") in table_columns(old)
    (event,) = audit_log("aggregation.dataset.table_migrated")
    assert event.data["changes"] == [{"op": "add", "item": "入册方式", "column": "c8", "mask": None, "type": "text"}]


# --------------------------------------------------------------------------------------------------
# Migrations through an approved catalog update


def test_update_adds_retires_and_renames(dataset, staff, reviewer, audit_log):
    entry = dataset.entry
    number = ids(1)[0]
    (row,) = put_rows(dataset, [person(number, 备注="迁入", Grade等级="B")])
    case = submitted_update(staff, entry, current_items(
        entry, 备注=None, Grade等级={"name": "GRADE等级"}, 婚姻状况={"data_type": "C", "length": 10}))
    update_case_approve(actor=reviewer, case_id=case.pk)
    dataset.refresh_from_db()
    cols = dataset.columns
    assert cols["婚姻状况"]["col"] == "c8" and ("c8", "text") in table_columns(dataset)  # the next free number
    assert cols["备注"] == {"col": "c5", "mask": None, "mask_kind": None, "type": "text", "encrypted": False,
                            "retired": True}
    assert stored(dataset, row, "备注")[0] == "迁入"  # a retired item's values stay
    assert "Grade等级" not in cols and cols["GRADE等级"]["col"] == "c7"  # renamed (the catalog's item_key): same column
    assert stored(dataset, row, "GRADE等级")[0] == "B"
    # the row digest holds item names: it follows the rename
    assert bytes(stored(dataset, row, "GRADE等级")[1]) == row_digest(cipher(), {
        ("GRADE等级" if k == "Grade等级" else k): v for k, v in person(number, 备注="迁入", Grade等级="B").items()
        if v and k != "备注"})
    (event,) = audit_log("aggregation.dataset.table_migrated")
    assert event.actor_id == reviewer.pk
    assert {(c["op"], c["item"]) for c in event.data["changes"]} == {
        ("retire", "备注"), ("rename", "GRADE等级"), ("add", "婚姻状况")}
    assert audit_log("catalog.update_case.approved")
    with connection.cursor() as cur:  # the migration's lock_timeout does not outlive it
        cur.execute("SHOW lock_timeout")
        assert cur.fetchone()[0] == "0"

    # the item is brought back by a later update: it takes its column again; a new item never reuses a number
    case = submitted_update(staff, entry, current_items(entry, 备注={"data_type": "C", "length": 100},
                                                        所属社区={"length": 20}))
    update_case_approve(actor=reviewer, case_id=case.pk)
    dataset.refresh_from_db()
    assert dataset.columns["备注"]["col"] == "c5" and not dataset.columns["备注"]["retired"]
    assert stored(dataset, row, "备注")[0] == "迁入"
    assert dataset.columns["所属社区"]["col"] == "c9"


def test_retype_converts_the_stored_values(dataset, staff, reviewer, audit_log):
    entry = dataset.entry
    numbers = ids(3)
    records = load(dataset, [person(numbers[0], 登记日期="2024/1/31", 在册人数="12"),
                             person(numbers[1], 登记日期="2023年5月6日", 在册人数="1,024"),
                             person(numbers[2], 登记日期="不详", 在册人数="3")])
    record_delete(actor=staff, dataset=dataset, key=numbers[2], reason="迁出")
    live = [records[numbers[0]].id, records[numbers[1]].id]
    gone = records[numbers[2]].id
    before = stored(dataset, live[1], "登记日期")[1]
    case = submitted_update(staff, entry, current_items(entry, 登记日期={"data_type": "D", "length": 8},
                                                        在册人数={"data_type": "I", "length": 6}))
    update_case_approve(actor=reviewer, case_id=case.pk)
    dataset.refresh_from_db()
    assert dataset.columns["登记日期"]["type"] == "date" and dataset.columns["在册人数"]["type"] == "bigint"
    assert ("c3", "date") in table_columns(dataset) and ("c4", "bigint") in table_columns(dataset)
    import datetime as dt

    assert stored(dataset, live[0], "登记日期")[0] == dt.date(2024, 1, 31)
    assert stored(dataset, live[1], "在册人数")[0] == 1024
    assert stored(dataset, gone, "登记日期")[0] is None  # a deleted row's unfit value: its deletion's history keeps it
    # the canonical text changed ("2023年5月6日" → "2023-05-06"): the row digest follows, as a load would compute it
    digest = bytes(stored(dataset, live[1], "登记日期")[1])
    assert digest != bytes(before)
    assert digest == row_digest(cipher(), {k: v for k, v in person(
        numbers[1], 登记日期="2023-05-06", 在册人数="1024").items() if v})
    (event,) = audit_log("aggregation.dataset.table_migrated")
    assert {(c["op"], c["item"], c.get("to")) for c in event.data["changes"]} == {
        ("retype", "登记日期", "date"), ("retype", "在册人数", "bigint")}


def test_retype_of_a_typed_column(dataset):
    """A typed column whose canonical text changes (numeric "3.0" → integer "3", date → timestamp) goes through text;
    a type that keeps every value's text ALTERs directly."""
    import datetime as dt

    items = DataItem.objects.filter(entry=dataset.entry)
    items.filter(name="在册人数").update(data_type="N")
    items.filter(name="登记日期").update(data_type="D", length=8)
    ddl.table_migrate(dataset, actor=None)
    number = ids(1)[0]
    (row,) = put_rows(dataset, [person(number, 在册人数="3.0", 登记日期="2024-01-31")])
    items.filter(name="在册人数").update(data_type="I", length=6)
    items.filter(name="登记日期").update(data_type="T", length=19)
    changes = ddl.table_migrate(dataset, actor=None)
    assert {(c["item"], c["from"], c["to"]) for c in changes} == {
        ("登记日期", "date", "timestamp"), ("在册人数", "numeric", "bigint")}
    assert ("c3", "timestamp without time zone") in table_columns(dataset) and ("c4", "bigint") in table_columns(
        dataset)
    assert stored(dataset, row, "在册人数")[0] == 3
    assert stored(dataset, row, "登记日期")[0] == dt.datetime(2024, 1, 31)
    assert bytes(stored(dataset, row, "在册人数")[1]) == row_digest(cipher(), {k: v for k, v in person(
        number, 在册人数="3", 登记日期="2024-01-31 00:00:00").items() if v})


def test_items_held_in_the_token_are_renamed_and_checked_there(dataset):
    number = ids(1)[0]
    (row,) = put_rows(dataset, [person(number, 姓名="李四")])
    DataItem.objects.filter(entry=dataset.entry, name="姓名").update(name="姓 名")  # the same item (item_key)
    changes = ddl.table_migrate(dataset, actor=None)
    assert ("rename", "姓 名") in [(c["op"], c["item"]) for c in changes]
    with connection.cursor() as cur:
        cur.execute(q(sql.SQL("SELECT token, row_hash FROM {} WHERE id = %s").format(table_ident(dataset.pk))), [row])
        token, digest = cur.fetchone()
    values = json.loads(cipher().decrypt(token))
    assert values["姓 名"] == "李四" and "姓名" not in values
    assert bytes(digest) == row_digest(cipher(), {("姓 名" if k == "姓名" else k): v for k, v in person(
        number, 姓名="李四").items() if v})

    DataItem.objects.filter(entry=dataset.entry, name="联系电话").update(data_type="I", length=5)
    columns_before = dict(Dataset.objects.get(pk=dataset.pk).columns)
    with pytest.raises(PortalError) as refused:
        ddl.table_migrate(dataset, actor=None)
    assert refused.value.code == "items_unfit"
    message = str(refused.value.detail)
    assert f"「联系电话」记录 {row}：“" in message and "数值位数超过 5 位" in message
    assert "13812345678" not in message  # a personal value is named masked
    assert Dataset.objects.get(pk=dataset.pk).columns == columns_before


def test_the_writer_writes_the_layout_and_a_retype_keeps_its_digests(dataset, staff, reviewer):
    """storage.writing into a table made here: after a retype re-canonicalised the stored text, the same rows
    written again in the new canonical text are unchanged (the digests agree), not rewritten."""
    import polars as pl

    from aggregation.storage.writing import write_batch

    def frame(rows):
        target = Layout.stored(dataset).target(dataset.key_item_name)
        return target, pl.DataFrame({"row_no": list(range(2, 2 + len(rows))),
                                     **{c.item: [r.get(c.item, "") for r in rows] for c in target.columns}})

    numbers = ids(3)
    rows = [person(numbers[0], 登记日期="2024/1/31"), person(numbers[1]), person(numbers[2], 在册人数="1,024")]
    target, batch = frame(rows)
    assert write_batch(target, batch, cipher=cipher()).inserted == 3
    case = submitted_update(staff, dataset.entry, current_items(
        dataset.entry, 登记日期={"data_type": "D", "length": 8}, 在册人数={"data_type": "I", "length": 6}))
    update_case_approve(actor=reviewer, case_id=case.pk)
    dataset.refresh_from_db()
    rows[0]["登记日期"], rows[2]["在册人数"] = "2024-01-31", "1024"
    target, batch = frame(rows)
    result = write_batch(target, batch, cipher=cipher())
    assert (result.inserted, result.updated, result.unchanged) == (0, 0, 3)
    # a rename rewrote the digests (they hold item names), an encrypted item's in the tokens too
    case = submitted_update(staff, dataset.entry, current_items(dataset.entry, Grade等级={"name": "GRADE等级"},
                                                                所属社区={"length": 20}))
    update_case_approve(actor=reviewer, case_id=case.pk)
    dataset.refresh_from_db()
    for row in rows:
        row["GRADE等级"] = row.pop("Grade等级")
    target, batch = frame(rows)
    result = write_batch(target, batch, cipher=cipher())
    assert (result.inserted, result.updated, result.unchanged) == (0, 0, 3)


def test_a_new_name_is_a_new_item(dataset, staff, reviewer):
    entry = dataset.entry
    case = submitted_update(staff, entry, current_items(entry, 备注={"name": "家庭住址", "length": 100}))
    update_case_approve(actor=reviewer, case_id=case.pk)
    dataset.refresh_from_db()
    address = dataset.columns["家庭住址"]
    assert address["encrypted"] and address["col"] is None and address["mask"]
    assert dataset.columns["备注"]["retired"]  # a different name is a different item (catalog: a rename is new)


def test_encrypted_flag_change_moves_values_into_the_token(dataset):
    """An item joins the dataset's encrypted items (services.pools.refresh_encrypted_items, when the catalog makes it
    personal): its values move into each row's token, its plain column goes."""
    (row,) = put_rows(dataset, [person(ids(1)[0], 备注="13912345678")])
    Dataset.objects.filter(pk=dataset.pk).update(encrypted_items=[*dataset.encrypted_items, "备注"])
    dataset.refresh_from_db()
    changes = ddl.table_migrate(dataset, actor=None)
    # an encrypted item is shown masked: its masked form gets a column (empty: masked when read until rewritten)
    assert [(c["op"], c["item"]) for c in changes] == [("encrypt", "备注"), ("mask_add", "备注")]
    assert ("c5", "text") not in table_columns(dataset) and ("m5", "text") in table_columns(dataset)
    assert dataset.columns["备注"]["encrypted"] and dataset.columns["备注"]["col"] is None
    with connection.cursor() as cur:
        cur.execute(q(sql.SQL("SELECT token FROM {} WHERE id = %s").format(table_ident(dataset.pk))), [row])
        token = json.loads(cipher().decrypt(cur.fetchone()[0]))
    assert token["备注"] == "13912345678" and token["姓名"] == "张三"


# --------------------------------------------------------------------------------------------------
# Refusals: the values listed, nothing changed


def test_retype_refused_lists_the_rows_and_changes_nothing(dataset, staff, reviewer, audit_log):
    entry = dataset.entry
    numbers = ids(26)
    records = load(dataset, [person(n, 登记日期="不详" if i < 4 else "2024-01-31") for i, n in enumerate(numbers)])
    table_before, columns_before = table_columns(dataset), dict(dataset.columns)
    case = submitted_update(staff, entry, current_items(entry, 登记日期={"data_type": "D", "length": 8},
                                                        联系电话={"length": 5}, 婚姻状况={}))
    with pytest.raises(PortalError) as refused:
        update_case_approve(actor=reviewer, case_id=case.pk)
    assert refused.value.code == "items_unfit"
    message = str(refused.value.detail)
    assert "不能批准本次目录更新" in message
    first = records[numbers[0]]
    assert f"「登记日期」记录 {first.id}" in message and "日期格式无法识别" in message
    assert numbers[0] not in message and numbers[0][:6] in message  # the subject key masked
    assert "13812345678" not in message and "长度 11 超过信息项长度 5" in message  # a personal value masked
    assert "已归集的数据中有 30 个值" in message and "另有 10 个值未列出" in message
    assert len([line for line in message.splitlines() if line.startswith("「")]) == ddl.UNFIT_LISTED
    case.refresh_from_db()
    entry.refresh_from_db()
    dataset.refresh_from_db()
    assert case.state == UpdateCaseState.SUBMITTED and entry.version == 1
    assert entry.items.get(name="登记日期").data_type == "C" and not entry.items.filter(name="婚姻状况").exists()
    assert table_columns(dataset) == table_before and dataset.columns == columns_before
    assert not audit_log("aggregation.dataset.table_migrated") and not audit_log("catalog.update_case.approved")


def test_the_reviewer_reads_the_refusal_row_by_row(dataset, staff, reviewer, client):
    """On the page the refusal keeps its lines: one row per line, not one run-on paragraph (messages go through
    linebreaksbr after escaping)."""
    from tests.support import sign_in

    entry = dataset.entry
    load(dataset, [person(n, 登记日期="不详<b>") for n in ids(2)])
    case = submitted_update(staff, entry, current_items(entry, 登记日期={"data_type": "D", "length": 8}))
    sign_in(client, reviewer)
    page = client.post(f"/catalog/update-cases/{case.pk}/approve/", {"comment": ""}, follow=True).content.decode()
    assert "不能批准本次目录更新" in page and page.count("「登记日期」记录") == 2
    assert "<br>「登记日期」记录" in page and "不详&lt;b&gt;" in page and "不详<b>" not in page


def test_failed_migration_leaves_nothing_half_done(dataset, staff, reviewer, audit_log, monkeypatch):
    """The table holds a value the guard did not see (say, written by a load since it read): the migration itself
    refuses, after it had already retyped another column — the approval is undone as a whole."""
    from aggregation.storage import values

    entry = dataset.entry
    (row,) = put_rows(dataset, [person(ids(1)[0], 在册人数="三人")])
    monkeypatch.setattr(values, "item_values", lambda dataset, item_name: iter(()))  # (the guard's read, earlier)
    table_before, columns_before = table_columns(dataset), dict(dataset.columns)
    case = submitted_update(staff, entry, current_items(entry, 婚姻状况={}, 登记日期={"data_type": "D", "length": 8},
                                                        在册人数={"data_type": "N"}))
    with pytest.raises(PortalError) as refused:
        update_case_approve(actor=reviewer, case_id=case.pk)
    assert refused.value.code == "items_unfit"
    assert f"「在册人数」记录 {row}：“三人”，应为数值" in str(refused.value.detail)
    case.refresh_from_db()
    entry.refresh_from_db()
    dataset.refresh_from_db()
    assert case.state == UpdateCaseState.SUBMITTED and entry.version == 1
    assert table_columns(dataset) == table_before and dataset.columns == columns_before
    assert not audit_log("aggregation.dataset.table_migrated")


# --------------------------------------------------------------------------------------------------
# Online: a long reader makes the migration fail cleanly instead of queueing everyone behind it


class ReaderHolding(TableLock):
    """Another session in the middle of a long read of a resource table (ACCESS SHARE until it ends)."""

    def __init__(self, dataset_id: int):
        super().__init__(table_name(dataset_id))
        self.dataset_id = dataset_id

    def __enter__(self):
        import psycopg

        params = {k: v for k, v in connection.get_connection_params().items() if k != "context"}
        self.conn = psycopg.connect(**params)
        self.conn.execute(sql.SQL("SELECT count(*) FROM {}").format(table_ident(self.dataset_id)))
        self.pid = self.conn.info.backend_pid
        return self


class LoadHolding(ReaderHolding):
    """Another session in the middle of a load: it holds the dataset's row (services.pools / ingest lock it)."""

    def __enter__(self):
        import psycopg

        params = {k: v for k, v in connection.get_connection_params().items() if k != "context"}
        self.conn = psycopg.connect(**params)
        self.conn.execute("SELECT 1 FROM aggregation_dataset WHERE id = %s FOR UPDATE", [self.dataset_id])
        self.pid = self.conn.info.backend_pid
        return self


@pytest.fixture
def drop_pool_tables():
    """A transactional test commits its tables; the flush between tests empties Django's tables only."""
    yield
    with connection.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'pool'")
        for (name,) in cur.fetchall():
            cur.execute(q(sql.SQL("DROP TABLE {}").format(sql.Identifier("pool", name))))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # like every other transactional test
def test_busy_table_fails_cleanly_and_can_be_repeated(dept, staff, reviewer, monkeypatch, drop_pool_tables):
    monkeypatch.setattr(ddl, "LOCK_TIMEOUT_MS", 200)
    dataset = dataset_ensure(entry=make_entry(dept, "社区登记信息", ITEMS))
    entry = dataset.entry
    case = submitted_update(staff, entry, current_items(entry, 婚姻状况={}))
    with ReaderHolding(dataset.pk) as reader, pytest.raises(PortalError) as busy:
        update_case_approve(actor=reviewer, case_id=case.pk)
    assert not reader.waiting()  # nobody was left queued behind the migration
    assert busy.value.code == "table_busy" and "资源表正被其他操作占用" in str(busy.value.detail)
    case.refresh_from_db()
    entry.refresh_from_db()
    dataset.refresh_from_db()
    assert case.state == UpdateCaseState.SUBMITTED and entry.version == 1
    assert "婚姻状况" not in dataset.columns and ("c8", "text") not in table_columns(dataset)
    update_case_approve(actor=reviewer, case_id=case.pk)  # the reader is gone: the same approval goes through
    dataset.refresh_from_db()
    assert dataset.columns["婚姻状况"]["col"] == "c8" and ("c8", "text") in table_columns(dataset)

    # a retype is checked against the stored values holding the dataset, as a load does: a running load makes it
    # fail cleanly too (no load can write a value between the check and the migration)
    case = submitted_update(staff, entry, current_items(entry, 登记日期={"data_type": "D", "length": 8}))
    with LoadHolding(dataset.pk), pytest.raises(PortalError) as busy:
        update_case_approve(actor=reviewer, case_id=case.pk)
    assert busy.value.code == "table_busy"
    entry.refresh_from_db()
    assert entry.version == 2 and entry.items.get(name="登记日期").data_type == "C"
    update_case_approve(actor=reviewer, case_id=case.pk)
    assert ("c3", "date") in table_columns(dataset)


# --------------------------------------------------------------------------------------------------
# Identifiers


HOSTILE = [
    'x"; DROP TABLE aggregation_dataset; --',
    "it's",
    "名" * 30,  # 90 bytes: beyond PostgreSQL's 63-byte identifiers
    'c1", "c2',
    "c9",  # looks like a column
]


def test_hostile_item_names_never_reach_sql(dept):
    dataset = dataset_ensure(entry=make_entry(dept, "恶意名称", [ITEMS[0], *[(n, "C", 50, False, False)
                                                                              for n in HOSTILE]]))
    assert [dataset.columns[n]["col"] for n in HOSTILE] == ["c2", "c3", "c4", "c5", "c6"]
    assert [c for c, _t in table_columns(dataset)][3:8] == ["c2", "c3", "c4", "c5", "c6"]
    entry = dataset.entry
    DataItem.objects.filter(entry=entry, name=HOSTILE[0]).update(data_type="D")
    DataItem.objects.filter(entry=entry, name=HOSTILE[1]).delete()
    DataItem.objects.create(entry=entry, position=20, name="m1); DROP TABLE x; --" + "字" * 40, data_type="I",
                            length=5)
    changes = ddl.table_migrate(dataset, actor=None)
    assert {c["op"] for c in changes} == {"retype", "retire", "add"}
    assert ("c2", "date") in table_columns(dataset) and ("c7", "bigint") in table_columns(dataset)
    assert Dataset.objects.filter(pk=dataset.pk).exists()
    for bad in ("c1; DROP TABLE x", 'c1"', "C1", "c0", "姓名", "m", "c1 "):
        with pytest.raises(ValueError):
            column_ident(bad)
    for bad in ("1", 0, -1, True, 1.0):
        with pytest.raises(ValueError):
            table_ident(bad)


def test_assign_numbers_are_stable():
    from aggregation.ingest.planning import ItemSpec

    def spec(name, data_type="C", *, encrypt=False, kind=None):
        return ItemSpec(name, data_type, 20, False, encrypt, kind)

    first = assign({}, [spec("甲"), spec("乙", encrypt=True, kind="name"), spec("丙", "D")])
    assert [(e["col"], e["mask"], e["type"]) for e in first.values()] == [
        ("c1", None, "text"), (None, "m2", "text"), ("c3", None, "date")]
    later = assign(first, [spec("乙", encrypt=False, kind="name"), spec("丁", "N", kind="generic")])
    assert later["甲"]["retired"] and later["丙"]["retired"] and later["甲"]["col"] == "c1"
    assert later["乙"]["encrypted"] and later["乙"]["col"] is None  # stored encrypted stays encrypted
    assert (later["丁"]["col"], later["丁"]["mask"], later["丁"]["type"]) == ("c4", "m4", "numeric")
    assert first["甲"]["retired"] is False  # pure
