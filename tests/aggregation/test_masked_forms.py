"""Record.masked: the masked form of each personal value, written with the row by every writer (file load, push),
equal to masking the decrypted value, and recomputed by `ingest.remask` (migration 0006, catalog changes)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from aggregation.access import decrypt, mask_kinds
from aggregation.ingest.encryption import remask
from aggregation.ingest.planning import mask_kinds_of, plan_for
from aggregation.models import Dataset, Record
from aggregation.services import pools as services
from aggregation.storage import reading
from security import crypto
from security.masking import mask
from tests.aggregation.builders import FIRM_ITEMS, codes, csv_bytes, ids, make_entry, person, report_rows, submit

pytestmark = pytest.mark.django_db

# PEOPLE_ITEMS: the key (an ID number), 姓名 (name), 户籍地址 (address) and 联系电话 (phone) are personal.
# 出生日期 and 性别 derive from 公民身份号码 (their declaration): masked as "generic" (R28.3).
PEOPLE_KINDS = {"公民身份号码": "id_number", "姓名": "name", "户籍地址": "address", "联系电话": "phone",
                "出生日期": "generic", "性别": "generic"}


def record_values(record: Record, *, decrypt: bool = True) -> dict:
    """A record's values in plain text (Record.data: a token per personal item): what its stored masked forms
    (Record.masked) are checked against."""
    return {k: _plain(v) for k, v in record.data.items()}


_plain = decrypt


def expected_forms(record: Record, kinds: dict[str, str]) -> dict:
    plain = record_values(record, decrypt=True)
    out: dict[str, dict[str, str]] = {}
    for name, kind in kinds.items():
        if plain.get(name):
            out.setdefault(kind, {})[name] = mask(plain[name], kind)
    return out


def table_rows(dataset) -> dict[str, tuple[reading.Row, dict[str, str]]]:
    """{subject key: (row of the resource table, its values in plain text)} — with records or without (the table's
    masked columns are the forms a reader is shown)."""
    rows = reading.rows(dataset)
    secrets = reading.decrypted(rows, crypto.cipher())
    out = {}
    for row, secret in zip(rows, secrets, strict=True):
        plain = {**row.values, **(secret or {})}
        out[plain[dataset.key_item_name]] = (row, plain)
    return out


def table_forms(plain: dict[str, str], kinds: dict[str, str]) -> dict[str, str]:
    """The masked columns a row should hold: {item: mask(value, kind)} of its non-empty values."""
    return {name: mask(plain[name], kind) for name, kind in kinds.items() if plain.get(name)}


def test_a_file_load_stores_each_personal_values_masked_form(staff, people_entry):
    numbers = ids(4)
    rows = [
        person(numbers[0]),
        person(numbers[1], "欧阳娜娜", 联系电话="0391-3568888"),  # a landline: not the 11-digit fast path
        person(numbers[2], '"王\\', 户籍地址=""),  # a quote and a backslash kept by the mask; no address
        person(numbers[3], "李四", 户籍地址="解放路\t8号"),
    ]
    job = submit(staff, people_entry, csv_bytes(rows))
    assert job.status == "succeeded", job.error
    plan = plan_for(people_entry.dataset)
    assert mask_kinds_of(plan.items) == PEOPLE_KINDS
    if settings.AGGREGATION["WRITE_RECORDS"]:
        for record in Record.objects.filter(dataset__entry=people_entry):
            assert record.masked == expected_forms(record, PEOPLE_KINDS)
    rows = table_rows(people_entry.dataset)
    assert len(rows) == 4
    for row, plain in rows.values():
        assert row.masked == table_forms(plain, PEOPLE_KINDS)
    first = {k: v for k, v in rows[numbers[0]][0].masked.items() if k not in ("出生日期", "性别")}
    assert first == {"公民身份号码": numbers[0][:6] + "********" + numbers[0][-4:], "姓名": "张*",
                     "户籍地址": "河南省焦作市解放区******", "联系电话": "138****5678"}
    third = rows[numbers[2]][0].masked
    assert third["姓名"] == '"*\\' and "户籍地址" not in third
    assert rows[numbers[1]][0].masked["联系电话"] == mask("0391-3568888", "phone")
    assert "姓名" not in rows[numbers[0]][0].values  # the value itself stays encrypted (in the row's token)


def test_a_push_and_an_update_write_the_masked_forms_too(staff, people_entry):
    number = ids(1, start=9)[0]
    submit(staff, people_entry, csv_bytes([person(number)]))
    dataset = people_entry.dataset
    result = services.records_upsert(actor=staff, dataset=dataset, rows=[
        {"公民身份号码": number, "姓名": "张小三", "性别": "男", "联系电话": "13900001111"},
        {"公民身份号码": ids(1, start=10)[0], "姓名": "赵六"},
    ])
    assert (result.inserted, result.updated) == (1, 1)
    for record in Record.objects.filter(dataset=dataset):
        assert record.masked == expected_forms(record, PEOPLE_KINDS)
    updated = Record.objects.get(dataset=dataset, version=2)
    assert updated.masked["name"] == {"姓名": "张*三"} and updated.masked["phone"] == {"联系电话": "139****1111"}
    # The push left the address out: the subject keeps its stored address, and its stored masked form with it.
    assert updated.masked["address"] == {"户籍地址": "河南省焦作市解放区******"}
    services.records_upsert(actor=staff, dataset=dataset, rows=[{"公民身份号码": number, "户籍地址": ""}])
    emptied = Record.objects.get(dataset=dataset, version=3)
    assert "address" not in emptied.masked and emptied.masked == expected_forms(emptied, PEOPLE_KINDS)


def test_a_credit_code_key_is_stored_as_it_is_shown(staff, firm_entry, other_staff):
    code = codes(1)[0]
    header = [i[0] for i in FIRM_ITEMS]
    job = submit(other_staff, firm_entry, csv_bytes([[code, "焦作某某有限公司", "100", "2020-01-01", "焦作市"]],
                                                    header=header))
    assert job.status == "succeeded", job.error
    # A credit code is public registration data, shown as it is (cn-standards §4.2); 住所 is masked as an address.
    if settings.AGGREGATION["WRITE_RECORDS"]:
        record = Record.objects.get(dataset__entry=firm_entry)
        assert record.masked == {"credit_code": {"统一社会信用代码": code}, "address": {"住所": "焦作市*"}}
    [(row, _plain)] = table_rows(firm_entry.dataset).values()
    assert row.masked == {"统一社会信用代码": code, "住所": "焦作市*"}
    assert "统一社会信用代码" not in row.values  # the key itself stays encrypted (in the row's token)


def test_remask_recomputes_missing_and_stale_forms_and_leaves_correct_ones(staff, people_entry, settings):
    # ingest.encryption.remask is the records path's (Record.masked): with records written, whatever the run's mode.
    settings.AGGREGATION = {**settings.AGGREGATION, "WRITE_RECORDS": True}
    numbers = ids(3, start=20)
    submit(staff, people_entry, csv_bytes([person(n) for n in numbers]))
    dataset = people_entry.dataset
    records = list(Record.objects.filter(dataset=dataset).order_by("id"))
    Record.objects.filter(pk=records[0].pk).update(masked={})  # stored before migration 0006
    Record.objects.filter(pk=records[1].pk).update(masked={"generic": {"姓名": "张*"}})  # an older kind
    kinds = mask_kinds_of(plan_for(dataset).items)
    assert remask(dataset.pk, kinds, batch=2) == 2
    for record in Record.objects.filter(dataset=dataset):
        assert record.masked == expected_forms(record, PEOPLE_KINDS)
    assert remask(dataset.pk, kinds) == 0


def test_the_row_digest_and_reload_ignore_the_masked_forms(staff, people_entry):
    """Reloading the same file changes nothing (the masked forms are not part of what is compared)."""
    content = csv_bytes([person(n) for n in ids(3, start=30)])
    submit(staff, people_entry, content)
    def stored():
        rows = {r.id: (r.version, r.masked) for r in reading.rows(people_entry.dataset)}
        if settings.AGGREGATION["WRITE_RECORDS"]:
            rows["records"] = {r.pk: (r.version, r.masked) for r in Record.objects.filter(dataset__entry=people_entry)}
        return rows

    before = stored()
    assert len(before) >= 3
    job = submit(staff, people_entry, content)
    assert (job.inserted_rows, job.updated_rows) == (0, 0)
    assert stored() == before


def test_a_catalog_change_of_an_items_kind_is_followed_by_the_stored_forms(staff, people_entry, audit_log):
    """Datasets record the kinds their stored forms follow; when a catalog update changes an item's kind, the beat
    job (datasets_sync → masked_forms_sync) recomputes the forms, once, and audits it."""
    from catalog.models import DataItem

    submit(staff, people_entry, csv_bytes([person(n) for n in ids(3, start=40)]))
    dataset = people_entry.dataset
    assert dataset.mask_kinds == PEOPLE_KINDS  # set when the dataset was created
    assert services.masked_forms_sync(dataset) == 0 and not audit_log("aggregation.dataset.remasked")

    # 联系电话 is declared non-personal: still stored encrypted → masked as "generic".
    DataItem.objects.filter(entry=people_entry, name="联系电话").update(sensitivity="public", derived_from="")
    services.datasets_sync()
    dataset.refresh_from_db()
    kinds = {**PEOPLE_KINDS, "联系电话": "generic"}
    assert dataset.mask_kinds == kinds
    if settings.AGGREGATION["WRITE_RECORDS"]:
        for record in Record.objects.filter(dataset=dataset):
            assert record.masked == expected_forms(record, kinds)
            assert record.masked["generic"]["联系电话"] == "1*********8"
    else:  # the resource table's masked column, migrated to the new kind and remasked in place, in every row
        rows = reading.rows(dataset)
        assert len(rows) == 3
        for row, secret in zip(rows, reading.decrypted(rows, crypto.cipher()), strict=True):
            assert row.masked["联系电话"] == mask(secret["联系电话"], "generic") == "1*********8"
    event = audit_log("aggregation.dataset.remasked")[-1]
    assert event.data["rows"] == 3 and event.data["previous"]["联系电话"] == "phone"
    services.datasets_sync()
    assert len(audit_log("aggregation.dataset.remasked")) == 1


def test_the_rejected_rows_report_the_dataset_page_and_the_api_mask_an_item_alike(dept, staff, reviewer, web_as,
                                                                                  api_as):
    """One kind per item (aggregation.access.mask_kind), whoever shows it. Where they differed: a subject key of
    kind "other" (the API showed it plain, the stored form was generic); an item stored encrypted but not personal
    by name (the dataset page masked it, the report and the record page did not); an item personal by name but of
    a numeric type, so not encrypted (the report masked it as a phone number, the pages did not)."""
    items = [("证照编号", "C", 12, True, True), ("档案编号", "C", 6, False, False), ("联系电话", "N", 11, False, False)]
    entry = make_entry(dept, "电子证照信息", items, cls="105")
    dataset = services.dataset_ensure(entry=entry)
    Dataset.objects.filter(pk=dataset.pk).update(encrypted_items=[*dataset.encrypted_items, "档案编号"])
    good = ["JZ-2026-0001", "DA0001", "13812345678"]
    bad = {"证照编号": ["JZ-2026-0001-X", "DA0002", "13812345679"],  # each too long in one item
           "档案编号": ["JZ-2026-0002", "DA00003", "13812345670"],
           "联系电话": ["JZ-2026-0003", "DA0004", "138123456789"]}
    job = submit(staff, entry, csv_bytes([good, *bad.values()], header=[i[0] for i in items]), mode="load_valid")
    assert job.status == "succeeded", job.log
    reported = {r[1]: r[2] for r in report_rows(job, full=False)[1:]}  # as a reader without "load" sees it
    assert set(reported) == set(bad)
    dataset.refresh_from_db()
    kinds = mask_kinds(dataset, [(name, data_type) for name, data_type, *_rest in items])
    assert kinds == {"证照编号": "generic", "档案编号": "generic", "联系电话": None}
    [record] = reading.rows(dataset)
    answer = api_as(reviewer).get(reverse("aggregation-record", args=[dataset.pk, record.id])).json()
    page = web_as(reviewer).get(reverse("aggregation:dataset-detail", args=[dataset.pk])).content.decode()
    for position, (name, *_rest) in enumerate(items):
        kind = kinds[name]
        shown = mask(good[position], kind) if kind else good[position]
        assert reported[name] == (mask(bad[name][position], kind) if kind else bad[name][position])
        assert answer["values"][name] == shown and shown in page
    assert answer["key"] == mask(good[0], "generic")
