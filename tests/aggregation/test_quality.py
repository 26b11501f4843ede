"""Data quality figures (R15): a known dataset's figures, the nightly job and the report page."""

import datetime as dt

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from aggregation.models import IngestJob, QualityReport, StaleNotice
from aggregation.selectors import quality
from aggregation.services import quality as quality_services
from aggregation.storage import reading, writing
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
    # One key made invalid around the pipeline (bad check digit), as a hand-made SQL change would: the key inside
    # the row's token of the resource table.
    row = max(reading.rows(known_dataset, items=[known_dataset.key_item_name]), key=lambda r: r.id)
    fields = writing.cipher()
    (secret,) = reading.decrypted([row], fields)
    bad = id_number(14)[:17] + ("0" if id_number(14)[17] != "0" else "1")
    token = writing.seal_token(fields.encrypt, {**secret, known_dataset.key_item_name: bad})
    with connection.cursor() as cur:
        cur.execute(f"UPDATE pool.r{known_dataset.pk} SET token = %s WHERE id = %s", [token, row.id])  # noqa: S608
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


# --------------------------------------------------------------------------------------------------
# Consistency: the same subject's base item disagreeing between departments


@pytest.fixture
def two_sources(person_dataset, person_records, other_dept, other_staff):
    """市公安局's population (base items 姓名, 性别, 户籍地址) and 市民政局's conditional 低保 list keyed alike: one
    person's 姓名 differs, another's agrees, a third is only 民政's, a fourth has no 户籍地址 on 民政's side."""
    relief = make_dataset(other_dept, name="城乡低保对象信息", share_type="2", update_cycle="monthly", items=[
        ("公民身份号码", "C", True, False), ("姓名", "C", False, False), ("户籍地址", "C", False, False),
        ("保障类别", "C", False, False)])
    load(relief, [
        {"公民身份号码": id_number(1), "姓名": "张叁", "户籍地址": "焦作市解放区民主路12号", "保障类别": "A"},
        {"公民身份号码": id_number(2), "姓名": "李小明", "户籍地址": "", "保障类别": "B"},
        {"公民身份号码": id_number(3), "姓名": "王五", "户籍地址": "焦作市中站区1号", "保障类别": "A"},
    ], actor=other_staff)
    return person_dataset, relief


def test_consistency_counts_and_lists_the_disagreeing_pairs(two_sources, person_records):
    people, relief = two_sources
    quality_services.quality_compute_all(day=dt.date(2026, 11, 25))
    mine = QualityReport.objects.get(dataset=people)
    theirs = QualityReport.objects.get(dataset=relief)
    # Two shared subjects compared; one disagrees, on 姓名 only (a blank 户籍地址 is completeness, not a conflict).
    assert mine.consistency == [{"other_dataset": relief.pk, "compared": 2, "disagreeing": 1, "partial": False,
                                 "items": {"姓名": {"compared": 2, "disagreeing": 1},
                                           "户籍地址": {"compared": 1, "disagreeing": 0}}}]
    assert mine.inconsistent_subjects == theirs.inconsistent_subjects == 1
    assert mine.consistency_pairs_total == theirs.consistency_pairs_total == 1
    record = person_records[id_number(1)]
    assert mine.consistency_pairs == [{"item": "姓名", "record": record.id, "other_dataset": relief.pk,
                                       "other_record": theirs.consistency_pairs[0]["record"]}]
    assert theirs.consistency[0]["other_dataset"] == people.pk
    # Stored as record ids, never values.
    assert "张" not in str(mine.consistency_pairs) + str(theirs.consistency_pairs)
    # One dataset's own computation compares the same pairs.
    again = quality_services.quality_compute(dataset=relief, day=dt.date(2026, 11, 25))
    assert again.consistency == theirs.consistency and again.consistency_pairs == theirs.consistency_pairs


