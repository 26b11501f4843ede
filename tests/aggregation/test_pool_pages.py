"""Pages of the storage part: permission matrix (anonymous, wrong department, right department, bureau,
county bureau), the upload → mapping → progress flow, masking on the dataset page, audited reads."""

import pytest
from django.urls import reverse

from aggregation.models import IngestJob
from tests.aggregation.builders import csv_bytes, ids, person, submit, upload
from tests.permissions import LOGIN, Row, check_matrix

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded(staff, people_entry):
    keys = ids(3)
    rows = [person(keys[0], "王小明"), person(keys[1], "李娜"), person("41080219900307123", "坏")]
    job = submit(staff, people_entry, csv_bytes(rows), mode="load_valid")
    assert job.status == "succeeded"
    return job


def pages(job):
    return {
        "index": reverse("aggregation:index"),
        "upload": reverse("aggregation:upload", args=[job.dataset.entry_id]),
        "dataset": reverse("aggregation:dataset-detail", args=[job.dataset_id]),
        "job": reverse("aggregation:job-detail", args=[job.pk]),
        "progress": reverse("aggregation:job-progress", args=[job.pk]),
        "report": reverse("aggregation:job-report", args=[job.pk]),
    }


MATRIX = {
    # page: expected status per person (LOGIN = 302 to the login page)
    "index": {"anonymous": LOGIN, "staff": 200, "head": 200, "other_staff": 200, "county_bureau_user": 200,
              "reviewer": 200},
    "upload": {"anonymous": LOGIN, "staff": 200, "head": 404, "other_staff": 404, "county_bureau_user": 404,
               "reviewer": 404},
    "dataset": {"anonymous": LOGIN, "staff": 200, "head": 200, "other_staff": 404, "county_bureau_user": 404,
                "reviewer": 200},
    "job": {"anonymous": LOGIN, "staff": 200, "head": 200, "other_staff": 404, "county_bureau_user": 404,
            "reviewer": 200},
    "progress": {"anonymous": LOGIN, "staff": 200, "head": 200, "other_staff": 404, "county_bureau_user": 404,
                 "reviewer": 200},
    "report": {"anonymous": LOGIN, "staff": 200, "head": 200, "other_staff": 404, "county_bureau_user": 404,
               "reviewer": 200},
}


@pytest.fixture
def people(staff, head, other_staff, county_bureau_user, reviewer):
    return {"anonymous": None, "staff": staff, "head": head, "other_staff": other_staff,
            "county_bureau_user": county_bureau_user, "reviewer": reviewer}


def test_permission_matrix(people, loaded):
    urls = pages(loaded)
    check_matrix(people, [Row("get", urls[page], expected, label=page) for page, expected in MATRIX.items()])


def test_only_provider_staff_may_post(people, loaded):
    urls = pages(loaded)
    before = IngestJob.objects.get(pk=loaded.pk).status

    def unchanged(who, response):
        assert IngestJob.objects.get(pk=loaded.pk).status == before, "the job was rerun"

    check_matrix(people, [
        Row("post", urls["upload"], {"other_staff": 404, "reviewer": 404, "head": 404},
            body=lambda: {"file": upload(b"x"), "mode": "all_or_nothing"}),
        Row("post", reverse("aggregation:job-rerun", args=[loaded.pk]),
            {"other_staff": 404, "reviewer": 302, "head": 302}, also=unchanged),
    ])


def test_dataset_page_masks_and_audits_the_read(web_as, staff, loaded, audit_log):
    response = web_as(staff).get(pages(loaded)["dataset"])
    html = response.content.decode()
    assert "王*明" in html and "李*" in html and "王小明" not in html
    key = ids(3)[0]
    assert key not in html and key[:6] + "********" + key[-4:] in html
    assert "13812345678" not in html and "138****5678" in html
    event = audit_log("aggregation.dataset.viewed")[-1]
    assert event.actor == staff and event.data["rows"] == 2


def test_index_lists_the_pool_and_jobs(web_as, staff, loaded):
    html = web_as(staff).get(reverse("aggregation:index")).content.decode()
    assert "户籍人口信息" in html and f'data-testid="upload-{loaded.dataset.entry_id}"' in html
    assert loaded.original_name in html


