"""Pull (GET …/records/): the values of a page as the dataset's resource table holds them (aggregation.storage.reading:
canonical text, an empty value null), masked items from the stored masked forms, deletions under `since`, the R14.4
flag and the filters."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.sharing.helpers import get, open_verification_case, pull_all, rows_for, tamper_rows, url
from tests.support import row_values, stored_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def mixed(make_people, staff):
    """Seven people; the fourth a woman, the sixth without 联系电话 (an empty value)."""
    from aggregation.services import pools as agg

    entry, _keys = make_people(7, start=70)
    records = stored_rows(entry.dataset)
    woman, lacking = row_values(records[3])["公民身份号码"], row_values(records[5])["公民身份号码"]
    rows = [*rows_for([woman], sex="女"), {**rows_for([lacking])[0], "联系电话": ""}]
    result = agg.records_upsert(actor=staff, dataset=entry.dataset, rows=rows)
    assert not result.rejected, result.rejected
    return entry, records


def _pages(client, entry, **params):
    rows, _pages = pull_all(client, url(entry, **params))
    return rows


def test_values_are_text_in_projection_order(mixed, other_staff, make_grant, api_as):
    entry, _records = mixed
    # 公民身份号码 in full too: 性别 derives from it (R28.3), in full only beside it.
    make_grant(other_staff.department, entry, ["公民身份号码", "性别", "联系电话", "户籍地址"])
    client = api_as(other_staff)
    rows = _pages(client, entry, fields="户籍地址,性别,联系电话", limit=3)
    assert len(rows) == 7
    assert list(rows[3]) == ["性别", "联系电话", "户籍地址", "updated_at", "under_verification"]  # projection order
    assert rows[5]["联系电话"] is None and rows[0]["性别"] == "男" and rows[0]["户籍地址"].startswith("焦作市")
    assert all(type(r["性别"]) is str for r in rows) and rows[0]["联系电话"] == "13903910000"


def test_masked_items_deletions_and_flags(mixed, other_staff, make_grant, api_as, staff):
    """Masked and decrypted items, deletions under `since`, the R14.4 flag."""
    from aggregation.services import pools as agg
    from security.masking import mask

    entry, records = mixed
    make_grant(other_staff.department, entry, ["性别", "联系电话"])
    open_verification_case(records[1], other_staff, entry.dataset)
    agg.record_delete(actor=staff, dataset=entry.dataset, key=row_values(records[6])["公民身份号码"], reason="注销")
    client = api_as(other_staff)
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    live, changed = _pages(client, entry, limit=2), _pages(client, entry, since=since, limit=4)
    assert live[1]["under_verification"] is True and "verification_notice" in live[1]
    assert live[0]["under_verification"] is False and "verification_notice" not in live[0]
    assert live[0]["公民身份号码"] == mask(row_values(records[0])["公民身份号码"], "id_number")
    assert live[0]["姓名"] == "张*明" and live[5]["联系电话"] is None
    assert changed[-1] == {"deleted": True, "updated_at": changed[-1]["updated_at"], "under_verification": False}
    assert len(live) == 6 and len(changed) == 7 and all(r["deleted"] is False for r in changed[:-1])


def test_clear_filter_and_key_filter(mixed, other_staff, make_grant, api_as):

    entry, records = mixed
    make_grant(other_staff.department, entry, ["公民身份号码", "性别", "联系电话"])
    client = api_as(other_staff)
    rows = _pages(client, entry, 性别="男", limit=2)
    assert len(rows) == 6 and all(r["性别"] == "男" for r in rows)
    assert [r["性别"] for r in _pages(client, entry, 性别="女")] == ["女"]
    key = row_values(records[4])["公民身份号码"]
    one = get(client, url(entry, 公民身份号码=key)).json()["results"]
    assert [r["公民身份号码"] for r in one] == [key]


def test_masked_items_are_read_from_the_stored_masked_forms(make_people, other_staff, make_grant, api_as):
    """A page reads a masked item's stored masked form (the table's masked column) instead of decrypting it; a row
    stored without one is decrypted and masked: the same values."""
    from security.masking import mask

    entry, keys = make_people(3, start=90)
    records = stored_rows(entry.dataset)
    make_grant(other_staff.department, entry, ["性别", "联系电话"])
    client = api_as(other_staff)
    rows = _pages(client, entry, limit=2)
    assert sorted(r["公民身份号码"] for r in rows) == sorted(mask(k, "id_number") for k in keys)  # rows in id order
    assert [r["姓名"] for r in rows] == ["张*明"] * 3 and rows[0]["联系电话"] == "13903910000"

    tamper_rows(entry.dataset, [records[0].id], forms={"姓名": "王*明"})
    tamper_rows(entry.dataset, [records[1].id], forms={"姓名": None, "公民身份号码": None})  # stored before forms were
    again = _pages(client, entry, limit=2)
    assert again[0]["姓名"] == "王*明" and again[1:] == rows[1:]  # (the stored form, masked again: unchanged)
