"""Ingestion pipeline stages on small fixtures: encodings, formats, cleaning, validation, modes, bad input."""

import io
import json
import zipfile
from datetime import timedelta

import openpyxl
import pytest

from aggregation.choices import JobStatus
from aggregation.ingest import staging
from aggregation.ingest.mapping import auto_mapping
from aggregation.ingest.validation import clean_value, validate_value
from aggregation.models import IngestJob, RecordHistory
from aggregation.selectors.pools import record_get, record_values
from aggregation.services import ingest as services
from aggregation.storage import tables_written, writing
from catalog.models import DataItem
from portal.services.jobs import reap_stale_jobs
from tests.aggregation.builders import PEOPLE_ITEMS, csv_bytes, ids, person, report_rows, submit
from tests.support import load_inserts, stored_count, stored_rows

pytestmark = pytest.mark.django_db


def test_gbk_crlf_quoted_newline_loads_and_encrypts(staff, people_entry, audit_log):
    keys = ids(3)
    rows = [person(keys[0], "王小明"), person(keys[1], "李娜", 户籍地址="河南省焦作市解放区\n民主路12号"),
            person(keys[2], "欧阳娜娜")]
    job = submit(staff, people_entry, csv_bytes(rows, encoding="gbk", newline="\r\n"))
    assert job.status == JobStatus.SUCCEEDED, job.log
    assert job.encoding == "gb18030"
    assert (job.total_rows, job.accepted_rows, job.inserted_rows, job.rejected_rows) == (3, 3, 3, 0)
    row = record_get(dataset=job.dataset, key=keys[1])
    (stored,) = [r for r in stored_rows(job.dataset) if r.id == row.id]
    assert stored.token.startswith("test1:") and keys[1] not in json.dumps(stored.values, ensure_ascii=False)
    assert "李娜" not in json.dumps(stored.values, ensure_ascii=False)  # 姓名 is personal: encrypted
    values = record_values(row, decrypt=True)
    assert values["姓名"] == "李娜" and values["户籍地址"] == "河南省焦作市解放区\n民主路12号"
    assert values["公民身份号码"] == keys[1] and values["性别"] == "男"
    assert job.dataset.encrypted_items == ["公民身份号码", "姓名", "户籍地址", "联系电话"]
    job.dataset.refresh_from_db()
    assert job.dataset.row_count == 3
    assert [e.data["status"] for e in audit_log("aggregation.job.finished")] == ["succeeded"]
    # What proves the load's inserts: its insert history rows on the records path; the rows' job (and its file's
    # SHA-256) once the tables are written (issue 18).
    assert RecordHistory.objects.filter(job=job, op="insert").count() == load_inserts(3)
    assert not tables_written() or [r.job_id for r in stored_rows(job.dataset)] == [job.pk] * 3


def test_utf8_bom_and_gbk_labelled_as_utf8(staff, people_entry):
    keys = ids(2)
    job = submit(staff, people_entry, csv_bytes([person(keys[0])], bom=True))
    assert job.status == JobStatus.SUCCEEDED and job.encoding == "utf-8-sig"
    job = submit(staff, people_entry, csv_bytes([person(keys[1], "张伟")], encoding="gbk"), encoding="utf-8")
    assert job.status == JobStatus.SUCCEEDED, job.log
    assert job.encoding == "gb18030"
    assert "无法解码" in job.log
    assert record_values(record_get(dataset=job.dataset, key=keys[1]), decrypt=True)["姓名"] == "张伟"


def test_cleaning_full_width_dates_and_trim(staff, people_entry):
    key = ids(1)[0]
    full = key.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    row = person(f"  {full} ", " 张三 ", 出生日期="1990年3月7日", 家庭人口="３")
    job = submit(staff, people_entry, csv_bytes([row]))
    assert job.status == JobStatus.SUCCEEDED, job.log
    values = record_values(record_get(dataset=job.dataset, key=key), decrypt=True)
    assert values["公民身份号码"] == key and values["姓名"] == "张三"
    assert values["出生日期"] == "1990-03-07" and values["家庭人口"] == "3"


