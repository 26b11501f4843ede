"""Theme builds read the resource tables only (issue 18, the contract step): the sources' rows written straight into
`pool.r<id>` by storage.writing (no aggregation_record row anywhere), built by one INSERT … SELECT, browsed with the
selected encrypted items opened from the rows' tokens and every unselected one never shown."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from aggregation.models import Record, ThemeBuildJob, ThemeRow
from aggregation.services import themes
from aggregation.storage import reading
from aggregation.storage.layout import Layout
from aggregation.storage.writing import write_batch
from security.crypto import FieldCipher, blind_index, decrypt
from tests.aggregation.builders import id_number, make_dataset

pytestmark = [pytest.mark.django_db, pytest.mark.tables_only]

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
PHONE = "13912345678"  # an encrypted item no theme selects: it must never be shown


def write(dataset, rows: list[dict], *, now=T0) -> None:
    dataset.refresh_from_db()
    target = Layout.stored(dataset).target(dataset.key_item_name)
    batch = pl.DataFrame({"row_no": list(range(2, 2 + len(rows))),
                          **{c.item: [r.get(c.item, "") for r in rows] for c in target.columns}})
    write_batch(target, batch, cipher=FieldCipher(settings.FIELD_ENCRYPTION_KEYS, settings.BLIND_INDEX_KEY), now=now)


@pytest.fixture
def sources(dept, other_dept):
    """Two sources written into their tables only: the population (own department: 姓名 and 联系电话 encrypted,
    性别 clear) and marriages (another department's unconditional resource: 配偶姓名 encrypted, 婚姻状况 clear)."""
    people = make_dataset(dept, name="户籍人口", items=[
        ("身份证号码", "C", True, True), ("姓名", "C", False, True), ("性别", "C", False, True),
        ("联系电话", "C", False, False),
    ])
    marriage = make_dataset(other_dept, name="婚姻登记", items=[
        ("身份证号码", "C", True, False), ("婚姻状况", "C", False, True), ("配偶姓名", "C", False, False),
    ])
    write(people, [
        {"身份证号码": id_number(1), "姓名": "张三", "性别": "男", "联系电话": PHONE},
        {"身份证号码": id_number(2), "姓名": "李四", "性别": "女", "联系电话": PHONE},
        {"身份证号码": id_number(4), "姓名": "赵六", "性别": "男", "联系电话": PHONE},  # deleted below
        {"身份证号码": id_number(5), "姓名": "", "性别": "", "联系电话": PHONE},  # no selected item: not in any theme
    ])
    write(marriage, [
        {"身份证号码": id_number(1), "婚姻状况": "已婚", "配偶姓名": "王芳"},
        {"身份证号码": id_number(3), "婚姻状况": "未婚", "配偶姓名": ""},
        {"身份证号码": id_number(4), "婚姻状况": "已婚", "配偶姓名": "钱七"},
    ], now=T0 + dt.timedelta(hours=1))  # newer than the population's rows: its tokens are the keys'
    gone = reading.by_key(people, id_number(4))
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {Layout.stored(people).qualified} SET deleted_at = now() WHERE id = %s",  # noqa: S608
                    [gone.id])
    for dataset in (people, marriage):
        dataset.refresh_from_db()
    assert {n for n, e in people.columns.items() if not e["col"]} == {"身份证号码", "姓名", "联系电话"}
    assert {n for n, e in marriage.columns.items() if not e["col"]} == {"身份证号码", "配偶姓名"}
    assert not Record.objects.filter(dataset__in=[people, marriage]).exists()  # the tables are all there is
    return people, marriage


def build(staff, theme_obj) -> ThemeBuildJob:
    job = themes.theme_rebuild_request(actor=staff, theme_id=theme_obj.pk)
    return themes.theme_build(job_id=job.pk)


