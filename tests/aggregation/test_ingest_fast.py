"""Fast paths of the ingestion pipeline give the same answers as the plain ones (issue 4 performance work)."""

import datetime as dt
import io
import random

import pytest
from django.db import connection
from django.urls import reverse
from psycopg import sql

from aggregation.ingest.validation import HALF_WIDTH, converter, memoised
from aggregation.models import Record, RecordHistory
from aggregation.selectors.pools import history_rows, record_get, record_integrity
from aggregation.storage import reading
from aggregation.storage.layout import Layout
from portal.validators import id_number_problem
from security import crypto
from tests.aggregation.builders import csv_bytes, ids, person, submit


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
@pytest.mark.parametrize("mode", ["as_configured", pytest.param("tables", marks=pytest.mark.tables_only)])
def test_bulk_insert_history_references_the_inserted_version(mode, staff, people_entry, web_as, settings):
    # The records path writes a load's insert as a history row without a copy (it references the inserted version);
    # the table writer writes none (the row's job proves it). Either way the history page and the integrity check
    # read the current version from the table.
    records = settings.AGGREGATION["WRITE_RECORDS"]
    a, b = ids(2)
    job = submit(staff, people_entry, csv_bytes([person(a, "张三"), person(b, "李四")]))
    assert job.status == "succeeded" and job.inserted_rows == 2, job.log
    row_id = record_get(dataset=job.dataset, key=a).id
    current = reading.get(job.dataset, row_id)
    inserted_version = reading.history_form(current)
    if records:
        record = Record.objects.get(pk=row_id)  # (history: the record's JSON form)
        (insert,) = RecordHistory.objects.filter(record=record)
        assert (insert.op, insert.before, insert.after, insert.actor, insert.job) == ("insert", None, None, staff, job)
        # While the insert is the newest history row, it references the current row: read from the table, in the
        # writer's history form.
        assert history_rows(row_id, [insert])[0][2] == inserted_version
        assert reading.history_clear([inserted_version], crypto.cipher()) == \
            reading.history_clear([record.data], crypto.cipher())
        inserted_version = record.data
    else:
        assert not RecordHistory.objects.filter(record_id=row_id).exists()
        assert current.job_id == job.pk and current.version == 1
    assert record_integrity(dataset=job.dataset).ok

    job2 = submit(staff, people_entry, csv_bytes([person(a, "张三丰"), person(b, "李四")]))
    assert (job2.inserted_rows, job2.updated_rows, job2.unchanged_rows) == (0, 1, 1), job2.log
    *inserts, update = RecordHistory.objects.filter(record_id=row_id).order_by("id")
    now = Record.objects.get(pk=row_id).data if records else reading.history_form(reading.get(job.dataset, row_id))
    assert update.op == "update" and update.before == inserted_version and update.after == now
    assert [after for _h, _b, after in history_rows(row_id, [update, *inserts])] == [inserted_version] * len(
        inserts) + [now]
    assert record_integrity(dataset=job.dataset).ok

    page = web_as(staff).get(reverse("aggregation:record-detail", args=[job.dataset.pk, row_id]))
    assert page.status_code == 200
    shown = page.context["history"]
    assert [row["h"].op for row in shown] == ["update"] + ["insert"] * len(inserts)
    assert shown[0]["items"] == ["姓名"]  # (compared as clear values: a fresh token of an unchanged item is no change)
    if records:
        assert set(shown[1]["items"]) == set(inserted_version)  # the insert shows every item it set

    other = record_get(dataset=job.dataset, key=b).id
    layout = Layout.stored(job.dataset)
    sex = sql.Identifier(layout.columns["性别"]["col"])
    with connection.cursor() as cur:  # by hand, around the application: an insert-only row changed in the table
        cur.execute(sql.SQL("UPDATE {} SET {} = '女' WHERE id = %s").format(layout.table, sex).as_string(
            connection.connection), [other])
    report = record_integrity(dataset=job.dataset)
    assert report.digest_mismatch == [other] and report.history_mismatch == [other]
    with connection.cursor() as cur:  # a whole row (values, token and digest) copied from another
        cur.execute(sql.SQL("UPDATE {t} r SET {c} = s.{c}, token = s.token, row_hash = s.row_hash FROM {t} s "
                            "WHERE r.id = %s AND s.id = %s").format(t=layout.table, c=sex).as_string(
            connection.connection), [other, row_id])
    report = record_integrity(dataset=job.dataset)
    assert other in report.digest_mismatch and other in report.history_mismatch
