"""aggregation.storage.rotating, with the writers writing the resource tables only (AGGREGATION["WRITE_RECORDS"] off):
key rotation re-seals every row's one token, recomputes its blind index and row digest and re-seals the dataset's
history rows (the writer's form and the old records' form) in place; a remask rewrites the masked columns.
aggregation_record is never touched."""

from __future__ import annotations

import io
import json

import polars as pl
import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from aggregation.ingest.encryption import row_digest
from aggregation.models import Record, RecordHistory, VerificationCase
from aggregation.services import pools as services
from aggregation.storage import reading, rotating, writing
from aggregation.storage.layout import Layout
from security import crypto
from security.masking import mask
from tests.aggregation.builders import PEOPLE_ITEMS, ids, person
from tests.security.test_crypto import KEY_A, KEY_B

pytestmark = pytest.mark.django_db

BLIND_B = "FdrsnhMcmKhEwoHQDDyIFPF0NlUjnNlncMmPQxjbzDU"


def people(number: str, **values) -> dict[str, str]:
    return dict(zip([i[0] for i in PEOPLE_ITEMS], person(number, **values), strict=True))


def write(dataset, rows: list[dict[str, str]]):
    """Rows written into the dataset's table by the writer itself (storage.writing): an insert writes no history row,
    an update one in the writer's form."""
    target = Layout.stored(dataset).target(dataset.key_item_name)
    frame = pl.DataFrame({"row_no": list(range(1, len(rows) + 1)),
                          **{c.item: [r.get(c.item, "") for r in rows] for c in target.columns}},
                         schema={"row_no": pl.Int64, **{c.item: pl.Utf8 for c in target.columns}})
    return writing.write_batch(target, frame, cipher=writing.cipher(), reason="测试")


def stored_hashes(dataset) -> dict[int, tuple[bytes, bytes]]:
    with connection.cursor() as cur:
        cur.execute(f"SELECT id, key_hash, row_hash FROM pool.r{int(dataset.pk)}")  # noqa: S608 (an int)
        return {rid: (bytes(k), bytes(r)) for rid, k, r in cur.fetchall()}


def plain_rows(dataset) -> dict[int, dict[str, str]]:
    """{row id: every current value in plain text} (deleted rows too); a token that does not open fails."""
    rows = reading.rows(dataset, include_deleted=True)
    secrets = reading.decrypted(rows, crypto.cipher())
    assert all(s is not None for s in secrets), "a token does not open"
    return {r.id: {**r.values, **s} for r, s in zip(rows, secrets, strict=True)}


def assert_digests_verify(dataset) -> None:
    """Every row's key_hash is the blind index of its plain key and its row_hash the keyed digest of its current items'
    plain values (the writer's definition), under the current keys."""
    cipher = crypto.cipher()
    layout = Layout.stored(dataset)
    live = set(layout.live)
    hashes = stored_hashes(dataset)
    plain = plain_rows(dataset)
    assert plain and set(plain) == set(hashes)
    for rid, values in plain.items():
        key_hash, row_hash = hashes[rid]
        assert key_hash == cipher.blind_index(values[dataset.key_item_name]), rid
        assert row_hash == row_digest(cipher, {k: v for k, v in values.items() if k in live and v}), rid


def history_tokens(dataset) -> list[str]:
    out = []
    for h in RecordHistory.objects.filter(dataset=dataset):
        for side in (h.before, h.after):
            out += [v for v in (side or {}).values() if crypto.is_encrypted(v)]
    return out


def history_plain(dataset) -> dict[int, tuple[dict | None, dict | None]]:
    """{history id: (before, after) as clear {item: value}}: the writer's form opens its one token, the records' form
    each per-item token."""
    cipher = crypto.cipher()

    def clear(side):
        if side is None:
            return None
        out = {}
        for k, v in side.items():
            if k == "token":
                out.update(json.loads(cipher.decrypt(v)))
            else:
                out[k] = cipher.decrypt(v) if crypto.is_encrypted(v) else v
        return out

    return {h.pk: (clear(h.before), clear(h.after)) for h in RecordHistory.objects.filter(dataset=dataset)}


@pytest.fixture
def table(people_entry):
    """The people dataset's table: five rows written by the writer, one of them updated since (a writer's-form history
    row), one soft-deleted, and an old records-form history row (per-item tokens) from before the contract step."""
    dataset = services.dataset_ensure(entry=people_entry)
    numbers = ids(5)
    write(dataset, [people(n, name=f"张{i}明") for i, n in enumerate(numbers)])
    assert write(dataset, [people(numbers[0], name="李四")]).updated == 1
    first, second, last = (reading.by_key(dataset, numbers[i]).id for i in (0, 1, 4))
    with connection.cursor() as cur:
        cur.execute(f"UPDATE pool.r{int(dataset.pk)} SET deleted_at = now() WHERE id = %s", [last])  # noqa: S608
    RecordHistory.objects.create(
        record_id=second, dataset=dataset, op="update", reason="旧记录",
        before={"公民身份号码": crypto.encrypt(numbers[1]), "姓名": crypto.encrypt("张一"), "性别": "男"},
        after={"公民身份号码": crypto.encrypt(numbers[1]), "姓名": crypto.encrypt("张1明"), "性别": "男"})
    return {"dataset": dataset, "numbers": numbers, "first": first}