def test_a_theme_is_built_from_the_tables_and_shows_only_its_selected_items(
        sources, staff, reviewer, web_as, api_as, audit_log, django_capture_on_commit_callbacks):
    people, marriage = sources
    t = themes.theme_save(actor=staff, name="婚育", key_kind="id_number", sources=[
        {"dataset": people.pk, "items": ["姓名", "性别"]},
        {"dataset": marriage.pk, "items": ["婚姻状况", "配偶姓名"]},
    ])
    with django_capture_on_commit_callbacks(execute=False):
        job = build(staff, t)
    # ANY: subjects 1, 2 (people), 1, 3 (marriage); 4 is deleted in people and kept by marriage; 5 holds no
    # selected item
    assert (job.status, job.row_count) == ("succeeded", 4) and "来源 2 个数据资源" in job.log
    assert audit_log("aggregation.theme.built")[-1].data["rows"] == 4
    rows = {bytes(r.key_hash): r for r in ThemeRow.objects.filter(theme=t)}
    assert set(rows) == {blind_index(id_number(n)) for n in (1, 2, 3, 4)}
    one = rows[blind_index(id_number(1))]
    stored = json.dumps(one.data, ensure_ascii=False)
    assert one.data[f"{people.pk}:性别"] == "男" and one.data[f"{marriage.pk}:婚姻状况"] == "已婚"
    assert "张三" not in stored and "王芳" not in stored and PHONE not in stored  # encrypted stays encrypted
    assert set(one.data) == {f"{people.pk}:性别", reading.theme_token_key(people.pk), f"{marriage.pk}:婚姻状况",
                             reading.theme_token_key(marriage.pk)}
    # the key: the newest source's row token (marriage's), its key item there
    assert one.key_dataset == marriage.pk and one.key_enc == one.data[reading.theme_token_key(marriage.pk)]
    assert json.loads(decrypt(one.key_enc))["身份证号码"] == id_number(1)
    assert rows[blind_index(id_number(2))].key_dataset == people.pk
    # 3's spouse is empty: its source row holds no selected encrypted item, so no token is copied for it
    assert reading.theme_token_key(marriage.pk) not in rows[blind_index(id_number(3))].data

    page = themes.theme_rows_page(actor=staff, theme=t)
    subject = {r.pk: n for n in (1, 2, 3, 4) for r in [rows[blind_index(id_number(n))]]}
    shown = {subject[r["id"]]: r["values"] for r in page["rows"]}
    keys = {subject[r["id"]]: r["key"] for r in page["rows"]}
    assert keys[1] == "410802********0010"  # another department's source among them: the key masked
    assert shown[1] == {f"{people.pk}:姓名": "张三", f"{people.pk}:性别": "男",  # own data: full
                                   f"{marriage.pk}:婚姻状况": "已婚", f"{marriage.pk}:配偶姓名": "王*"}  # masked
    assert shown[2][f"{marriage.pk}:婚姻状况"] is None
    assert shown[4][f"{people.pk}:姓名"] is None  # the deleted row is not read
    assert shown[3][f"{marriage.pk}:配偶姓名"] is None
    assert PHONE not in json.dumps(page["rows"], ensure_ascii=False, default=str)
    bureau = themes.theme_rows_page(actor=reviewer, theme=t)
    assert {r["values"][f"{people.pk}:姓名"] for r in bureau["rows"]} == {"张*", "李*", None}

    body = web_as(staff).get(reverse("aggregation:theme-detail", args=[t.pk])).content.decode()
    assert body.count('data-testid="theme-data-row"') == 4 and "张三" in body and PHONE not in body
    api = api_as(staff).get(reverse("aggregation-theme-rows", args=[t.pk]))
    assert api.status_code == 200 and len(api.json()["results"]) == 4 and PHONE not in api.content.decode()

    # ALL: only the subject in both sources with a selected item in each (4 is deleted in people)
    themes.theme_save(actor=staff, theme_id=t.pk, name=t.name, key_kind="id_number", join_mode="all", sources=[
        {"dataset": people.pk, "items": ["姓名"]}, {"dataset": marriage.pk, "items": ["配偶姓名"]},
    ])
    with django_capture_on_commit_callbacks(execute=False):
        job = build(staff, t)
    assert job.row_count == 1 and ThemeRow.objects.filter(theme=t).count() == 1
    (row,) = themes.theme_rows_page(actor=staff, theme=t)["rows"]
    assert row["values"] == {f"{people.pk}:姓名": "张三", f"{marriage.pk}:配偶姓名": "王*"}
    # the key in full where every source is the reader's own
    t2 = themes.theme_save(actor=staff, name="人口", key_kind="id_number",
                           sources=[{"dataset": people.pk, "items": ["性别"]}])
    build(staff, t2)
    assert {r["key"] for r in themes.theme_rows_page(actor=staff, theme=t2)["rows"]} == {id_number(1), id_number(2)}


