"""The mirror (issue 18's switch in steps): every writer of aggregation_record copies what it wrote into the dataset's
resource table in the same transaction (storage.moving.mirror), so the readers can move onto storage.reading one by
one. Every test of the suite checks ids, key digests, versions and times after it ran (tests/conftest.py); here the
values themselves are compared, row by row, after each kind of write (storage.moving.dataset_verify)."""

import io

import pytest
from django.core.management import call_command
from django.db import transaction

from aggregation.models import Dataset, Record
from aggregation.services import verification as v
from aggregation.services.pools import record_delete, records_upsert
from aggregation.storage import reading
from aggregation.storage.moving import dataset_verify
from catalog.services.update_cases import update_case_approve
from tests.aggregation.builders import PEOPLE_ITEMS, csv_bytes, ids, load, person, submit
from tests.aggregation.test_storage_tables import current_items, submitted_update
from tests.aggregation.test_storage_tables import dataset as community_dataset
from tests.aggregation.test_storage_tables import person as member
from tests.security.test_crypto import KEY_A, KEY_B

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def records_written(settings):
    """What this file tests is the records' path (the records mirrored into the tables), which lives until the contract
    step deletes it: its writers write aggregation_record here whatever the run's AGGREGATION_WRITE_RECORDS."""
    settings.AGGREGATION = {**settings.AGGREGATION, "WRITE_RECORDS": True}


@pytest.fixture
def community(dept):
    return community_dataset.__wrapped__(dept)


def clean(dataset) -> None:
    check = dataset_verify(dataset)
    assert check.clean, check.differences


def test_every_writer_leaves_the_table_equal_to_the_records(people_entry, staff, other_staff):
    numbers = ids(4)
    job = submit(staff, people_entry, csv_bytes([person(n, name=f"王{i}明") for i, n in enumerate(numbers)]))
    dataset = Dataset.objects.get(entry=people_entry)
    assert job.inserted_rows == 4 and reading.count(dataset) == 4
    clean(dataset)
    again = [person(n, name=f"王{i}明") for i, n in enumerate(numbers)]
    again[0] = person(numbers[0], name="李四")
    assert submit(staff, people_entry, csv_bytes(again)).updated_rows == 1  # a reload: one row changed
    clean(dataset)
    assert reading.rendered(reading.Layout.stored(dataset), [reading.by_key(dataset, numbers[0])],
                            ["姓名"]) == [{"姓名": "李四"}]
    pushed = dict(zip([i[0] for i in PEOPLE_ITEMS], person(ids(5)[4], name="赵六"), strict=True))
    with transaction.atomic():
        assert records_upsert(actor=staff, dataset=dataset, rows=[pushed], reason="接口推送").inserted == 1
    clean(dataset)
    record_delete(actor=staff, dataset=dataset, key=numbers[1], reason="迁出")
    clean(dataset)
    assert reading.by_key(dataset, numbers[1]) is None and reading.count(dataset) == 4
    disputed = reading.by_key(dataset, numbers[2])
    case = v.verification_case_file(actor=other_staff, record_id=disputed.id, dataset_id=dataset.pk,
                                    fields=["姓名"], description="姓名有误")
    v.verification_case_correct(actor=staff, case_id=case.pk, values={"姓名": "王二明"}, explanation="已更正")
    clean(dataset)
    row = reading.by_key(dataset, numbers[2], flagged=True)
    assert reading.rendered(reading.Layout.stored(dataset), [row], ["姓名"]) == [{"姓名": "王二明"}]


def test_a_value_stored_before_a_retype_is_converted_as_the_table_was(community, staff, reviewer):
    numbers = ids(3)
    load(community, [member(numbers[0], 登记日期="2023年5月6日"), member(numbers[1], 登记日期="2024/1/31"),
                     member(numbers[2], 登记日期="不详")])
    record_delete(actor=staff, dataset=community, key=numbers[2], reason="迁出")
    case = submitted_update(staff, community.entry, current_items(community.entry,
                                                                  登记日期={"data_type": "D", "length": 8}))
    update_case_approve(actor=reviewer, case_id=case.pk)
    community.refresh_from_db()
    # the records keep "2023年5月6日"; a write that mirrors every row again converts it, as the migration did
    with transaction.atomic():
        records_upsert(actor=staff, dataset=community, rows=[member(numbers[1], 登记日期="2024-02-01")], reason="更正")
        from aggregation.storage.moving import mirror

        assert mirror(community.pk) == 3
    rows = {r.id: r for r in reading.rows(community, include_deleted=True)}
    first = reading.by_key(community, numbers[0])
    assert first.values["登记日期"] == "2023-05-06"
    assert reading.by_key(community, numbers[1]).values["登记日期"] == "2024-02-01"
    assert [r.values.get("登记日期") for r in rows.values() if r.deleted_at] == [None]  # a deleted unfit value: emptied


def test_a_key_rotation_reseals_the_tables(settings, people_entry, staff):
    numbers = ids(2)
    submit(staff, people_entry, csv_bytes([person(n) for n in numbers]))
    dataset = Dataset.objects.get(entry=people_entry)
    settings.FIELD_ENCRYPTION_KEYS = f"{KEY_B},{KEY_A}"
    call_command("rotate_field_keys", "--batch", "1", stdout=io.StringIO())
    settings.FIELD_ENCRYPTION_KEYS = KEY_B  # the old key is gone: the table still reads
    assert all(r.token.startswith("test2:") for r in reading.rows(dataset))
    assert reading.by_key(dataset, numbers[0]) is not None
    if settings.AGGREGATION["WRITE_RECORDS"]:
        clean(dataset)
    else:  # the records are not rotated (nor written) without the records path: the table re-sealed in place
        from tests.aggregation.test_storage_rotating import assert_digests_verify

        assert_digests_verify(dataset)


def test_a_renamed_item_is_renamed_in_the_records_too(community, staff, reviewer):
    """The table's migration renames the column's item; the records' JSON follows in the same transaction, so a
    later write still mirrors (an item the layout does not know would refuse it)."""
    numbers = ids(2)
    load(community, [member(numbers[0], Grade等级="B"), member(numbers[1], Grade等级="C")])
    case = submitted_update(staff, community.entry, current_items(community.entry, Grade等级={"name": "GRADE等级"}))
    update_case_approve(actor=reviewer, case_id=case.pk)
    community.refresh_from_db()
    assert all("GRADE等级" in r.data and "Grade等级" not in r.data for r in Record.objects.filter(dataset=community))
    with transaction.atomic():
        from aggregation.storage.moving import mirror

        assert mirror(community.pk) == 2
    assert reading.by_key(community, numbers[0]).values["GRADE等级"] == "B"
    clean(community)