def test_thirty_percent_bad_ids_all_or_nothing_then_load_valid(staff, people_entry, audit_log):
    keys = ids(10)
    rows = [person(k) for k in keys]
    rows[1][0] = keys[1][:17] + ("0" if keys[1][17] != "0" else "1")  # check digit
    rows[4][0] = keys[4][:10] + "13" + keys[4][12:]  # month 13
    rows[7][0] = keys[7][:16]  # too short
    job = submit(staff, people_entry, csv_bytes(rows))
    assert job.status == JobStatus.REJECTED
    assert (job.total_rows, job.accepted_rows, job.rejected_rows, job.inserted_rows) == (10, 7, 3, 0)
    assert stored_count() == 0
    report = report_rows(job)
    assert report[0] == ["行号", "列", "值", "原因"]
    assert [r[0] for r in report[1:]] == ["3", "6", "9"]  # file rows (header is row 1)
    assert {r[1] for r in report[1:]} == {"公民身份号码"}
    assert "校验码错误" in report[1][3] and "出生日期" in report[2][3] and "18位" in report[3][3]
    assert "*" in report[1][2]  # ID numbers are masked in the report
    job = services.ingest_job_rerun(actor=staff, job_id=job.pk, mode="load_valid")
    job = services.ingest_job_run(job_id=job.pk)
    assert job.status == JobStatus.SUCCEEDED
    assert (job.accepted_rows, job.rejected_rows, job.inserted_rows) == (7, 3, 7)
    assert stored_count() == 7
    assert len(audit_log("aggregation.job.rerun")) == 1


def test_type_and_length_problems_have_reasons(staff, people_entry):
    keys = ids(3)
    rows = [person(keys[0], 出生日期="1990-02-30"), person(keys[1], 家庭人口="三口"),
            person(keys[2], 性别="男性别")]
    job = submit(staff, people_entry, csv_bytes(rows), mode="load_valid")
    assert job.status == JobStatus.REJECTED  # nothing valid
    reasons = {r[1]: r[3] for r in report_rows(job)[1:]}
    assert reasons == {"出生日期": "日期不存在", "家庭人口": "应为整数", "性别": "长度 3 超过信息项长度 2"}


def test_duplicates_in_file_last_wins(staff, people_entry):
    key = ids(1)[0]
    job = submit(staff, people_entry, csv_bytes([person(key, "旧名"), person(key, "新名")]))
    assert job.status == JobStatus.SUCCEEDED
    assert (job.duplicate_rows, job.inserted_rows) == (1, 1)
    assert record_values(record_get(dataset=job.dataset, key=key), decrypt=True)["姓名"] == "新名"


def test_header_matching_no_item_waits_for_mapping(staff, people_entry, audit_log):
    key = ids(1)[0]
    content = csv_bytes([[key, "张三", "x"]], header=["身份证", "名字", "备注"])
    job = submit(staff, people_entry, content)
    assert job.status == JobStatus.PENDING and job.awaiting_mapping
    assert job.header == ["身份证", "名字", "备注"]
    with pytest.raises(services.PortalError):
        services.ingest_job_set_mapping(actor=staff, job_id=job.pk, mapping={"名字": "姓名"})
    services.ingest_job_set_mapping(actor=staff, job_id=job.pk, mapping={"身份证": "公民身份号码", "名字": "姓名"})
    job = services.ingest_job_run(job_id=job.pk)
    assert job.status == JobStatus.SUCCEEDED and job.inserted_rows == 1
    assert len(audit_log("aggregation.job.mapped")) == 1


def test_auto_mapping_is_loose_about_brackets_and_spaces():
    assert auto_mapping(["公民身份号码", "姓 名", "注册资本（元）"], ["公民身份号码", "姓名", "注册资本"]) == {
        "公民身份号码": "公民身份号码", "姓 名": "姓名"}


def test_empty_file_and_header_only(staff, people_entry):
    job = submit(staff, people_entry, b"")
    assert job.status == JobStatus.REJECTED and "文件为空" in job.log
    job = submit(staff, people_entry, csv_bytes([]))
    assert job.status == JobStatus.REJECTED and "没有数据行" in job.log


def test_zip_bomb_renamed_xlsx_is_refused(staff, people_entry, settings):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 << 20))
    job = submit(staff, people_entry, buf.getvalue(), name="bomb.xlsx")
    assert job.status == JobStatus.REJECTED and "压缩炸弹" in job.log
    job = submit(staff, people_entry, b"not a zip at all", name="fake.xlsx")
    assert job.status == JobStatus.REJECTED and "不是 XLSX" in job.log


def test_xlsx_with_formulas_dates_and_numbers(staff, people_entry):
    import datetime as dt

    keys = ids(3)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([i[0] for i in PEOPLE_ITEMS])
    ws.append([keys[0], "张三", "男", dt.datetime(1990, 3, 7), "地址", "13812345678", 3])
    ws.append([keys[1], "李四", "女", "1991/1/2", "地址", "13812345679", "=1+2"])  # formula without cached value
    ws.append([float(keys[2][:15]), "王五", "男", "19920304", "地址", "13812345670", 4])  # ID stored as a number
    buf = io.BytesIO()
    wb.save(buf)
    job = submit(staff, people_entry, buf.getvalue(), name="people.xlsx", mode="load_valid")
    assert job.format == "xlsx"
    assert job.status == JobStatus.SUCCEEDED, job.log
    assert (job.accepted_rows, job.rejected_rows) == (2, 1)
    assert "公式" in job.log
    v = record_values(record_get(dataset=job.dataset, key=keys[0]), decrypt=True)
    assert v["出生日期"] == "1990-03-07" and v["家庭人口"] == "3"
    v = record_values(record_get(dataset=job.dataset, key=keys[1]), decrypt=True)
    assert v["出生日期"] == "1991-01-02" and "家庭人口" not in v
    assert "丢失精度" in report_rows(job)[1][3]


