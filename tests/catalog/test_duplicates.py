"""The duplicate-collection guard (R17.1): a hit means the same data about the same kind of subject is already
collected elsewhere — a base database's items, an entry whose items largely overlap, a demand already answered —
never a generic descriptive item such as 姓名 alone. Each hit says why, in Chinese."""

import io

import pytest

from catalog import demo
from catalog.selectors.demands import GENERIC_ITEMS, duplicate_sources, is_generic_item
from catalog.services.demands import demand_item_save, demand_item_submit
from portal.demo import seed_organisations
from portal.models import Department
from tests.catalog.helpers import entry_items

pytestmark = pytest.mark.django_db


def items(*names, key=None):
    """Item dicts as the entry form hands them to the guard; `key` is the subject key's name."""
    return [{"name": n, "is_subject_key": n == key} for n in names]


def test_with_the_demo_catalog_a_people_entry_is_flagged_against_the_population_base_a_vehicle_entry_is_not():
    seed_organisations()
    demo.seed(io.StringIO())
    civil = Department.objects.get(name="焦作市民政局")
    # 人口: 公民身份号码 + 户籍地址 are base items of 市公安局's 户籍人口信息 (keyed by ID number).
    hits = duplicate_sources(department=civil, items=items("姓名", "公民身份号码", "户籍地址", key="公民身份号码"))
    assert hits, "the population base's items were not flagged"
    first = hits[0]
    assert (first.kind, first.entry.name, first.entry.provider.name) == ("base", "户籍人口信息", "焦作市公安局")
    assert first.reason == "与人口基础库重复采集：公民身份号码、户籍地址"
    assert first.item_names == ("公民身份号码", "户籍地址")
    assert all(h.kind == "base" for h in hits)  # one substantive item cannot "largely overlap" any entry
    # 车辆: 姓名 is generic, 号牌号码 the key, 车辆类型 one item shared with 机动车登记信息 — not a duplicate.
    vehicle = items("号牌号码", "姓名", "车辆类型", key="号牌号码")
    assert duplicate_sources(department=civil, items=vehicle) == []
    # What used to flag some 25 resources: an entry about people whose only common items are 姓名 and the key.
    assert duplicate_sources(department=civil, items=items("公民身份号码", "姓名", "性别", "救助金额",
                                                            key="公民身份号码")) == []
    # The population base's own provider files more about people: its own entries are no duplicate source.
    police = Department.objects.get(name="焦作市公安局")
    assert not [h for h in duplicate_sources(department=police, items=items(
        "姓名", "公民身份号码", "户籍地址", key="公民身份号码")) if h.entry.provider_id == police.pk]


def test_generic_items_are_a_short_documented_list():
    assert {"姓名", "性别", "备注", "联系电话", "地址", "日期"} <= GENERIC_ITEMS
    assert is_generic_item(" 姓 名 ") and is_generic_item("联系电话") and not is_generic_item("户籍地址")


def test_largely_overlapping_items_about_the_same_subject(approved_entry, other_staff):
    source = approved_entry(items=entry_items("企业名称", "法定代表人", "注册资本"))
    dept = other_staff.department

    def found(*names, key="统一社会信用代码"):
        return duplicate_sources(department=dept, items=items(key, *names, key=key))

    (hit,) = found("企业名称", "法定代表人", "经营范围")  # 2 of 3 substantive items
    assert (hit.kind, hit.entry, hit.item_names) == ("overlap", source, ("企业名称", "法定代表人"))
    assert "信息项大量重复（本条目 3 项实质信息项中 2 项）：企业名称、法定代表人" in hit.reason
    assert found("企业名称", "经营范围") == []  # one shared item is not a large overlap
    assert found("企业名称", "法定代表人", "经营范围", "从业人数", "年营业额") == []  # 2 of 5: under half
    assert found("企业名称", "法定代表人", "联系电话", "备注", "地址") != []  # generic items do not dilute
    # The same names about another kind of subject (keyed by a licence number) are other data.
    assert found("企业名称", "法定代表人", key="许可证编号") == []


def test_base_items_of_the_same_subject_key(approved_entry, other_staff):
    base_items = entry_items("企业名称", "注册地址")
    for item in base_items:
        item["is_base_item"] = True
    source = approved_entry(items=base_items)
    wanted = items("统一社会信用代码", "注册地址", "年检结果", "备注", "从业人数", "税额", key="统一社会信用代码")
    (hit,) = duplicate_sources(department=other_staff.department, items=wanted)
    assert (hit.kind, hit.entry) == ("base", source)
    assert hit.reason == "与法人基础库重复采集：统一社会信用代码、注册地址"


def test_a_submitted_demand_already_answered_is_a_duplicate(approved_entry, other_staff):
    source = approved_entry(items=entry_items("企业名称", "法定代表人", "注册资本"))
    demand = demand_item_save(actor=other_staff, department=other_staff.department, values={
        "needed_data": "企业注册资本", "item_names": ["注册资本"], "purpose": "核验", "legal_basis": "职责",
        "provider": None})
    assert list(demand.matches.all()) == [source]
    wanted = items("统一社会信用代码", "注册资本", "年检结果", "从业人数", key="统一社会信用代码")
    assert duplicate_sources(department=other_staff.department, items=wanted) == []  # a draft demand: not yet
    demand_item_submit(actor=other_staff, demand_id=demand.pk)
    (hit,) = duplicate_sources(department=other_staff.department, items=wanted)
    assert (hit.kind, hit.entry, hit.demand, hit.item_names) == ("demand", source, demand, ("注册资本",))
    assert hit.reason.startswith("本部门需求“企业注册资本”已由") and hit.reason.endswith("应申请共享：注册资本")