def test_consistency_pairs_are_shown_as_each_reader_may_see_them(two_sources, staff, other_staff, reviewer, web_as,
                                                                  api_as, audit_log):
    people, relief = two_sources
    quality_services.quality_compute_all()
    # 民政's staff: their own value in full, 公安's base item masked (R19.2), the key in full (their own record).
    page = web_as(other_staff).get(reverse("aggregation:quality-report")).content.decode()
    assert page.count('data-testid="consistency-pair"') == 1 and "张叁" in page and "张三" not in page
    assert id_number(1) in page and "张*" in page
    assert audit_log("aggregation.quality.pairs_viewed")[-1].data["masked"] is True
    # The bureau: everything masked.
    bureau = web_as(reviewer).get(reverse("aggregation:quality-report")).content.decode()
    assert bureau.count('data-testid="consistency-comparison"') == 1  # the pair of datasets once, not per report
    assert bureau.count('data-testid="consistency-pair"') == 1 and "张叁" not in bureau and id_number(1) not in bureau
    # 公安's staff may not read 民政's conditional 低保 list: counted, not listed (whether the person is on it).
    own = web_as(staff).get(reverse("aggregation:quality-report")).content.decode()
    assert 'data-testid="consistency-comparison"' in own and 'data-testid="consistency-pair"' not in own
    assert "另有 1 处" in own and "张叁" not in own
    # The API: the figures on each report, the pairs as the reader may see them.
    listed = api_as(other_staff).get(reverse("aggregation-quality-list")).json()
    assert listed[0]["inconsistent_subjects"] == 1 and listed[0]["consistency_pairs_total"] == 1
    body = api_as(other_staff).get(reverse("aggregation-quality-consistency")).json()
    assert body["pairs_total"] == 1 and body["hidden"] == 0
    assert body["comparisons"][0]["items"][0] == {"name": "姓名", "compared": 2, "disagreeing": 1}
    pair = body["pairs"][0]
    assert (pair["key"], pair["item"], pair["a_value"], pair["b_value"]) == (id_number(1), "姓名", "张叁", "张*")
    assert pair["a_dataset"] == relief.pk and pair["b_department_name"] == people.department.name
    hidden = api_as(staff).get(reverse("aggregation-quality-consistency")).json()
    assert hidden["pairs"] == [] and hidden["hidden"] == 1
    assert api_as(staff).get(reverse("aggregation-quality-consistency"), {"sate": "x"}).status_code == 400


def test_same_department_and_non_base_items_are_not_compared(person_dataset, person_records, dept, staff):
    # A second dataset of the same department: not compared (one department's own sources).
    same = make_dataset(dept, name="居民身份证办理信息", items=[("公民身份号码", "C", True, False),
                                                             ("姓名", "C", False, False)])
    load(same, [{"公民身份号码": id_number(1), "姓名": "别名"}], actor=staff)
    assert quality_services.consistency_candidates() == []


# --------------------------------------------------------------------------------------------------
# Staleness (R24.1): the provider is told once per due date


def test_a_stale_dataset_notifies_its_provider_once_per_due_date(known_dataset, staff, head, other_staff,
                                                                 audit_log):
    from aggregation.models import Dataset
    from portal.models import Notification

    now = timezone.now()
    assert quality_services.stale_notify(now=now + dt.timedelta(days=7)) == 0  # weekly: still on time
    # Last loaded 20 days ago: due 13 days ago.
    Dataset.objects.filter(pk=known_dataset.pk).update(last_loaded_at=now - dt.timedelta(days=20))
    due = timezone.localdate(now - dt.timedelta(days=20)) + dt.timedelta(days=7)
    assert quality_services.stale_notify(now=now) == 1
    notes = Notification.objects.filter(read_at__isnull=True)
    assert {n.recipient for n in notes} == {staff, head}  # the provider, not other departments
    note = notes.get(recipient=staff)
    assert due.isoformat() in note.title and "已逾期 13 天" in note.body
    assert audit_log("aggregation.dataset.stale_notified")[-1].data["due"] == due.isoformat()
    # The next night: the same due date, nobody told again.
    assert quality_services.stale_notify(now=now + dt.timedelta(days=1)) == 0
    assert Notification.objects.count() == 2
    # A new load, then a new staleness: a new notice, folded into the unread one (one unread per kind).
    load(known_dataset, [{"身份证号码": id_number(11), "姓名": "甲改", "性别": "男", "户籍地址": "焦作市解放区1号",
                          "联系电话": "13800000001"}], actor=staff)
    known_dataset.refresh_from_db()
    assert quality_services.stale_notify(now=known_dataset.last_loaded_at + dt.timedelta(days=8)) == 1
    note = Notification.objects.get(recipient=staff)
    assert note.count == 2 and "有 2 个数据资源未按更新周期更新" in note.title
    assert StaleNotice.objects.filter(dataset=known_dataset).count() == 2