@pytest.mark.tables_only
def test_a_key_rotation_reseals_the_rows_and_their_history_in_place(table, settings, audit_log):
    dataset, numbers = table["dataset"], table["numbers"]
    values, history = plain_rows(dataset), history_plain(dataset)
    assert len(values) == 5 and len(history) == 2
    assert all(t.startswith("test1:") for t in history_tokens(dataset))
    settings.FIELD_ENCRYPTION_KEYS = f"{KEY_B},{KEY_A}"

    dry = services.records_rotate(cipher=crypto.cipher(), batch=2, recompute_blind_index=False, dry_run=True)
    assert dry == {"records": 5, "history": 2}
    assert all(r.token.startswith("test1:") for r in reading.rows(dataset, include_deleted=True))  # nothing written

    call_command("rotate_field_keys", "--batch", "2", stdout=io.StringIO())
    settings.FIELD_ENCRYPTION_KEYS = KEY_B  # the old key is gone
    rows = reading.rows(dataset, include_deleted=True)
    assert len(rows) == 5 and all(r.token.startswith("test2:") for r in rows)
    assert plain_rows(dataset) == values  # every token opens, to the same values
    assert all(t.startswith("test2:") for t in history_tokens(dataset))
    assert history_plain(dataset) == history  # every history row opens, to the same values
    for number in numbers:
        assert reading.by_key(dataset, number, include_deleted=True) is not None
    assert_digests_verify(dataset)
    # The current version and its last history row stay byte-identical (the integrity check compares them).
    [updated] = RecordHistory.objects.filter(record_id=table["first"])
    assert updated.after == reading.history_form(reading.get(dataset, table["first"]))
    assert updated.before["token"].startswith("test2:") and updated.before["token"] != updated.after["token"]

    batches = [e.data for e in audit_log("security.keys.rotated_batch")]
    assert [b["count"] for b in batches if b["table"] == f"pool.r{dataset.pk}"] == [2, 2, 1]
    assert sum(b["count"] for b in batches if b["table"] == "aggregation_recordhistory") == 2
    summary = audit_log("security.field_keys.rotated")[-1].data
    assert (summary["records"], summary["history"]) == (5, 2)
    assert summary["aggregation.records"] == {"records": 5, "history": 2}
    # Again: nothing left (an interrupted run is resumed the same way).
    settings.FIELD_ENCRYPTION_KEYS = f"{KEY_B},{KEY_A}"
    assert services.records_rotate(cipher=crypto.cipher(), batch=2, recompute_blind_index=False,
                                   dry_run=False) == {"records": 0, "history": 0}
    assert not Record.objects.exists()  # the records path was never written


@pytest.mark.tables_only
def test_a_blind_index_rotation_recomputes_key_hashes_digests_and_case_indexes(table, settings, other_dept,
                                                                               other_staff):
    dataset, numbers = table["dataset"], table["numbers"]
    row = reading.by_key(dataset, numbers[2])
    case = VerificationCase.objects.create(
        record_id=row.id, dataset=dataset, provider=dataset.entry.provider, requester=other_dept,
        key_hash=row.key_hash, fields=["性别"], description="有疑义", received_on=timezone.localdate(),
        created_by=other_staff)
    old = settings.BLIND_INDEX_KEY
    settings.BLIND_INDEX_KEY = BLIND_B
    assert reading.by_key(dataset, numbers[2]) is None  # lookups miss until the rotation ran
    out = io.StringIO()
    call_command("rotate_field_keys", "--blind-index-from", old, stdout=out)
    assert "aggregation.records: 5 records, 0 history rows" in out.getvalue()  # every row; no token was stale
    assert "1 verification case indexes" in out.getvalue()
    for number in numbers:
        assert reading.by_key(dataset, number, include_deleted=True) is not None
    assert_digests_verify(dataset)
    case.refresh_from_db()
    assert bytes(case.key_hash) == crypto.blind_index(numbers[2])