def test_json_array_upload(staff, people_entry):
    keys = ids(2)
    payload = json.dumps([{"公民身份号码": keys[0], "姓名": "张三"}, {"公民身份号码": keys[1], "姓名": "李四"}],
                         ensure_ascii=False).encode()
    job = submit(staff, people_entry, payload, name="people.json")
    assert job.format == "json" and job.status == JobStatus.SUCCEEDED and job.inserted_rows == 2


def test_same_file_twice_changes_nothing(staff, people_entry):
    keys = ids(5)
    content = csv_bytes([person(k) for k in keys])
    submit(staff, people_entry, content)
    job = submit(staff, people_entry, content)
    assert (job.inserted_rows, job.updated_rows, job.unchanged_rows) == (0, 0, 5)
    assert stored_count() == 5 and not RecordHistory.objects.exclude(op="insert").exists()


def test_job_keeps_the_files_sha256(staff, people_entry, audit_log, client):
    """The stored file's digest is the job's proof of what it inserted (R35.5): recorded, audited, shown."""
    import hashlib

    from tests.support import sign_in

    content = csv_bytes([person(k) for k in ids(3)])
    job = submit(staff, people_entry, content)
    expected = hashlib.sha256(content).hexdigest()
    assert job.file_sha256 == expected
    assert audit_log("aggregation.job.created")[-1].data["sha256"] == expected
    assert expected in job.log
    sign_in(client, staff)
    assert expected in client.get(f"/aggregation/jobs/{job.pk}/").content.decode()
    assert client.get(f"/api/v1/aggregation/jobs/{job.pk}/").json()["file_sha256"] == expected


def test_the_very_same_file_again_is_not_read_again(staff, people_entry, audit_log):
    """Same SHA-256, mapping and mode as the dataset's latest load, nothing written since: the earlier result, its
    rejected-rows report included, without reading a row (issue 18: a reload costs what changed)."""
    keys = ids(4)
    content = csv_bytes([person(k) for k in keys] + [person("410802199013011234")])  # one bad number
    first = submit(staff, people_entry, content, mode="load_valid")
    assert (first.inserted_rows, first.rejected_rows) == (4, 1)
    again = submit(staff, people_entry, content, mode="load_valid")
    assert again.status == JobStatus.SUCCEEDED
    assert (again.total_rows, again.accepted_rows, again.rejected_rows) == (5, 4, 1)
    assert (again.inserted_rows, again.updated_rows, again.unchanged_rows) == (0, 0, 4)
    assert f"#{first.pk}" in again.log and again.report.name == first.report.name
    assert report_rows(again) == report_rows(first)
    assert audit_log("aggregation.job.finished")[-1].data["same_as"] == first.pk
    assert stored_count() == 4 and not RecordHistory.objects.exclude(op="insert").exists()


def test_the_same_file_after_a_change_is_compared_row_by_row(staff, people_entry, audit_log):
    """A deletion since the load (or another mapping, or a catalog update) means the file must be read: the deleted
    row comes back as an update."""
    from aggregation.services.pools import record_delete

    keys = ids(3)
    content = csv_bytes([person(k) for k in keys])
    first = submit(staff, people_entry, content)
    record_delete(actor=staff, dataset=first.dataset, key=keys[0], reason="核实后删除")
    again = submit(staff, people_entry, content)
    assert (again.inserted_rows, again.updated_rows, again.unchanged_rows) == (0, 1, 2)
    assert "same_as" not in audit_log("aggregation.job.finished")[-1].data
    later = again.finished_at + timedelta(seconds=1)
    people_entry.__class__.objects.filter(pk=people_entry.pk).update(approved_at=later)
    third = submit(staff, people_entry, content)  # a catalog update approved since: the rules may differ
    assert "same_as" not in audit_log("aggregation.job.finished")[-1].data
    assert (third.inserted_rows, third.updated_rows, third.unchanged_rows) == (0, 0, 3)


