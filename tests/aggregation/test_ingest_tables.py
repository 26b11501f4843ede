"""A load written by the resource tables' writer (issue 18, contract step: AGGREGATION["WRITE_RECORDS"] off): the
job's checked rows spilled as canonical frames (ingest.spilling) and written by storage.writing in the job's one
transaction — inserts proven by the job (no history row), reloads writing only what changed, duplicates reported."""

import pytest

from aggregation.choices import JobStatus
from aggregation.models import RecordHistory
from aggregation.selectors.pools import record_get, record_values
from aggregation.storage import reading, tables_written
from security import crypto
from tests.aggregation.builders import csv_bytes, ids, person, report_rows, submit

pytestmark = [pytest.mark.django_db, pytest.mark.tables_only]


def stored(dataset) -> dict[str, reading.Row]:
    """The table's rows (deleted ones too) by their plain subject key."""
    out = {}
    for batch in reading.walk(dataset, include_deleted=True):
        for row, secret in zip(batch, reading.decrypted(batch, crypto.cipher()), strict=True):
            out[{**row.values, **(secret or {})}[dataset.key_item_name]] = row
    return out


def test_a_first_load_writes_the_table_and_no_history(staff, people_entry):
    assert tables_written()
    keys = ids(3)
    job = submit(staff, people_entry, csv_bytes([person(k) for k in keys]))
    assert job.status == JobStatus.SUCCEEDED, job.log
    assert (job.inserted_rows, job.updated_rows, job.unchanged_rows) == (3, 0, 0)
    rows = stored(job.dataset)
    assert sorted(rows) == sorted(keys)
    assert {(r.version, r.job_id) for r in rows.values()} == {(1, job.pk)}  # the job proves the insert
    assert not RecordHistory.objects.filter(dataset=job.dataset).exists()
    assert "写入资源表" in job.log
    job.dataset.refresh_from_db()
    assert job.dataset.row_count == 3


def test_a_reload_writes_only_what_changed_with_history_in_the_writers_form(staff, people_entry):
    keys = ids(4)
    first = submit(staff, people_entry, csv_bytes([person(k) for k in keys]))
    before = stored(first.dataset)
    # The same rows in another order and with CRLF (another file): nothing written.
    again = submit(staff, people_entry, csv_bytes([person(k) for k in reversed(keys)], newline="\r\n"))
    assert (again.inserted_rows, again.updated_rows, again.unchanged_rows) == (0, 0, 4), again.log
    assert {k: (r.version, r.updated_at, r.job_id) for k, r in stored(first.dataset).items()} == {
        k: (r.version, r.updated_at, r.job_id) for k, r in before.items()}
    # One name changed, one key new.
    new = ids(5)[4]
    changed = submit(staff, people_entry, csv_bytes(
        [person(keys[0], "改名"), *[person(k) for k in keys[1:]], person(new)]))
    assert (changed.inserted_rows, changed.updated_rows, changed.unchanged_rows) == (1, 1, 3), changed.log
    after = stored(first.dataset)
    assert (after[keys[0]].version, after[keys[0]].job_id) == (2, changed.pk)
    assert (after[new].version, after[new].job_id) == (1, changed.pk)
    assert after[keys[1]].job_id == first.pk
    (history,) = RecordHistory.objects.filter(dataset=first.dataset)
    assert (history.record_id, history.op, history.job_id) == (after[keys[0]].id, "update", changed.pk)
    assert set(history.before) >= {"token", "性别"} and "姓名" not in history.before  # personal: inside the token
    assert history.after == reading.history_form(after[keys[0]])
    assert record_values(record_get(dataset=first.dataset, key=keys[0]))["姓名"] == "改名"


def test_duplicate_keys_are_reported_and_the_last_row_wins(staff, people_entry):
    keys = ids(2)
    job = submit(staff, people_entry, csv_bytes(
        [person(keys[0], "旧名"), person(keys[1]), person(keys[0], "中名"), person(keys[0], "新名")]))
    assert job.status == JobStatus.SUCCEEDED, job.log
    assert (job.duplicate_rows, job.inserted_rows) == (2, 2)
    assert record_values(record_get(dataset=job.dataset, key=keys[0]))["姓名"] == "新名"
    assert report_rows(job, full=True)[1:] == [  # the earlier rows of the key (the header is row 1)
        [str(n), "公民身份号码", keys[0], "文件内重复主键（第 2、4、5 行），以第 5 行为准"] for n in (2, 4)]


