"""Fast paths of the ingestion pipeline give the same answers as the plain ones (issue 4 performance work)."""

import datetime as dt
import io
import random

import pytest
from django.db import connection
from django.urls import reverse

from aggregation.ingest.validation import HALF_WIDTH, converter, memoised
from aggregation.models import Record, RecordHistory
from aggregation.selectors.pools import history_rows, record_get, record_integrity
from aggregation.storage import tables_written
from portal.validators import id_number_problem
from tests.aggregation.builders import csv_bytes, ids, person, submit
from tests.support import stored_row


def _variants(number: str) -> list[str]:
    first17, check = number[:17], number[17]
    wrong = "0" if check != "0" else "1"
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    return [
        number, number.lower(), first17 + wrong, first17, number + "1", "0" + number[1:], "99" + number[2:],
        number[:6] + "17" + number[8:], number[:6] + "21" + number[8:], number[:10] + "13" + number[12:],
        number[:10] + "0230" + number[14:], number[:10] + "0229" + number[14:], number[:6] + "20000229" + number[14:],
        number[:6] + "19000229" + number[14:], number[:6] + tomorrow.strftime("%Y%m%d") + number[14:],
        number[:6] + dt.date.today().strftime("%Y%m%d") + number[14:], number[:5] + "\u0661" + number[6:],
        number[:16] + "A" + check, first17 + "X", number[:4] + " " + number[5:],
    ]


def test_fast_id_number_check_agrees_with_portal_validators():
    check = converter("C", 18, key_kind="id_number")
    rng = random.Random(5)
    numbers = ids(300)
    # Numbers with a valid check digit for every tail, including X, and dates that need the validator's rules.
    for n in list(numbers[:50]):
        for day in ("20000229", "19000228", dt.date.today().strftime("%Y%m%d")):
            first17 = n[:6] + day + n[14:17]
            checksum = (1 - 2 * int(first17, 13)) % 11
            numbers.append(first17 + ("X" if checksum == 10 else str(checksum)))
    numbers += ["".join(rng.choice("0123456789X") for _ in range(18)) for _ in range(2000)]
    checked = 0
    for number in numbers:
        for value in _variants(number):
            expected = (value.upper(), id_number_problem(value.upper()))
            assert check(value) == expected, value
            checked += 1
    assert checked > 40_000


def test_memoised_converter_is_the_converter():
    date = converter("D", 8)
    memo = memoised(date, limit=3)
    for text in ["2024-01-31", "2024/1/31", "2024-02-30", "x", "20240131", "2024-01-31", "2024年1月31日"] * 3:
        assert memo(text) == date(text)


@pytest.mark.parametrize("block", [1, 2, 7, 64, 1 << 20])
def test_block_reader_gives_the_lines_of_the_stream(block):
    from aggregation.ingest.readers import _half_width_lines

    text = ("a,b\r\n\"x\r\ny\",２０２４\n\n\rc,ｄ\u3000\r\r\n\"q\"\"\",1\ne,\u2028f\x1eg\nlast" * 3)
    expected = [line.translate(HALF_WIDTH) for line in io.StringIO(text, newline="")]
    assert list(_half_width_lines(io.StringIO(text, newline=""), block=block)) == expected
    mac = "a,b\rc,ｄ\r\"x\ry\",1\r" * 5  # bare CR line ends: cut at CRs, memory stays one block
    expected = [line.translate(HALF_WIDTH) for line in io.StringIO(mac, newline="")]
    assert list(_half_width_lines(io.StringIO(mac, newline=""), block=block)) == expected