def test_an_unselected_encrypted_item_is_never_shown_even_from_a_token_that_holds_it(sources, staff):
    people, _marriage = sources
    t = themes.theme_save(actor=staff, name="人口", key_kind="id_number",
                          sources=[{"dataset": people.pk, "items": ["姓名"]}])
    assert build(staff, t).row_count == 2
    row = ThemeRow.objects.get(theme=t, key_hash=blind_index(id_number(1)))
    assert json.loads(decrypt(row.data[reading.theme_token_key(people.pk)]))["联系电话"] == PHONE  # it is in there
    page = themes.theme_rows_page(actor=staff, theme=t)
    assert [set(r["values"]) for r in page["rows"]] == [{f"{people.pk}:姓名"}] * 2
    assert PHONE not in json.dumps(page["rows"], ensure_ascii=False, default=str)


def test_a_source_left_out_or_without_rows_builds_as_before(sources, staff, other_dept):
    people, _marriage = sources
    empty = make_dataset(other_dept, name="空资源",
                         items=[("身份证号码", "C", True, False), ("备注", "C", False, False)])
    t = themes.theme_save(actor=staff, name="三源", key_kind="id_number", join_mode="all", sources=[
        {"dataset": people.pk, "items": ["性别"]}, {"dataset": empty.pk, "items": ["备注"]},
    ])
    assert build(staff, t).row_count == 0  # ALL with a source holding no row
    from catalog.models import CatalogEntry

    CatalogEntry.objects.filter(pk=empty.entry_id).update(share_type="2", share_condition="依申请")
    job = build(staff, t)  # the source the owner may no longer read is skipped, and the log says so
    assert job.row_count == 2 and "空资源" in job.log and "来源 1 个数据资源" in job.log
    # no usable source at all: an empty theme, no statement over nothing
    CatalogEntry.objects.filter(pk=people.entry_id).update(share_type="2", share_condition="依申请")
    type(people).objects.filter(pk=people.pk).update(department=other_dept)
    job = build(staff, t)
    assert (job.status, job.row_count) == ("succeeded", 0) and not ThemeRow.objects.filter(theme=t).exists()


def test_item_names_reach_the_build_as_parameters_only(dept, staff):
    hostile = ['备注"; DROP TABLE x; --', "a'b", "%s", "50%"]
    dataset = make_dataset(dept, name="恶意名称", items=[("身份证号码", "C", True, True),
                                                        *[(n, "C", False, False) for n in hostile]])
    write(dataset, [{"身份证号码": id_number(1), **{n: f"v{i}" for i, n in enumerate(hostile)}}])
    dataset.refresh_from_db()
    statement, params = reading.theme_sources_sql([(Layout.stored(dataset), hostile)])
    text = statement.as_string(connection.connection)
    assert not any(n in text for n in hostile if n != "%s") and params == [f"{dataset.pk}:{n}" for n in hostile]
    assert text.count("%s") == len(params)  # "%s" the placeholders only
    t = themes.theme_save(actor=staff, name="恶意", key_kind="id_number",
                          sources=[{"dataset": dataset.pk, "items": hostile}])
    assert build(staff, t).row_count == 1
    (row,) = themes.theme_rows_page(actor=staff, theme=t)["rows"]
    assert row["values"] == {f"{dataset.pk}:{n}": f"v{i}" for i, n in enumerate(hostile)}
