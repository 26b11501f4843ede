"""Chinese search (catalog.search)."""


import pytest

from catalog import search
from catalog.models import CatalogEntry
from tests.catalog.helpers import entry_items

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("today_2026_11_25")]


def test_query_literal():
    assert search.query_literal("营业执照") == "('营业' <-> '业执' <-> '执照')"
    assert search.query_literal("户") == "'户':*"
    assert search.query_literal(" ＡＰＩ 接口 ") == "'api':* & ('接口')"
    assert search.query_literal("'; DROP TABLE x; --") == "'drop':* & 'table':* & 'x':*"
    assert search.query_literal("，。！") is None


def test_document_vector_weights_and_positions():
    vector = search.document_vector("营业执照", "执照", ["名称"])
    assert "'营业':1A" in vector and "'执照':3A,8B" in vector and "'名称':13C" in vector


def names(qs):
    return [e.name for e in qs]


def test_search_finds_name_summary_and_items_ranked(make_entry):
    by_item = make_entry(name="企业基本信息", summary="企业登记基本情况", items=entry_items("营业执照号码"))
    by_summary = make_entry(name="市场主体年报", summary="包含营业执照信息的年度报告")
    by_name = make_entry(name="营业执照信息", summary="登记信息")
    make_entry(name="户籍人口", summary="人口登记")
    found = search.search_entries(CatalogEntry.objects.all(), "营业执照")
    assert names(found) == [by_name.name, by_summary.name, by_item.name]
    assert names(search.search_entries(CatalogEntry.objects.all(), "户籍")) == ["户籍人口"]
    # a contiguous substring, not scattered characters
    assert names(search.search_entries(CatalogEntry.objects.all(), "执照营业")) == []
    # empty query: the queryset unchanged
    assert search.search_entries(CatalogEntry.objects.all(), "  ").count() == 4


def test_reindex_after_raw_changes(make_entry):
    entry = make_entry(name="旧名称")
    CatalogEntry.objects.filter(pk=entry.pk).update(name="社会保障卡信息")
    assert not search.search_entries(CatalogEntry.objects.all(), "社保卡").exists()
    assert not search.search_entries(CatalogEntry.objects.all(), "社会保障").exists()
    assert search.reindex([entry.pk]) == 1
    assert search.search_entries(CatalogEntry.objects.all(), "社会保障").get() == entry
