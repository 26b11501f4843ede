"""No silent loss on ingest (issue 17 item 4): a file without a column keeps the item's stored values unless the clerk
chose to empty it; a header close to an item's name stops the job at the mapping step (待确认映射); duplicate keys
inside one file are listed in the rejected-rows report with both rows and the winner; the report shows the clerk's
own values as uploaded, masked for a reader without "load" on the resource."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.urls import reverse

from aggregation.ingest.mapping import closeness, near_matches
from aggregation.models import IngestJob
from aggregation.selectors.pools import record_get, record_integrity, record_values
from aggregation.services.ingest import ingest_job_run, ingest_job_set_mapping
from portal.errors import PortalError
from security.masking import mask
from tests.aggregation.builders import PEOPLE_ITEMS, csv_bytes, ids, person, report_rows, submit
from tests.support import stored_count

pytestmark = pytest.mark.django_db

NAMES = [i[0] for i in PEOPLE_ITEMS]


def without(rows, *names):
    """The rows and header of a people file without the columns `names`."""
    keep = [i for i, n in enumerate(NAMES) if n not in names]
    return [[r[i] for i in keep] for r in rows], [NAMES[i] for i in keep]


def values(job, key):
    return record_values(record_get(dataset=job.dataset, key=key), decrypt=True)


@pytest.fixture
def loaded(staff, people_entry):
    keys = ids(3)
    rows = [person(keys[0], "王小明", 联系电话="13800000001"), person(keys[1], "李娜", 联系电话="13800000002"),
            person(keys[2], "赵六", 联系电话="13800000003")]
    job = submit(staff, people_entry, csv_bytes(rows))
    assert job.status == "succeeded", job.log
    return keys, rows


# --------------------------------------------------------------------------------------------------
# A file with one column fewer than the resource


def test_a_missing_column_keeps_the_stored_values(staff, people_entry, loaded, audit_log):
    keys, _rows = loaded
    changed = [person(keys[0], "王晓明"), person(keys[1], "李娜"), person(keys[2], "赵六")]  # one name changed
    body, header = without(changed, "联系电话")
    job = submit(staff, people_entry, csv_bytes(body, header=header))
    assert job.status == "succeeded", job.log
    assert job.kept_items == ["联系电话"] and job.empty_items == []
    assert "未包含的数据项，保留原值：联系电话" in job.log
    assert (job.inserted_rows, job.updated_rows, job.unchanged_rows) == (0, 1, 2)  # kept values are not changes
    assert values(job, keys[0])["姓名"] == "王晓明" and values(job, keys[0])["联系电话"] == "13800000001"
    assert values(job, keys[1])["联系电话"] == "13800000002"
    assert record_integrity(dataset=job.dataset).ok  # the row digests cover the kept values
    assert audit_log("aggregation.job.finished")[-1].data["kept_items"] == ["联系电话"]


def test_a_missing_column_is_emptied_only_when_the_clerk_chooses_it(staff, people_entry, loaded, audit_log):
    keys, rows = loaded
    body, header = without(rows, "联系电话", "家庭人口")
    job = submit(staff, people_entry, csv_bytes(body, header=header), empty_items=["联系电话"])
    assert job.status == "succeeded", job.log
    assert job.empty_items == ["联系电话"] and job.kept_items == ["家庭人口"]
    assert "以空值替换：联系电话" in job.log
    assert job.updated_rows == 3
    for key in keys:
        assert "联系电话" not in values(job, key) and values(job, key)["家庭人口"] == "3"
    assert audit_log("aggregation.job.created")[-1].data["empty_items"] == ["联系电话"]
    assert record_integrity(dataset=job.dataset).ok


def test_empty_all_replaces_every_missing_item(staff, people_entry, loaded):
    keys, rows = loaded
    body, header = without(rows, "联系电话", "家庭人口")
    job = submit(staff, people_entry, csv_bytes(body, header=header), empty_all=True)
    assert job.status == "succeeded", job.log
    assert job.empty_items == ["联系电话", "家庭人口"] and job.kept_items == []
    assert {"联系电话", "家庭人口"}.isdisjoint(values(job, keys[0]))


def test_only_a_missing_item_may_be_emptied(staff, people_entry, settings):
    with pytest.raises(PortalError) as exc:
        submit(staff, people_entry, csv_bytes([person(ids(1)[0])]), empty_items=["姓名"])
    assert exc.value.code == "invalid"
    with pytest.raises(PortalError):
        submit(staff, people_entry, csv_bytes([person(ids(1)[0])]), empty_items=["不存在的项"])
    assert not IngestJob.objects.exists()
    assert not [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]  # no file left behind


def test_a_new_record_from_a_partial_file_has_no_value_for_the_missing_item(staff, people_entry, loaded):
    new = ids(4)[3]
    body, header = without([person(new, "钱七")], "联系电话")
    job = submit(staff, people_entry, csv_bytes(body, header=header))
    assert job.status == "succeeded" and job.inserted_rows == 1
    assert "联系电话" not in values(job, new)


# --------------------------------------------------------------------------------------------------
# Headers close to an item's name


@pytest.mark.parametrize(("header", "item"), [
    ("住址", "户籍地址"), ("身份证号", "公民身份号码"), ("身份证号码", "公民身份号码"), ("证件号码", "公民身份号码"),
    ("企业名称", "单位名称"), ("出生年月", "出生日期"),
])
def test_the_closeness_rule(header, item):
    assert near_matches([header], [item], {}) == {header: item}


@pytest.mark.parametrize(("header", "item"), [("性别", "姓名"), ("备注", "户籍地址"), ("民族", "姓名")])
def test_unrelated_headers_are_not_close(header, item):
    assert closeness(header, item) < 0.5 and near_matches([header], [item], {}) == {}


def test_two_near_matching_headers_stop_the_job_until_each_is_answered(staff, people_entry, loaded, audit_log):
    keys, _rows = loaded
    header = ["身份证号", "姓名", "性别", "出生日期", "住址", "联系电话", "家庭人口"]
    changed = [person(k, n, 户籍地址="焦作市新地址") for k, n in zip(keys, ["王小明", "李娜", "赵六"], strict=True)]
    job = submit(staff, people_entry, csv_bytes(changed, header=header))
    assert job.status == "pending" and job.awaiting_mapping and job.state_display == "待确认映射"
    assert job.near_matches == {"身份证号": "公民身份号码", "住址": "户籍地址"}
    assert "待确认映射" in job.log and "住址≈户籍地址" in job.log
    with pytest.raises(PortalError) as exc:  # the key confirmed, 住址 left unanswered
        ingest_job_set_mapping(actor=staff, job_id=job.pk, mapping={"身份证号": "公民身份号码", "姓名": "姓名"})
    assert exc.value.code == "unconfirmed" and "住址" in str(exc.value.detail)
    # 住址 explicitly ignored: 户籍地址 keeps its stored value
    ingest_job_set_mapping(actor=staff, job_id=job.pk, mapping={
        "身份证号": "公民身份号码", "住址": "", **{n: n for n in header[1:] if n != "住址"}})
    job = ingest_job_run(job_id=job.pk)
    assert job.status == "succeeded", job.log
    assert job.kept_items == ["户籍地址"] and "确认不导入的列：住址" in job.log
    assert values(job, keys[0])["户籍地址"] == "河南省焦作市解放区民主路12号"
    assert audit_log("aggregation.job.mapped")[-1].data["ignored"] == ["住址"]


def test_a_confirmed_near_match_loads_the_column(staff, people_entry, loaded):
    keys, _rows = loaded
    header = ["身份证号", "姓名", "性别", "出生日期", "住址", "联系电话", "家庭人口"]
    job = submit(staff, people_entry, csv_bytes([person(keys[0], 户籍地址="焦作市新地址")], header=header))
    mapping = {"身份证号": "公民身份号码", "住址": "户籍地址", **{n: n for n in header[1:] if n != "住址"}}
    ingest_job_set_mapping(actor=staff, job_id=job.pk, mapping=mapping)
    job = ingest_job_run(job_id=job.pk)
    assert job.status == "succeeded" and job.kept_items == []
    assert values(job, keys[0])["户籍地址"] == "焦作市新地址"


def test_two_headers_close_to_the_same_item(staff, people_entry):
    key = ids(1)[0]
    header = ["身份证号", "证件号码", "姓名"]
    job = submit(staff, people_entry, csv_bytes([[key, key, "张三"]], header=header))
    assert job.near_matches == {"身份证号": "公民身份号码", "证件号码": "公民身份号码"}
    with pytest.raises(PortalError):  # one item, one column
        ingest_job_set_mapping(actor=staff, job_id=job.pk,
                               mapping={"身份证号": "公民身份号码", "证件号码": "公民身份号码", "姓名": "姓名"})
    ingest_job_set_mapping(actor=staff, job_id=job.pk,
                           mapping={"身份证号": "公民身份号码", "证件号码": "", "姓名": "姓名"})
    assert ingest_job_run(job_id=job.pk).status == "succeeded"


def test_the_mapping_api_answers_near_matches(staff, people_entry, api_as):
    key = ids(1)[0]
    job = submit(staff, people_entry, csv_bytes([[key, "张三", "焦作"]], header=["身份证号", "姓名", "住址"]))
    client = api_as(staff)
    answer = client.get(reverse("aggregation-job-detail", args=[job.pk])).json()
    assert answer["awaiting_mapping"] and answer["status_display"] == "待确认映射"
    assert answer["near_matches"] == {"身份证号": "公民身份号码", "住址": "户籍地址"}
    url = reverse("aggregation-job-mapping", args=[job.pk])
    refused = client.post(url, {"mapping": {"身份证号": "公民身份号码"}}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "unconfirmed"
    done = client.post(url, {"mapping": {"身份证号": "公民身份号码", "姓名": "姓名", "住址": "户籍地址"},
                             "empty_items": ["联系电话"]}, format="json")
    assert done.status_code == 200, done.content
    assert done.json()["empty_items"] == ["联系电话"] and done.json()["mapping"]["住址"] == "户籍地址"


# --------------------------------------------------------------------------------------------------
# Duplicate keys inside one file


def test_duplicate_keys_are_reported_with_both_rows_and_the_winner(staff, people_entry):
    keys = ids(3)
    rows = [person(keys[0], "甲"), person(keys[1], "乙"), person(keys[0], "丙"), person(keys[2], "丁"),
            person(keys[0], "戊")]
    job = submit(staff, people_entry, csv_bytes(rows))
    assert job.status == "succeeded", job.log
    assert job.duplicate_rows == 2 and job.rejected_rows == 0 and stored_count() == 3
    assert values(job, keys[0])["姓名"] == "戊"  # the last row wins
    report = report_rows(job, full=True)
    assert report[1:] == [
        ["2", "公民身份号码", keys[0], "文件内重复主键（第 2、4、6 行），以第 6 行为准"],
        ["4", "公民身份号码", keys[0], "文件内重复主键（第 2、4、6 行），以第 6 行为准"],
    ]
    assert report_rows(job, full=False)[1][2] == mask(keys[0], "id_number")


def test_duplicates_are_reported_also_when_nothing_is_loaded(staff, people_entry):
    keys = ids(2)
    rows = [person(keys[0], "甲"), person(keys[0], "乙"), person(keys[1], 出生日期="不是日期")]
    job = submit(staff, people_entry, csv_bytes(rows))
    assert job.status == "rejected"
    reasons = [r[3] for r in report_rows(job)[1:]]
    assert any("日期" in r for r in reasons) and "文件内重复主键（第 2、3 行），以第 3 行为准" in reasons


# --------------------------------------------------------------------------------------------------
# The report: the clerk's values as uploaded; masked for other readers


def test_the_report_shows_the_loader_their_values_and_masks_them_for_others(staff, reviewer, people_entry, web_as,
                                                                           api_as, audit_log):
    bad = "41080219900307123"  # 17 digits
    job = submit(staff, people_entry, csv_bytes([person(ids(1)[0]), person(bad, "坏")]), mode="load_valid")
    url = reverse("aggregation:job-report", args=[job.pk])

    def download(client, path=url):
        response = client.get(path)
        assert response.status_code == 200
        return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))

    assert download(web_as(staff))[1][:3] == ["3", "公民身份号码", bad]
    masked = download(web_as(reviewer))[1][2]
    assert masked != bad and "*" in masked
    assert download(api_as(staff), reverse("aggregation-job-report", args=[job.pk]))[1][2] == bad
    assert download(api_as(reviewer), reverse("aggregation-job-report", args=[job.pk]))[1][2] == masked
    assert [e.data["full"] for e in audit_log("aggregation.job.report_downloaded")] == [True, False, True, False]
