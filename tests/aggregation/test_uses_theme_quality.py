"""Theme databases (definition, rebuild job, masked keyset browsing) and data quality figures (R15)."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from aggregation import quality, theme
from aggregation.models import IngestJob, Record
from aggregation.models_uses import QualityReport, ThemeBuildJob, ThemeRow, ThemeSource
from catalog.models import CatalogEntry
from portal.errors import NotFound, PermissionDenied, PortalError
from security.crypto import blind_index, encrypt
from tests.aggregation.test_uses_fixtures import *  # noqa: F403
from tests.aggregation.test_uses_fixtures import PERSON_ITEMS, id_number, load, make_dataset
from tests.support import commit_before


@pytest.fixture
def marriage(other_dept, other_staff, person_records):
    dataset = make_dataset(other_dept, name="婚姻登记信息", items=[
        ("身份证号码", "C", True, False), ("婚姻状况", "C", False, True), ("配偶姓名", "C", False, False),
    ])
    load(dataset, [
        {"身份证号码": id_number(1), "婚姻状况": "已婚", "配偶姓名": "王芳"},
        {"身份证号码": id_number(3), "婚姻状况": "未婚", "配偶姓名": ""},
    ], actor=other_staff)
    return dataset


def _build(staff, theme_obj, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = theme.theme_rebuild_request(actor=staff, theme_id=theme_obj.pk)
    assert len(callbacks) == 1  # the Celery task is sent after commit
    return theme.theme_build(job_id=job.pk)


def test_theme_definition_build_and_masked_browse(
    person_dataset, marriage, staff, reviewer, audit_log, django_capture_on_commit_callbacks
):
    t = theme.theme_save(actor=staff, name="婚育服务主题库", key_kind="id_number", sources=[
        {"dataset": person_dataset.pk, "items": ["姓名", "户籍地址"]},
        {"dataset": marriage.pk, "items": ["婚姻状况", "配偶姓名"]},
    ])
    assert len(audit_log("aggregation.theme.created")) == 1
    job = _build(staff, t, django_capture_on_commit_callbacks)
    assert job.status == "succeeded" and job.progress == 100 and job.row_count == 3
    t.refresh_from_db()
    assert t.row_count == 3 and t.built_at is not None
    row = ThemeRow.objects.get(theme=t, key_hash=blind_index(id_number(1)))
    assert row.data[f"{marriage.pk}:婚姻状况"] == "已婚"
    assert row.data[f"{person_dataset.pk}:姓名"].startswith("test1:")  # ciphertext stays ciphertext
    page = theme.theme_rows_page(actor=staff, theme=t, limit=2)
    assert len(page["rows"]) == 2 and page["next"] is not None
    rest = theme.theme_rows_page(actor=staff, theme=t, after=page["next"], limit=2)
    assert len(rest["rows"]) == 1 and rest["next"] is None
    shown = {r["values"].get(f"{marriage.pk}:婚姻状况"): r["values"] for r in page["rows"] + rest["rows"]}
    assert shown["已婚"][f"{person_dataset.pk}:姓名"] == "张三"  # own department's data: full
    assert shown["已婚"][f"{marriage.pk}:配偶姓名"] == "王*"  # another department's personal item: masked
    assert len(audit_log("aggregation.theme.viewed")) == 2
    bureau_view = theme.theme_rows_page(actor=reviewer, theme=t)
    assert all("*" in r["values"][f"{person_dataset.pk}:姓名"] for r in bureau_view["rows"]
               if r["values"].get(f"{person_dataset.pk}:姓名"))
    # inner join: only subjects present in both sources
    theme.theme_save(actor=staff, theme_id=t.pk, name=t.name, key_kind="id_number", join_mode="all", sources=[
        {"dataset": person_dataset.pk, "items": ["姓名"]}, {"dataset": marriage.pk, "items": ["婚姻状况"]},
    ])
    job = _build(staff, t, django_capture_on_commit_callbacks)
    assert job.row_count == 1 and ThemeRow.objects.filter(theme=t).count() == 1
    assert ThemeBuildJob.objects.filter(theme=t).count() == 2
    (changed,) = audit_log("aggregation.theme.changed")
    assert changed.actor == staff and changed.data["after"]["join_mode"] == "all"
    assert changed.data["before"]["join_mode"] == "any"
    assert len(audit_log("aggregation.theme.rebuild_requested")) == 2
    assert [e.data["rows"] for e in audit_log("aggregation.theme.built")] == [3, 1]
    # a source the owner may no longer read is left out of the next build, and the job says so
    CatalogEntry.objects.filter(pk=marriage.entry_id).update(share_type="2", share_condition="依申请")
    theme.theme_save(actor=staff, theme_id=t.pk, name=t.name, key_kind="id_number", join_mode="any", sources=[
        {"dataset": person_dataset.pk, "items": ["姓名"]},
    ])
    ThemeSource.objects.create(theme=t, dataset=marriage, item_names=["婚姻状况"], position=1)
    job = _build(staff, t, django_capture_on_commit_callbacks)
    assert job.row_count == 2 and "婚姻登记信息" in job.log
    assert not any(k.startswith(f"{marriage.pk}:") for r in ThemeRow.objects.filter(theme=t) for k in r.data)


def test_theme_refuses_foreign_kinds_and_invisible_sources(person_dataset, dept, other_dept, staff, other_staff):
    hidden = make_dataset(other_dept, name="低保对象", share_type="2", items=PERSON_ITEMS[:2])
    legal = make_dataset(dept, name="企业", classification="102",
                         items=[("统一社会信用代码", "C", True, True), ("企业名称", "C", False, True)])
    for sources in (
        [{"dataset": hidden.pk, "items": ["姓名"]}],
        [{"dataset": legal.pk, "items": ["企业名称"]}],
        [{"dataset": person_dataset.pk, "items": ["不存在"]}],
        [],
    ):
        with pytest.raises(PortalError):
            theme.theme_save(actor=staff, name="x", key_kind="id_number", sources=sources)
    t = theme.theme_save(actor=staff, name="人口", key_kind="id_number",
                         sources=[{"dataset": person_dataset.pk, "items": ["姓名"]}])
    with pytest.raises(NotFound):  # another department does not even see it
        theme.theme_rebuild_request(actor=other_staff, theme_id=t.pk)


def test_a_second_request_joins_the_queued_build_unless_it_is_stale(person_dataset, staff):
    t = theme.theme_save(actor=staff, name="人口", key_kind="id_number",
                         sources=[{"dataset": person_dataset.pk, "items": ["姓名"]}])
    first = theme.theme_rebuild_request(actor=staff, theme_id=t.pk)
    assert theme.theme_rebuild_request(actor=staff, theme_id=t.pk) == first
    ThemeBuildJob.objects.filter(pk=first.pk).update(created_at=timezone.now() - dt.timedelta(hours=2))
    second = theme.theme_rebuild_request(actor=staff, theme_id=t.pk)
    assert second != first and ThemeBuildJob.objects.get(pk=first.pk).status == "failed"


def test_bureau_sees_but_cannot_change_a_theme(person_dataset, staff, reviewer):
    t = theme.theme_save(actor=staff, name="人口", key_kind="id_number",
                         sources=[{"dataset": person_dataset.pk, "items": ["姓名"]}])
    assert theme.access_theme_by_id(reviewer, t.pk) == t
    with pytest.raises(PermissionDenied):
        theme.theme_rebuild_request(actor=reviewer, theme_id=t.pk)


def test_theme_pages(person_dataset, marriage, staff, other_staff, web_as, api_as, django_capture_on_commit_callbacks):
    client = web_as(staff)
    created = client.post(reverse("aggregation:theme-create"), {
        "name": "婚育", "key_kind": "id_number", "join_mode": "any",
        "columns": [f"{person_dataset.pk}:姓名", f"{marriage.pk}:婚姻状况"],
    })
    assert created.status_code == 302, created.content.decode()[:2000]
    t = theme.ThemeDatabase.objects.get(name="婚育")
    _build(staff, t, django_capture_on_commit_callbacks)
    body = client.get(reverse("aggregation:theme-detail", args=[t.pk])).content.decode()
    assert body.count('data-testid="theme-data-row"') == 3 and "张三" in body
    rows = api_as(staff).get(reverse("aggregation-theme-rows", args=[t.pk])).json()
    assert len(rows["results"]) == 3 and rows["next"] is None
    assert api_as(other_staff).get(reverse("aggregation-theme-detail", args=[t.pk])).status_code == 404


# --------------------------------------------------------------------------------------------------
# Quality


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
    report = quality.quality_compute(dataset=known_dataset, day=dt.date(2026, 11, 25))
    assert report.row_count == 4
    assert report.completeness == {"身份证号码": 1.0, "姓名": 1.0, "性别": 1.0, "户籍地址": 0.75, "联系电话": 0.25}
    assert report.completeness_avg == 0.8
    assert (report.valid_keys, report.validity) == (3, 0.75)
    assert report.duplicate_keys == 0 and report.load_duplicates == 2 and report.cycle_days == 7
    assert report.timely is True and report.days_since_load == 0
    later = quality.quality_compute(dataset=known_dataset, day=dt.date(2026, 11, 25),
                                    now=timezone.now() + dt.timedelta(days=8))
    assert later.pk == report.pk and later.timely is False and later.days_since_load == 8
    assert QualityReport.objects.filter(dataset=known_dataset).count() == 1


def test_nightly_job_and_report_page(known_dataset, person_records, staff, other_staff, reviewer, web_as, api_as,
                                     audit_log):
    from aggregation.uses_tasks import quality_nightly_task

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


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # like every other transactional test
def test_theme_page_reads_one_snapshot_while_a_build_commits(person_dataset, person_records, staff, web_as,
                                                             monkeypatch):
    from aggregation import uses_views

    t = theme.theme_save(actor=staff, name="人口", key_kind="id_number",
                         sources=[{"dataset": person_dataset.pk, "items": ["姓名"]}])
    theme.theme_build(job_id=ThemeBuildJob.objects.create(theme=t, created_by=staff).pk)
    # Another session replaces the theme's rows and count after the page has read the theme, before its rows.
    commit_before(monkeypatch, uses_views.themes, "theme_rows_page",
                  (f"DELETE FROM {ThemeRow._meta.db_table} WHERE theme_id = %s", [t.pk]),  # noqa: S608
                  ("UPDATE aggregation_themedatabase SET row_count = 0 WHERE id = %s", [t.pk]))
    body = web_as(staff).get(reverse("aggregation:theme-detail", args=[t.pk])).content.decode()
    assert "主体数 2" in body and body.count('data-testid="theme-data-row"') == 2  # one snapshot: before the commit
    assert ThemeRow.objects.filter(theme=t).count() == 0  # and the commit did happen


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # another session commits while the page reads
def test_quality_page_reads_one_snapshot_while_reports_change(known_dataset, staff, web_as, monkeypatch):
    quality.quality_compute(dataset=known_dataset, day=timezone.localdate())
    # After the page has read the reports, before the datasets without one: another session drops the report.
    commit_before(monkeypatch, quality, "datasets_without_report",
                  ("DELETE FROM aggregation_qualityreport WHERE dataset_id = %s", [known_dataset.pk]))
    body = web_as(staff).get(reverse("aggregation:quality-report")).content.decode()
    assert body.count('data-testid="quality-row"') == 1 and 'data-testid="quality-pending"' not in body
