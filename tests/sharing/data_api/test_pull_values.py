"""Pull (GET …/records/): the values of a page as stored, whichever way the page query reads them — items as text
(`data ->> item`, the usual case), the projected JSON object of a row holding a value that is not a string, or the
whole stored `data` for projections wider than sharing.data_api.records._MAX_SQL_PROJECTION."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from aggregation.models import Record
from tests.sharing.helpers import get, open_verification_case, pull_all, url

pytestmark = pytest.mark.django_db

ODD = {"性别": 1, "联系电话": 13.25, "户籍地址": {"省": "河南", "号": [1, 2.5, None, True]}}


@pytest.fixture
def mixed(make_people):
    """Seven people; the fourth holds numbers, a nested object and a JSON null; the sixth lacks 联系电话."""
    entry, _keys = make_people(7, start=70)
    records = list(Record.objects.filter(dataset=entry.dataset).order_by("id"))
    odd = records[3]
    # (No masked form of a value that is null, as the pipeline stores none.)
    forms = {kind: {i: v for i, v in items.items() if i != "姓名"} for kind, items in odd.masked.items()}
    Record.objects.filter(pk=odd.pk).update(data={**odd.data, **ODD, "姓名": None}, masked=forms)
    lacking = records[5]
    Record.objects.filter(pk=lacking.pk).update(data={k: v for k, v in lacking.data.items() if k != "联系电话"})
    return entry, records


def _pages(client, entry, **params):
    rows, _pages = pull_all(client, url(entry, **params))
    return rows


def test_values_keep_their_json_type_and_order(mixed, other_staff, make_grant, api_as, monkeypatch):
    entry, _records = mixed
    # 公民身份号码 in full too: 性别 derives from it (R28.3), in full only beside it.
    make_grant(other_staff.department, entry, ["公民身份号码", "性别", "联系电话", "户籍地址"])
    client = api_as(other_staff)
    fields = "户籍地址,性别,联系电话"
    rows = _pages(client, entry, fields=fields, limit=3)
    assert len(rows) == 7
    odd = rows[3]
    assert list(odd) == ["性别", "联系电话", "户籍地址", "updated_at", "under_verification"]  # projection order
    assert odd["性别"] == 1 and odd["联系电话"] == 13.25 and odd["户籍地址"] == ODD["户籍地址"]
    assert type(odd["性别"]) is int and type(odd["联系电话"]) is float
    assert rows[5]["联系电话"] is None and rows[0]["性别"] == "男" and rows[0]["户籍地址"].startswith("焦作市")
    assert all(type(r["性别"]) is str for n, r in enumerate(rows) if n != 3)
    # The same page read through the whole stored `data` (a projection too wide for the SQL form).
    monkeypatch.setattr("sharing.data_api.records._MAX_SQL_PROJECTION", 1)
    assert _pages(client, entry, fields=fields, limit=3) == rows


def test_wide_projection_fallback_is_the_same_page(mixed, other_staff, make_grant, api_as, monkeypatch, staff):
    """Masked and decrypted items, deletions under `since`, the R14.4 flag: the same either way."""
    from aggregation.services import pools as agg
    from security import crypto
    entry, records = mixed
    make_grant(other_staff.department, entry, ["性别", "联系电话"])
    open_verification_case(records[1], other_staff)
    agg.record_delete(actor=staff, dataset=entry.dataset, key=crypto.decrypt(records[6].key_enc), reason="注销")
    client = api_as(other_staff)
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    plain = [_pages(client, entry, limit=2), _pages(client, entry, since=since, limit=4)]
    assert plain[0][1]["under_verification"] is True and "verification_notice" in plain[0][1]
    assert "*" in plain[0][0]["公民身份号码"] and plain[0][3]["姓名"] is None
    assert plain[1][-1]["deleted"] is True and len(plain[0]) == 6 and len(plain[1]) == 7
    monkeypatch.setattr("sharing.data_api.records._MAX_SQL_PROJECTION", 1)
    assert [_pages(client, entry, limit=2), _pages(client, entry, since=since, limit=4)] == plain


def test_clear_filter_and_key_filter(mixed, other_staff, make_grant, api_as):
    from security import crypto

    entry, records = mixed
    make_grant(other_staff.department, entry, ["公民身份号码", "性别", "联系电话"])
    client = api_as(other_staff)
    rows = _pages(client, entry, 性别="男", limit=2)
    assert len(rows) == 6 and all(r["性别"] == "男" for r in rows)
    key = crypto.decrypt(records[4].key_enc)
    one = get(client, url(entry, 公民身份号码=key)).json()["results"]
    assert [r["公民身份号码"] for r in one] == [key]


def test_masked_items_are_read_from_the_stored_masked_forms(make_people, other_staff, make_grant, api_as):
    """A page reads a masked item's stored masked form (Record.masked) instead of decrypting it; a row stored without
    one is decrypted and masked: the same values."""
    from security.masking import mask

    entry, keys = make_people(3, start=90)
    records = list(Record.objects.filter(dataset=entry.dataset).order_by("id"))
    make_grant(other_staff.department, entry, ["性别", "联系电话"])
    client = api_as(other_staff)
    rows = _pages(client, entry, limit=2)
    assert sorted(r["公民身份号码"] for r in rows) == sorted(mask(k, "id_number") for k in keys)  # rows in id order
    assert [r["姓名"] for r in rows] == ["张*明"] * 3 and rows[0]["联系电话"] == "13903910000"

    Record.objects.filter(pk=records[0].pk).update(masked={**records[0].masked, "name": {"姓名": "王*明"}})
    Record.objects.filter(pk=records[1].pk).update(masked={})  # stored before masked forms were
    again = _pages(client, entry, limit=2)
    assert again[0]["姓名"] == "王*明" and again[1:] == rows[1:]  # (the stored form, masked again: unchanged)