def test_a_refused_file_writes_nothing_and_still_lists_its_duplicate_keys(staff, people_entry):
    keys = ids(2)
    bad = keys[1][:-1] + ("0" if keys[1][-1] != "0" else "1")  # a wrong check digit
    job = submit(staff, people_entry, csv_bytes([person(keys[0]), person(keys[0]), person(bad)]))
    assert job.status == JobStatus.REJECTED, job.log
    assert job.inserted_rows == 0 and job.duplicate_rows == 1 and job.rejected_rows == 1
    assert reading.count(job.dataset, include_deleted=True) == 0
    assert any("重复主键" in r[3] for r in report_rows(job)[1:])


def _bad(key: str) -> str:
    return key[:-1] + ("0" if key[-1] != "0" else "1")  # a wrong check digit


def test_a_utf8_file_is_read_by_polars_with_the_csv_modules_rows_and_numbers(staff, people_entry):
    keys = ids(4)
    content = csv_bytes([person(keys[0]), person(_bad(keys[1])), person(keys[2], 户籍地址="解放区\r\n民主路1号"),
                         person(keys[3], "Ｚｈａｎｇ　三")], newline="\r\n", bom=True)
    job = submit(staff, people_entry, content, mode="load_valid")
    assert job.status == JobStatus.SUCCEEDED, job.log
    assert "polars 多线程读取" in job.log
    assert (job.total_rows, job.accepted_rows, job.rejected_rows, job.inserted_rows) == (4, 3, 1, 3)
    assert [r[0] for r in report_rows(job)[1:]] == ["3"]  # the file's record number (the header is 1)
    assert record_values(record_get(dataset=job.dataset, key=keys[2]))["户籍地址"] == "解放区\r\n民主路1号"
    assert record_values(record_get(dataset=job.dataset, key=keys[3]))["姓名"] == "Zhang 三"  # half-width


def test_a_gbk_file_is_transcoded_a_block_at_a_time_and_read_by_polars(staff, people_entry):
    keys = ids(3)
    content = csv_bytes([person(keys[0]), person(_bad(keys[1])), person(keys[2], 户籍地址="解放区\r\n民主路1号")],
                        encoding="gbk", newline="\r\n")
    job = submit(staff, people_entry, content, mode="load_valid")
    assert job.status == JobStatus.SUCCEEDED, job.log
    assert job.encoding == "gb18030" and "polars 多线程读取" in job.log
    assert (job.inserted_rows, job.rejected_rows) == (2, 1)
    assert [r[0] for r in report_rows(job)[1:]] == ["3"]
    assert record_values(record_get(dataset=job.dataset, key=keys[2]))["户籍地址"] == "解放区\r\n民主路1号"


def test_a_gbk_file_with_bytes_that_do_not_decode_is_refused_as_before(staff, people_entry, settings):
    """Past the sample the encoding is told from: polars' way gives up, the csv module's way names the line."""
    settings.AGGREGATION = {**settings.AGGREGATION, "INGEST_PARALLEL_MIN_BYTES": 1 << 40}  # (one process)
    lines = csv_bytes([person(k) for k in ids(100)] * 120, encoding="gbk").split(b"\n")
    lines[11_000] = lines[11_000].replace("张三".encode("gbk"), b"\x81\x20")  # (0x81 0x20: not GB18030)
    job = submit(staff, people_entry, b"\n".join(lines))
    assert job.status == JobStatus.REJECTED
    assert "行附近无法按 gb18030 解码" in job.log and "polars" not in job.log, job.log
    assert reading.count(job.dataset, include_deleted=True) == 0


@pytest.mark.parametrize("shape", ["a blank line", "an extra field", "UTF-16"])
def test_a_file_polars_would_read_otherwise_is_read_by_the_csv_module(staff, people_entry, shape):
    keys = ids(3)
    rows = [person(keys[0]), person(_bad(keys[1])), person(keys[2])]
    if shape == "a blank line":  # the csv module counts it as a record: the rows after it keep their numbers
        content = csv_bytes(rows[:1]) + b"\n" + csv_bytes(rows[1:]).split(b"\n", 1)[1]
        bad_row = "4"
    elif shape == "an extra field":  # polars refuses the ragged record mid-way; nothing is half-written
        content = csv_bytes([*rows[:2], [*rows[2], "多余"]])
        bad_row = "3"
    else:
        content = csv_bytes(rows, encoding="utf-16")
        bad_row = "3"
    job = submit(staff, people_entry, content, mode="load_valid")
    assert job.status == JobStatus.SUCCEEDED, job.log
    assert "polars" not in job.log and "单进程" in job.log
    assert (job.inserted_rows, job.rejected_rows) == (2, 1)
    assert [r[0] for r in report_rows(job)[1:]] == [bad_row]
    assert reading.count(job.dataset) == 2