@pytest.mark.django_db
@pytest.mark.records_tampered
def test_bulk_insert_history_references_the_inserted_version(staff, people_entry, web_as):
    a, b = ids(2)
    job = submit(staff, people_entry, csv_bytes([person(a, "张三"), person(b, "李四")]))
    assert job.status == "succeeded" and job.inserted_rows == 2, job.log
    if tables_written():
        _tables_insert_history(staff, people_entry, web_as, job, a, b)
        return
    record = Record.objects.get(pk=record_get(dataset=job.dataset, key=a).id)  # (history: the record's JSON form)
    inserted_version = record.data
    (insert,) = RecordHistory.objects.filter(record=record)
    assert (insert.op, insert.before, insert.after, insert.actor, insert.job) == ("insert", None, None, staff, job)
    assert history_rows(record.pk, [insert])[0][2] == record.data
    assert record_integrity(dataset=job.dataset).ok

    job2 = submit(staff, people_entry, csv_bytes([person(a, "张三丰"), person(b, "李四")]))
    assert (job2.inserted_rows, job2.updated_rows, job2.unchanged_rows) == (0, 1, 1), job2.log
    record.refresh_from_db()
    insert, update = RecordHistory.objects.filter(record=record).order_by("id")
    assert update.op == "update" and update.before == inserted_version and update.after == record.data
    assert [after for _h, _b, after in history_rows(record.pk, [update, insert])] == [inserted_version, record.data]
    assert record_integrity(dataset=job.dataset).ok

    page = web_as(staff).get(reverse("aggregation:record-detail", args=[job.dataset.pk, record.pk]))
    assert page.status_code == 200
    shown = page.context["history"]
    assert [row["h"].op for row in shown] == ["update", "insert"]
    assert "姓名" in shown[0]["items"] and "性别" not in shown[0]["items"]  # (tokens differ on every load)
    assert set(shown[1]["items"]) == set(inserted_version)  # the insert shows every item it set

    other = record_get(dataset=job.dataset, key=b)
    other = Record.objects.get(pk=other.id)
    with connection.cursor() as cur:  # by hand, around the application: an insert-only record changed
        cur.execute("UPDATE aggregation_record SET data = jsonb_set(data, '{性别}', '\"女\"') WHERE id = %s",
                    [other.pk])
    report = record_integrity(dataset=job.dataset)
    assert report.digest_mismatch == [other.pk] and report.history_mismatch == [other.pk]
    with connection.cursor() as cur:  # a whole row (data and digest) copied from another record
        cur.execute("UPDATE aggregation_record r SET data = s.data, row_hash = s.row_hash "
                    "FROM aggregation_record s WHERE r.id = %s AND s.id = %s", [other.pk, record.pk])
    report = record_integrity(dataset=job.dataset)
    assert other.pk in report.digest_mismatch


def _tables_insert_history(staff, people_entry, web_as, job, a, b):
    """The same once the tables are written (issue 18): a load's insert writes no history row — the row's job (and
    its file's SHA-256) proves it —, an update writes one whose before is the inserted row in the writer's form."""
    from aggregation.storage import reading
    from tests.sharing.helpers import tamper_rows

    row = stored_row(job.dataset, a)
    assert row.job_id == job.pk and not RecordHistory.objects.filter(record_id=row.id).exists()
    inserted_version = reading.history_form(row)
    assert record_integrity(dataset=job.dataset).ok

    job2 = submit(staff, people_entry, csv_bytes([person(a, "张三丰"), person(b, "李四")]))
    assert (job2.inserted_rows, job2.updated_rows, job2.unchanged_rows) == (0, 1, 1), job2.log
    row = stored_row(job.dataset, a)
    (update,) = RecordHistory.objects.filter(record_id=row.id)
    assert (update.op, update.actor, update.job) == ("update", staff, job2)
    assert update.before == inserted_version and update.after == reading.history_form(row)
    assert record_integrity(dataset=job.dataset).ok

    page = web_as(staff).get(reverse("aggregation:record-detail", args=[job.dataset.pk, row.id]))
    assert page.status_code == 200
    shown = page.context["history"]
    assert [r["h"].op for r in shown] == ["update"]
    assert "姓名" in shown[0]["items"] and "性别" not in shown[0]["items"]

    other = stored_row(job.dataset, b)
    tamper_rows(job.dataset, [other.id], values={"性别": "女"})  # by hand, around the application
    assert record_integrity(dataset=job.dataset).digest_mismatch == [other.id]
