"""No re-identification through masks (R28.3): a reader granted 出生日期 and 性别 but 公民身份号码 only masked
(`410803********6106`) must not get the hidden digits back from the birth date beside it. The attack: masked ID
(area + sequence + check digit shown) + the birth date shown + the sex digit's parity + the GB 11643 check digit.
Fetched through the pull, the CSV download, the online query and the record page, it rebuilds no ID.

Plus the declarations' defaults (portal.personal_data.propose) and the migration's function
(catalog.declarations.declare_undeclared)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re

import pytest
from django.urls import reverse

from catalog.declarations import declare_undeclared, fill_declarations
from catalog.models import DataItem
from portal.personal_data import propose
from tests.sharing import conftest as sharing_fixtures
from tests.sharing.helpers import body_of, export_url, get, load, pull_all, url
from tests.support import row_values, stored_rows

ITEMS = [
    ("公民身份号码", "C", True, True),
    ("姓名", "C", True, False),
    ("出生日期", "D", False, False),
    ("性别", "C", False, False),
]
# The sharing chapter's fixtures (published entries, grants; the city bureau every sharing test has), as they are.
_city_bureau = sharing_fixtures._city_bureau
make_entry = sharing_fixtures.make_entry
make_grant = sharing_fixtures.make_grant
target_dsn = sharing_fixtures.target_dsn
_no_settle = sharing_fixtures._no_settle

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def check_digit(first17: str) -> str:
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def people(n: int):
    rng = random.Random(15)
    rows, seen = [], set()
    while len(rows) < n:
        born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(365 * 60))
        seq = rng.randrange(1000)
        first17 = f"410803{born:%Y%m%d}{seq:03d}"
        number = first17 + check_digit(first17)
        if number in seen:
            continue
        seen.add(number)
        rows.append({"公民身份号码": number, "姓名": f"张{len(rows)}明", "出生日期": born.isoformat(),
                     "性别": "男" if seq % 2 else "女"})
    return rows


def rebuilt(shown: list[dict], truth: set[str]) -> set[str]:
    """The true IDs the attack rebuilds from rows as shown (ID masked in its birth-date digits)."""
    found = set()
    for row in shown:
        masked, born, sex = str(row["公民身份号码"]), str(row.get("出生日期") or ""), str(row.get("性别") or "")
        digits = re.sub(r"\D", "", born)
        if len(masked) != 18 or len(digits) != 8:
            continue
        candidate = masked[:6] + digits + masked[14:]
        if not candidate[:17].isdigit() or check_digit(candidate[:17]) != candidate[17]:
            continue
        if sex in ("男", "女") and (int(candidate[16]) % 2 == 1) != (sex == "男"):
            continue
        if candidate in truth:
            found.add(candidate)
    return found


@pytest.fixture
def thousand(make_entry, dept, staff, other_staff, make_grant):
    entry = make_entry(provider=dept, items=ITEMS, name="户籍人口信息", methods=("api", "query", "download"))
    rows = people(1000)
    dataset = load(entry, staff, rows)
    make_grant(other_staff.department, entry, ["出生日期", "性别"], methods=("api", "query", "download"))
    truth = {r["公民身份号码"] for r in rows}
    # The attack works on what a full birth date gives: every ID comes back (the test can fail).
    assert rebuilt([{**r, "公民身份号码": r["公民身份号码"][:6] + "*" * 8 + r["公民身份号码"][14:]} for r in rows],
                   truth) == truth
    return entry, dataset, rows, truth


@pytest.mark.django_db
def test_pull_export_query_and_record_page_rebuild_no_id(thousand, other_staff, reviewer, api_as, web_as):
    entry, dataset, rows, truth = thousand
    client = api_as(other_staff)

    shown, _pages = pull_all(client, url(entry, limit=500))
    assert len(shown) == 1000
    assert all("*" in r["公民身份号码"] and "*" in r["出生日期"] for r in shown)
    assert rebuilt(shown, truth) == set()

    response = client.get(export_url(entry, "format=csv"), HTTP_X_PURPOSE="核验".encode().decode("latin-1"))
    lines = body_of(response).decode("utf-8-sig").splitlines(keepends=True)
    table = list(csv.DictReader(io.StringIO("".join(x for x in lines if not x.startswith("#")), newline="")))
    assert len(table) == 1000 and rebuilt(table, truth) == set()

    queried = [get(client, url(entry, r["公民身份号码"])).json() for r in rows[:50]]
    assert all("*" in q["出生日期"] for q in queried) and rebuilt(queried, truth) == set()

    web = web_as(reviewer)
    pages = []
    for row in stored_rows(dataset, limit=20):
        page = web.get(reverse("aggregation:record-detail", args=[dataset.pk, row.id]))
        assert page.status_code == 200
        text = page.content.decode()
        true_id = row_values(row)["公民身份号码"]
        true_row = next(r for r in rows if r["公民身份号码"] == true_id)
        assert true_id not in text and true_row["出生日期"] not in text
        pages.append(text)
    assert pages


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_push_rebuilds_no_id(make_entry, dept, staff, other_staff, make_grant, target_dsn):
    from sharing.push import run as push_engine
    from sharing.services import push as push_services
    from tests.sharing.helpers import target_rows

    entry = make_entry(provider=dept, items=ITEMS, methods=("api", "push"))
    rows = people(40)
    load(entry, staff, rows)
    grant = make_grant(other_staff.department, entry, ["出生日期", "性别"], methods=("push",))
    sub = push_services.push_subscription_create(actor=other_staff, grant_id=grant.pk, dsn=target_dsn,
                                                 table="hj_people", interval_minutes=30)
    assert push_engine.push_run(subscription_id=sub.pk).rows == 40
    delivered = [data for data, _deleted in target_rows(target_dsn, "hj_people").values()]
    assert len(delivered) == 40 and all("*" in d["出生日期"] and "*" in d["公民身份号码"] for d in delivered)
    assert rebuilt(delivered, {r["公民身份号码"] for r in rows}) == set()


@pytest.mark.django_db
def test_a_derived_item_is_full_beside_its_source_in_full(make_entry, dept, staff, other_staff, make_grant, api_as):
    entry = make_entry(provider=dept, items=ITEMS, methods=("api", "query"))
    rows = people(3)
    dataset = load(entry, staff, rows)
    make_grant(other_staff.department, entry, ["公民身份号码", "出生日期", "性别"], methods=("query",))
    shown = get(api_as(other_staff), url(entry, rows[0]["公民身份号码"])).json()
    assert shown["出生日期"] == rows[0]["出生日期"] and shown["公民身份号码"] == rows[0]["公民身份号码"]
    assert shown["姓名"] != rows[0]["姓名"]  # not granted: masked

    from aggregation import access

    assert access.full_items(dataset, ["出生日期", "性别"]) == set()
    assert access.full_items(dataset, ["姓名", "性别"]) == {"姓名"}
    assert access.full_items(dataset, ["公民身份号码", "出生日期"]) == {"公民身份号码", "出生日期"}


# ------------------------------------------------------------------ declarations


def test_proposals():
    items = [
        {"name": "公民身份号码", "data_type": "C", "is_subject_key": True},
        {"name": "姓名", "data_type": "C"},
        {"name": "出生日期", "data_type": "D"},
        {"name": "性别", "data_type": "C"},
        {"name": "年龄", "data_type": "N"},
        {"name": "联系电话", "data_type": "C"},
        {"name": "法定代表人证件号码", "data_type": "C"},
        {"name": "法定代表人性别", "data_type": "C"},
        {"name": "成立日期", "data_type": "D"},
        {"name": "企业名称", "data_type": "C"},
    ]
    assert propose(items) == {
        "公民身份号码": ("sensitive", ""),
        "姓名": ("personal", ""),
        "出生日期": ("personal", "公民身份号码"),
        "性别": ("personal", "公民身份号码"),
        "年龄": ("personal", "公民身份号码"),
        "联系电话": ("personal", ""),
        "法定代表人证件号码": ("sensitive", ""),
        "法定代表人性别": ("personal", "法定代表人证件号码"),
        "成立日期": ("public", ""),
        "企业名称": ("public", ""),
    }
    # Without an ID number item there is nothing to derive from: a bare 性别 is public.
    assert propose([{"name": "性别", "data_type": "C"}]) == {"性别": ("public", "")}


def test_a_given_declaration_is_kept():
    filled = fill_declarations([
        {"name": "公民身份号码", "data_type": "C", "is_subject_key": True, "sensitivity": "", "derived_from": ""},
        {"name": "出生日期", "data_type": "D", "sensitivity": "public", "derived_from": ""},
        {"name": "性别", "data_type": "C", "sensitivity": "", "derived_from": ""},
    ])
    assert [(i["sensitivity"], i["derived_from"]) for i in filled] == [
        ("sensitive", ""), ("public", ""), ("personal", "公民身份号码")]


@pytest.mark.django_db
def test_migration_function_declares_undeclared_items(make_entry, dept):
    entry = make_entry(provider=dept, items=ITEMS)
    DataItem.objects.filter(entry=entry, name="姓名").update(sensitivity="public")
    assert declare_undeclared(DataItem, entry_ids=[entry.pk]) == 3
    got = {i.name: (i.sensitivity, i.derived_from) for i in DataItem.objects.filter(entry=entry)}
    assert got == {"公民身份号码": ("sensitive", ""), "姓名": ("public", ""), "出生日期": ("personal", "公民身份号码"),
                   "性别": ("personal", "公民身份号码")}
    assert declare_undeclared(DataItem, entry_ids=[entry.pk]) == 0
