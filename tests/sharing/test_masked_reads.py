"""Every exchange method reads a masked item as the row's stored masked form (the resource table's masked column) —
the pull, the online query (API and counter page), the XLSX download and the database push — and decrypts and
masks the stored value only for a row stored without a form of that kind.
The CSV download's own test is test_export_csv_identity.test_a_masked_download_reads_the_stored_masked_forms.

A form changed behind the pipeline's back shows as changed: that is how these tests tell a stored form from a value
decrypted and masked again (the two are equal otherwise)."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from aggregation.models import Dataset
from aggregation.storage.layout import Layout
from security.masking import mask
from sharing.push import run as push_engine
from sharing.services import push as push_services
from tests.sharing.helpers import body_of, export_url, get, pull_all, tamper_rows, target_rows, url
from tests.support import row_values, stored_rows

STORED = "王*明"  # what the first row's stored form of 姓名 is changed to (its value masks to 张*明)


@pytest.fixture
def people(make_people):
    """(entry with 3 people; their keys in record id order): the first with a changed stored form of 姓名, the second
    stored before masked forms were (none at all)."""
    entry, _keys = make_people(3, start=500, methods=("api", "query", "download", "push"))
    rows = stored_rows(entry.dataset)
    assert rows[0].masked["姓名"] == "张*明"
    # In the resource table every exchange method reads (aggregation.storage.reading).
    tamper_rows(entry.dataset, [rows[0].id], forms={"姓名": STORED})
    masked_items = [item for item, _column, _kind in Layout.stored(Dataset.objects.get(pk=entry.dataset.pk)).masked()]
    tamper_rows(entry.dataset, [rows[1].id], forms=dict.fromkeys(masked_items))
    return entry, [row_values(r)["公民身份号码"] for r in rows]


def _names(rows) -> list[str]:
    return [r["姓名"] for r in rows]


@pytest.mark.django_db
def test_pull_pages(people, other_staff, make_grant, api_as):
    entry, keys = people
    make_grant(other_staff.department, entry, ["性别"])
    rows, _pages = pull_all(api_as(other_staff), url(entry, limit=2))
    assert _names(rows) == [STORED, "张*明", "张*明"]
    assert [r["公民身份号码"] for r in rows] == [mask(k, "id_number") for k in keys]


@pytest.mark.django_db
def test_online_query_api_and_counter_page(people, other_staff, make_grant, api_as, web_as):
    entry, keys = people
    make_grant(other_staff.department, entry, ["联系电话"], methods=("query",))
    client = api_as(other_staff)
    assert [get(client, url(entry, key)).json()["姓名"] for key in keys] == [STORED, "张*明", "张*明"]
    page = web_as(other_staff).post(reverse("sharing:online-query"),
                                    {"key": keys[0], "purpose": "administrative", "purpose_detail": "办理低保"})
    assert page.status_code == 200 and STORED in page.content.decode()


@pytest.mark.django_db
def test_xlsx_download(people, other_staff, make_grant, api_as):
    entry, keys = people
    make_grant(other_staff.department, entry, ["性别"], methods=("download",))
    response = api_as(other_staff).get(export_url(entry, "format=xlsx&fields=公民身份号码,姓名"),
                                       HTTP_X_PURPOSE="核验".encode().decode("latin-1"))
    rows = list(load_workbook(io.BytesIO(body_of(response)))["data"].iter_rows(values_only=True))[1:]
    assert [r[1] for r in rows] == [STORED, "张*明", "张*明"]
    assert [r[0] for r in rows] == [mask(k, "id_number") for k in keys]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_push(people, target_dsn, other_staff, make_grant):
    entry, _keys = people
    grant = make_grant(other_staff.department, entry, ["性别"], methods=("push",))
    sub = push_services.push_subscription_create(actor=other_staff, grant_id=grant.pk, dsn=target_dsn,
                                                 table="hj_people", interval_minutes=30)
    assert push_engine.push_run(subscription_id=sub.pk).rows == 3
    delivered = target_rows(target_dsn, "hj_people")
    assert [delivered[pk][0]["姓名"] for pk in sorted(delivered)] == [STORED, "张*明", "张*明"]