def test_upload_mapping_and_progress_flow(web_as, staff, people_entry, audit_log):
    client = web_as(staff)
    key = ids(1)[0]
    content = csv_bytes([[key, "张三"]], header=["身份证号", "名字"])
    response = client.post(reverse("aggregation:upload", args=[people_entry.pk]),
                           {"file": upload(content), "mode": "all_or_nothing", "encoding": ""})
    job = IngestJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("aggregation:job-detail", args=[job.pk])
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="mapping-form"' in page and "身份证号" in page
    progress = client.get(reverse("aggregation:job-progress", args=[job.pk])).content.decode()
    assert "hx-get" not in progress  # waiting for the mapping: nothing to poll
    response = client.post(reverse("aggregation:job-detail", args=[job.pk]),
                           {"col_0": "", "col_1": "姓名", "mode": "all_or_nothing"})
    assert "公民身份号码" in response.content.decode() and 'data-testid="mapping-error"' in response.content.decode()
    response = client.post(reverse("aggregation:job-detail", args=[job.pk]),
                           {"col_0": "公民身份号码", "col_1": "姓名", "mode": "all_or_nothing"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == "pending" and job.mapping == {"身份证号": "公民身份号码", "名字": "姓名"}
    progress = client.get(reverse("aggregation:job-progress", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in progress and "progress-bar" in progress
    from aggregation.services.ingest import ingest_job_run

    ingest_job_run(job_id=job.pk)
    progress = client.get(reverse("aggregation:job-progress", args=[job.pk])).content.decode()
    assert "hx-get" not in progress and "100%" in progress and "已完成" in progress


def test_upload_errors_show_on_the_form(web_as, staff, people_entry, settings):
    settings.AGGREGATION = {**settings.AGGREGATION, "MAX_UPLOAD_BYTES": 10}
    response = web_as(staff).post(reverse("aggregation:upload", args=[people_entry.pk]),
                                  {"file": upload(b"0123456789ABCDEF"), "mode": "all_or_nothing"})
    assert response.status_code == 200 and "上限" in response.content.decode()


def test_report_download_is_audited(web_as, staff, loaded, audit_log):
    response = web_as(staff).get(pages(loaded)["report"])
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.splitlines()[0] == "行号,列,值,原因" and "身份证号应为18位" in body
    assert audit_log("aggregation.job.report_downloaded")


def test_integrity_page_shows_tampering(web_as, reviewer, other_staff, loaded, audit_log):
    from django.db import connection

    url = reverse("aggregation:dataset-integrity", args=[loaded.dataset_id])
    assert web_as(other_staff).get(url).status_code == 404
    client = web_as(reviewer)
    assert 'data-testid="integrity-ok"' in client.get(url).content.decode()
    from psycopg import sql

    from aggregation.models import Dataset
    from aggregation.storage.layout import Layout

    layout = Layout.stored(Dataset.objects.get(pk=loaded.dataset_id))
    with connection.cursor() as cur:  # around the application, in the resource table the check reads
        cur.execute(sql.SQL("UPDATE {} SET {} = '女'").format(
            layout.table, sql.Identifier(layout.columns["性别"]["col"])).as_string(connection.connection))
    html = client.get(url).content.decode()
    assert 'data-testid="integrity-problems"' in html and "行摘要不符" in html
    assert audit_log("aggregation.dataset.integrity_checked")[-1].data["ok"] is False


def test_a_loaded_row_deleted_around_the_application_is_counted_against_its_load(
        web_as, reviewer, staff, people_entry, audit_log):
    """A row a load inserted and nothing changed since has no history row: deleted by SQL, nothing names it — the
    check counts each load's inserted rows (their created_at is the load's written_at) against the table."""
    from django.db import connection
    from psycopg import sql

    from aggregation.models import Dataset
    from aggregation.selectors.pools import record_get, record_integrity
    from aggregation.storage.layout import Layout

    keys = ids(5)
    first = submit(staff, people_entry, csv_bytes([person(k) for k in keys[:3]]))
    second = submit(staff, people_entry, csv_bytes([person(keys[0], "李四"), *(person(k) for k in keys[1:])]))
    assert (first.inserted_rows, second.inserted_rows, second.updated_rows) == (3, 2, 1)
    assert first.written_at and second.written_at and first.written_at != second.written_at
    dataset = Dataset.objects.get(pk=first.dataset_id)
    assert record_integrity(dataset=dataset).ok

    def delete(key):
        row_id = record_get(dataset=dataset, key=key).id
        with connection.cursor() as cur:  # around the application
            cur.execute(sql.SQL("DELETE FROM {} WHERE id = %s").format(Layout.stored(dataset).table)
                        .as_string(connection.connection), [row_id])
        return row_id

    delete(keys[1])  # inserted by the first load, never changed: no history row names it
    report = record_integrity(dataset=dataset)
    assert (report.ok, report.missing_records, report.load_shortfalls) == (False, [], [(first.pk, 3, 2)])
    changed = delete(keys[0])  # inserted by the first, updated by the second: its history names it too
    delete(keys[4])  # inserted by the second
    report = record_integrity(dataset=dataset)
    assert report.missing_records == [changed]
    assert report.load_shortfalls == [(first.pk, 3, 1), (second.pk, 2, 1)]

    html = web_as(reviewer).get(reverse("aggregation:dataset-integrity", args=[dataset.pk])).content.decode()
    assert 'data-testid="integrity-problems"' in html
    assert html.count('data-testid="load-shortfall"') == 2
    assert f"导入任务 #{first.pk}</a> 新增 3 行，资源表中现有其新增的行 1 行" in html
    assert reverse("aggregation:job-detail", args=[second.pk]) in html
    assert audit_log("aggregation.dataset.integrity_checked")[-1].data["load_shortfalls"] == [
        [first.pk, 3, 1], [second.pk, 2, 1]]

    with connection.cursor() as cur:  # the table itself dropped: the page says the check could not run
        cur.execute(sql.SQL("DROP TABLE {}").format(Layout.stored(dataset).table).as_string(connection.connection))
    page = web_as(reviewer).get(reverse("aggregation:dataset-integrity", args=[dataset.pk]))
    assert page.status_code == 200 and 'data-testid="integrity-error"' in page.content.decode()
    event = audit_log("aggregation.dataset.integrity_checked")[-1]
    assert (event.result, event.data["ok"], f"pool.r{dataset.pk}" in event.data["error"]) == ("failure", False, True)


def _page_while_another_session_commits(monkeypatch, client, staff, entry, owner, name: str, statements, page) -> str:
    """The body of `page(job)` after staff loaded two rows into `entry` by a job, when another session commits
    `statements(job)` (SQL, params) just before the page calls `owner.name` (tests.support.commit_before)."""
    from tests.support import commit_before

    job = submit(staff, entry, csv_bytes([person(k) for k in ids(2)]))
    commit_before(monkeypatch, owner, name, *statements(job))
    return client.get(page(job)).content.decode()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # another session commits while the page reads
def test_dataset_page_reads_one_snapshot_while_a_load_commits(web_as, staff, people_entry, monkeypatch):
    from aggregation.selectors import pools as selectors

    # After the page has read the dataset (its count), before its rows: another session removes both rows.
    body = _page_while_another_session_commits(
        monkeypatch, web_as(staff), staff, people_entry, selectors, "record_page",
        lambda job: [("UPDATE aggregation_record SET deleted_at = now() WHERE dataset_id = %s", [job.dataset_id]),
                     (f"UPDATE pool.r{int(job.dataset_id)} SET deleted_at = now()", []),  # noqa: S608 (an int)
                     ("UPDATE aggregation_dataset SET row_count = 0 WHERE id = %s", [job.dataset_id])],
        lambda job: reverse("aggregation:dataset-detail", args=[job.dataset_id]))
    assert "2 条记录" in body and body.count('data-testid="record-row"') == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # another session commits while the page reads
def test_pool_index_reads_one_snapshot_while_a_load_commits(web_as, staff, people_entry, monkeypatch):
    from aggregation.selectors import ingest as selectors

    # After the page has read the pool (its counts), before the jobs: another load commits its counts.
    body = _page_while_another_session_commits(
        monkeypatch, web_as(staff), staff, people_entry, selectors, "job_list",
        lambda job: [("UPDATE aggregation_dataset SET row_count = 4321 WHERE id = %s", [job.dataset_id]),
                     ("UPDATE aggregation_ingestjob SET accepted_rows = 4319 WHERE id = %s", [job.pk])],
        lambda _job: reverse("aggregation:index"))
    assert "4,319" not in body and "4319" not in body and "2 / 0" in body


def test_the_pool_index_leads_to_every_page_of_the_chapter(web_as, staff, person_dataset):
    client = web_as(staff)
    for page in (reverse("aggregation:index"), reverse("aggregation:dataset-detail", args=[person_dataset.pk])):
        body = client.get(page).content.decode()
        for name in ("verification-list", "basedb-index", "theme-list", "quality-report"):
            assert f'href="{reverse(f"aggregation:{name}")}"' in body, (page, name)
