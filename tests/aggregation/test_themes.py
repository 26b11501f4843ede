"""Theme databases: definition, rebuild job, masked keyset browsing, the page read from one snapshot."""

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from aggregation.models import Dataset, ThemeBuildJob, ThemeRow, ThemeSource
from aggregation.selectors.themes import access_theme_by_id
from aggregation.services import themes as theme
from aggregation.storage.reading import theme_token_key
from catalog.models import CatalogEntry
from portal.errors import NotFound, PermissionDenied, PortalError
from portal.services.jobs import reap_stale_jobs
from security.crypto import blind_index, decrypt
from tests.aggregation.builders import PERSON_ITEMS, id_number, load, make_dataset
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
    # an encrypted item stays encrypted: only inside its source's row token, copied as it is
    assert f"{person_dataset.pk}:姓名" not in row.data and "张三" not in json.dumps(row.data, ensure_ascii=False)
    assert "王芳" not in json.dumps(row.data, ensure_ascii=False)  # 配偶姓名: in the marriage row's token
    assert row.data[theme_token_key(person_dataset.pk)].startswith("test1:")
    assert json.loads(decrypt(row.key_enc))[Dataset.objects.get(pk=row.key_dataset).key_item_name] == id_number(1)
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


def test_a_running_build_whose_worker_died_is_failed_by_the_reaper(person_dataset, staff, audit_log):
    t = theme.theme_save(actor=staff, name="人口", key_kind="id_number",
                         sources=[{"dataset": person_dataset.pk, "items": ["姓名"]}])
    first = theme.theme_rebuild_request(actor=staff, theme_id=t.pk)
    long_ago = timezone.now() - theme.STALE_AFTER - dt.timedelta(minutes=1)
    ThemeBuildJob.objects.filter(pk=first.pk).update(status="running", started_at=long_ago, heartbeat_at=long_ago,
                                                     created_at=long_ago)
    assert theme.theme_rebuild_request(actor=staff, theme_id=t.pk) == first  # a running build is the reaper's
    assert reap_stale_jobs()[ThemeBuildJob._meta.label_lower] == 1
    first.refresh_from_db()
    assert (first.status, first.error_code) == ("failed", "stale_heartbeat") and "无心跳" in first.log
    (event,) = audit_log("aggregation.theme.build_failed")
    assert (event.object_id, event.department_id) == (str(t.pk), t.department_id)
    second = theme.theme_rebuild_request(actor=staff, theme_id=t.pk)
    assert second != first and second.status == "pending"
    assert theme.theme_build(job_id=first.pk).status == "failed"  # its task, redelivered late, leaves it failed


def test_bureau_sees_but_cannot_change_a_theme(person_dataset, staff, reviewer):
    t = theme.theme_save(actor=staff, name="人口", key_kind="id_number",
                         sources=[{"dataset": person_dataset.pk, "items": ["姓名"]}])
    assert access_theme_by_id(reviewer, t.pk) == t
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


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # like every other transactional test
def test_theme_page_reads_one_snapshot_while_a_build_commits(person_dataset, person_records, staff, web_as,
                                                             monkeypatch):
    t = theme.theme_save(actor=staff, name="人口", key_kind="id_number",
                         sources=[{"dataset": person_dataset.pk, "items": ["姓名"]}])
    theme.theme_build(job_id=ThemeBuildJob.objects.create(theme=t, created_by=staff).pk)
    # Another session replaces the theme's rows and count after the page has read the theme, before its rows.
    commit_before(monkeypatch, theme, "theme_rows_page",
                  (f"DELETE FROM {ThemeRow._meta.db_table} WHERE theme_id = %s", [t.pk]),  # noqa: S608
                  ("UPDATE aggregation_themedatabase SET row_count = 0 WHERE id = %s", [t.pk]))
    body = web_as(staff).get(reverse("aggregation:theme-detail", args=[t.pk])).content.decode()
    assert "主体数 2" in body and body.count('data-testid="theme-data-row"') == 2  # one snapshot: before the commit
    assert ThemeRow.objects.filter(theme=t).count() == 0  # and the commit did happen