@pytest.mark.tables_only
def test_a_catalog_change_of_a_kind_remasks_the_tables_column(people_entry, audit_log):
    from catalog.models import DataItem

    dataset = services.dataset_ensure(entry=people_entry)
    numbers = ids(3, start=40)
    write(dataset, [people(n, 联系电话=f"1380000{i:04d}") for i, n in enumerate(numbers)])
    before = {r.id: r.masked["联系电话"] for r in reading.rows(dataset)}
    assert set(before.values()) == {mask(f"1380000{i:04d}", "phone") for i in range(3)}
    # 联系电话 is declared non-personal: still stored encrypted → masked as "generic".
    DataItem.objects.filter(entry=people_entry, name="联系电话").update(sensitivity="public", derived_from="")
    services.datasets_sync()
    dataset.refresh_from_db()
    assert dataset.mask_kinds["联系电话"] == "generic"
    layout = Layout.stored(dataset)
    assert layout.columns["联系电话"]["mask_kind"] == "generic"
    rows = reading.rows(dataset)
    secrets = reading.decrypted(rows, crypto.cipher())
    for row, secret in zip(rows, secrets, strict=True):
        assert row.masked["联系电话"] == mask(secret["联系电话"], "generic") == "1*********" + secret["联系电话"][-1]
        assert row.masked["联系电话"] != before[row.id]
    event = audit_log("aggregation.dataset.remasked")[-1]
    assert event.data["rows"] == 3 and event.data["previous"]["联系电话"] == "phone"
    services.datasets_sync()
    assert len(audit_log("aggregation.dataset.remasked")) == 1
    assert not Record.objects.exists()


@pytest.mark.tables_only
def test_a_remask_rewrites_the_masked_forms_of_every_row(table):
    dataset = table["dataset"]
    layout = Layout.stored(dataset)
    masks = [(item, m, kind) for item, m, kind in layout.masked(retired=False) if kind]
    assert {item for item, _m, _k in masks} >= {"公民身份号码", "姓名", "户籍地址", "联系电话"}
    expected = {r.id: r.masked for r in reading.rows(dataset, include_deleted=True)}
    assert len(expected) == 5 and all(expected.values())
    with connection.cursor() as cur:  # forms lost (or of another kind): every row's
        cur.execute(f"UPDATE pool.r{int(dataset.pk)} SET {', '.join(f'{m} = NULL' for _i, m, _k in masks)}")  # noqa: S608
    assert all(not r.masked for r in reading.rows(dataset, include_deleted=True))
    assert rotating.table_remask(dataset, batch=2) == 5
    rows = reading.rows(dataset, include_deleted=True)
    assert {r.id: r.masked for r in rows} == expected
    plain = plain_rows(dataset)
    for row in rows:
        for item, _m, kind in masks:
            value = plain[row.id].get(item)
            assert row.masked.get(item) == (mask(value, kind) if value else None)
    assert rotating.table_remask(dataset) == 0


@pytest.mark.tables_only
def test_a_datasets_rotation_is_all_or_nothing_and_a_rerun_finishes_it(table, settings):
    dataset = table["dataset"]
    settings.FIELD_ENCRYPTION_KEYS = f"{KEY_B},{KEY_A}"
    seen = []

    def dies_on_the_second_batch(table_name, columns, count):
        seen.append((table_name, columns, count))
        if len(seen) == 2:
            raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError):
        services.records_rotate(cipher=crypto.cipher(), batch=2, recompute_blind_index=False, dry_run=False,
                                on_batch=dies_on_the_second_batch)
    assert seen[0] == (f"pool.r{dataset.pk}", "token, key_hash, row_hash", 2)
    # One transaction per dataset: its first batch was rolled back with the rest.
    assert all(r.token.startswith("test1:") for r in reading.rows(dataset, include_deleted=True))
    assert all(t.startswith("test1:") for t in history_tokens(dataset))
    assert services.records_rotate(cipher=crypto.cipher(), batch=2, recompute_blind_index=False,
                                   dry_run=False) == {"records": 5, "history": 2}
    settings.FIELD_ENCRYPTION_KEYS = KEY_B
    assert_digests_verify(dataset)
    assert len(history_plain(dataset)) == 2


@pytest.mark.tables_only
def test_no_remask_before_the_tables_layout_follows_the_catalog(people_entry, audit_log):
    from catalog.models import DataItem

    dataset = services.dataset_ensure(entry=people_entry)
    write(dataset, [people(n) for n in ids(3, start=50)])
    DataItem.objects.filter(entry=people_entry, name="联系电话").update(sensitivity="public", derived_from="")
    # The table still has the phone-kind column (no catalog hook ran): nothing remasked, the kinds kept for next time.
    assert services.masked_forms_sync(dataset) == 0
    dataset.refresh_from_db()
    assert dataset.mask_kinds["联系电话"] == "phone" and not audit_log("aggregation.dataset.remasked")
    services.tables_sync(dataset)
    dataset.refresh_from_db()
    assert services.masked_forms_sync(dataset) == 3
    assert {r.masked["联系电话"] for r in reading.rows(dataset)} == {mask("13812345678", "generic")}