def test_crash_in_final_transaction_leaves_nothing_and_rerun_is_idempotent(staff, people_entry, monkeypatch):
    keys = ids(4)
    content = csv_bytes([person(k) for k in keys])

    def boom(*args, **kwargs):
        raise RuntimeError("worker killed")

    # The final transaction's writer: the tables' (storage.writing) once they are written, else the stage's upsert.
    owner, name = (writing, "write_batches") if tables_written() else (staging, "upsert_from_stage")
    original = getattr(owner, name)
    monkeypatch.setattr(owner, name, boom)
    job = submit(staff, people_entry, content)
    assert job.status == JobStatus.FAILED and "可重新运行" in job.log
    assert stored_count() == 0 and RecordHistory.objects.count() == 0
    monkeypatch.setattr(owner, name, original)
    services.ingest_job_rerun(actor=staff, job_id=job.pk)
    job = services.ingest_job_run(job_id=job.pk)
    assert job.status == JobStatus.SUCCEEDED and job.inserted_rows == 4 and job.attempts == 2
    with pytest.raises(services.InvalidTransition):
        services.ingest_job_rerun(actor=staff, job_id=job.pk)
    assert stored_count() == 4


def test_reaper_marks_dead_running_jobs_failed(staff, people_entry, audit_log):
    from datetime import timedelta

    from django.utils import timezone

    job = services.ingest_job_create(actor=staff, entry=people_entry, upload=upload_of(csv_bytes([person(ids(1)[0])])))
    claimed = services.ingest_job_claim(job.pk)
    assert claimed.status == JobStatus.RUNNING
    assert services.ingest_job_claim(job.pk) is None  # a re-delivered task does not run it twice
    assert reap_stale_jobs()[IngestJob._meta.label_lower] == 0
    assert reap_stale_jobs(now=timezone.now() + timedelta(minutes=10))[IngestJob._meta.label_lower] == 1
    claimed.refresh_from_db()
    assert claimed.status == JobStatus.FAILED and "无心跳" in claimed.log
    assert audit_log("aggregation.job.failed")[-1].data == {"reason": "stale_heartbeat"}


def upload_of(content: bytes):
    from tests.aggregation.builders import upload

    return upload(content)


@pytest.mark.parametrize(
    ("data_type", "length", "value", "expected", "problem"),
    [
        ("D", None, "2024/1/31", "2024-01-31", None),
        ("D", None, "2024年1月31日", "2024-01-31", None),
        ("D", None, "20240131", "2024-01-31", None),
        ("D", None, "31/01/2024", "31/01/2024",
         "日期格式无法识别（可用 2024-01-31、2024/1/31、2024年1月31日、20240131）"),
        ("T", None, "2024-01-31 8:05", "2024-01-31 08:05:00", None),
        ("Y", 18, "1,000.50", "1000.5", None),
        ("I", 3, "1000", "1000", "数值位数超过 3 位"),
        # beyond Decimal's 28-digit context: kept exactly, refused by length, never a crash of the job
        ("I", None, "1" * 40, "1" * 40, None),
        ("I", 30, "1" * 40, "1" * 40, "数值位数超过 30 位"),
        ("N", None, "1" * 30 + ".5", "1" * 30 + ".5", None),
        ("N", None, "-0.0", "0", None),  # as numeric stores it: the row digest of a stored row must agree
        ("L", None, "是", "true", None),
        ("C", 2, "ＡＢ", "AB", None),
    ],
)
def test_clean_value_by_type(data_type, length, value, expected, problem):
    item = DataItem(name="x", data_type=data_type, length=length)
    assert clean_value(item, value) == (expected, problem)


def test_validate_value_uses_portal_validators():
    key = DataItem(name="公民身份号码", data_type="C", length=18, is_subject_key=True)
    assert validate_value(key, "410802199003071239") is None
    assert "校验码" in validate_value(key, "410802199003071230")
    assert validate_value(key, "") == "主体标识不能为空"
    # stdnum rejects 修武县 codes for people born before 1983; GB 11643 does not (cn-standards §2.3).
    assert validate_value(key, "410821197001010010") is None
    code = DataItem(name="统一社会信用代码", data_type="C", length=18, is_subject_key=True)
    assert validate_value(code, "91110000600037341L") is None
    assert validate_value(code, "N2410800MA44111107") is None  # stdnum's false negative
    assert "校验位" in validate_value(code, "91110000600037341A")


def test_json_lines_and_empty_json(staff, people_entry):
    keys = ids(2)
    lines = "\n".join(json.dumps({"公民身份号码": k, "姓名": "张三"}, ensure_ascii=False) for k in keys)
    job = submit(staff, people_entry, lines.encode(), name="people.jsonl")
    assert job.status == JobStatus.SUCCEEDED and job.inserted_rows == 2
    job = submit(staff, people_entry, b"[]", name="empty.json")
    assert job.status == JobStatus.REJECTED and "没有数据行" in job.log
    job = submit(staff, people_entry, b'[{"a": 1}, 2]', name="bad.json")
    assert job.status == JobStatus.REJECTED
