"""Data quality figures (R15): a known dataset's figures, the nightly job and the report page."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from aggregation.models import IngestJob, QualityReport, Record
from aggregation.selectors import quality
from aggregation.services import quality as quality_services
from security.crypto import encrypt
from tests.aggregation.builders import PERSON_ITEMS, id_number, load, make_dataset
from tests.support import commit_before


@pytest.fixture
def known_dataset(dept, staff):
    dataset = make_dataset(dept, name="质量测试", items=PERSON_ITEMS, update_cycle="weekly")
    load(dataset, [
        {"身份证号码": id_number(11), "姓名": "甲", "性别": "男", "户籍地址": "焦作市解放区1号",
         "联系电话": "13800000001"},
        {"身份证号码": id_number(12), "姓名": "乙", "性别": "女", "户籍地址": "焦作市解放区2号", "联系电话": ""},
        {"身份证号码": id_number(13), "姓名": "丙", "性别": "男", "户籍地址": "焦作市解放区3号", "联系电话": " "},
        {"身份证号码": id_number(14), "姓名": "丁", "性别": "女", "户籍地址": "", "联系电话": ""},
    ], actor=staff)
    return dataset


def test_quality_figures_on_a_known_dataset(known_dataset):
    # One key made invalid around the pipeline (bad check digit), as a hand-made SQL change would.
    record = Record.objects.filter(dataset=known_dataset).order_by("id").last()
    bad = id_number(14)[:17] + ("0" if id_number(14)[17] != "0" else "1")
    Record.objects.filter(pk=record.pk, dataset=known_dataset).update(key_enc=encrypt(bad))
    IngestJob.objects.create(dataset=known_dataset, format="csv", status="succeeded", duplicate_rows=2,
                             finished_at=timezone.now())
    report = quality_services.quality_compute(dataset=known_dataset, day=dt.date(2026, 11, 25))
    assert report.row_count == 4
    assert report.completeness == {"身份证号码": 1.0, "姓名": 1.0, "性别": 1.0, "户籍地址": 0.75, "联系电话": 0.25}
    assert report.completeness_avg == 0.8
    assert (report.valid_keys, report.validity) == (3, 0.75)
    assert report.duplicate_keys == 0 and report.load_duplicates == 2 and report.cycle_days == 7
    assert report.timely is True and report.days_since_load == 0
    later = quality_services.quality_compute(dataset=known_dataset, day=dt.date(2026, 11, 25),
                                    now=timezone.now() + dt.timedelta(days=8))
    assert later.pk == report.pk and later.timely is False and later.days_since_load == 8
    assert QualityReport.objects.filter(dataset=known_dataset).count() == 1


def test_nightly_job_and_report_page(known_dataset, person_records, staff, other_staff, reviewer, web_as, api_as,
                                     audit_log):
    from aggregation.tasks import quality_nightly_task

    before = web_as(staff).get(reverse("aggregation:quality-report")).content.decode()
    assert 'data-testid="quality-pending"' in before and "质量测试" in before
    assert quality_nightly_task() == 2
    assert quality_nightly_task() == 2  # idempotent: still one row per dataset and day
    assert QualityReport.objects.count() == 2 and len(audit_log("aggregation.quality.computed")) == 2
    own = web_as(staff).get(reverse("aggregation:quality-report")).content.decode()
    assert own.count('data-testid="quality-row"') == 2 and "text-bg-danger" in own  # 联系电话 25 %
    assert 'id="quality-data"' in own
    other = web_as(other_staff).get(reverse("aggregation:quality-report")).content.decode()
    assert other.count('data-testid="quality-row"') == 0
    bureau = api_as(reviewer).get(reverse("aggregation-quality-list")).json()
    assert len(bureau) == 2 and {r["dataset_name"] for r in bureau} == {"质量测试", "户籍人口基本信息"}
    filtered = api_as(reviewer).get(reverse("aggregation-quality-list"), {"department": other_staff.department_id})
    assert filtered.json() == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # another session commits while the page reads
def test_quality_page_reads_one_snapshot_while_reports_change(known_dataset, staff, web_as, monkeypatch):
    quality_services.quality_compute(dataset=known_dataset, day=timezone.localdate())
    # After the page has read the reports, before the datasets without one: another session drops the report.
    commit_before(monkeypatch, quality, "datasets_without_report",
                  ("DELETE FROM aggregation_qualityreport WHERE dataset_id = %s", [known_dataset.pk]))
    body = web_as(staff).get(reverse("aggregation:quality-report")).content.decode()
    assert body.count('data-testid="quality-row"') == 1 and 'data-testid="quality-pending"' not in body
