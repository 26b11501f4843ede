"""Demand lists (R8.1), demand matching and the bureau's gap list (R17.1)."""

import datetime as dt

import pytest
from django.urls import reverse

from catalog.choices import DemandState
from catalog.selectors.demands import gap_list
from catalog.services.demands import demand_item_close, demand_item_delete, demand_item_save, demand_item_submit
from portal.errors import InvalidTransition, NotFound, PortalError
from tests.catalog.helpers import entry_items
from tests.support import sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("today_2026_11_25")]
D = dt.date


def demand(user, **values):
    data = {
        "needed_data": "企业营业执照信息",
        "item_names": ["统一社会信用代码", "企业名称"],
        "purpose": "办理社会组织登记时核验",
        "legal_basis": "《社会组织登记管理条例》",
        "provider": None,
    }
    data.update(values)
    return demand_item_save(actor=user, department=user.department, values=data)


def test_a_demand_already_met_shows_its_source(approved_entry, other_staff, audit_log):
    source = approved_entry()
    item = demand(other_staff)
    assert list(item.matches.all()) == [source]
    (event,) = audit_log("catalog.demand.created")
    assert event.data["matches"] == [source.pk]


def test_matching_by_text_and_not_own_department(approved_entry, other_staff, staff):
    source = approved_entry(name="户籍人口基本信息", summary="常住人口户籍登记")
    assert list(demand(other_staff, needed_data="户籍信息", item_names=[]).matches.all()) == []  # 户籍信息 ≠ substring
    assert list(demand(other_staff, needed_data="户籍", item_names=[]).matches.all()) == [source]
    assert list(demand(staff, needed_data="户籍", item_names=[], provider=None).matches.all()) == []  # own data


def test_submit_gap_list_and_rematch_on_publication(approved_entry, other_staff, staff, reviewer, audit_log):
    item = demand(other_staff, needed_data="不动产登记信息", item_names=["不动产权证号"], provider=staff.department)
    demand_item_submit(actor=other_staff, demand_id=item.pk)
    item.refresh_from_db()
    assert item.state == DemandState.SUBMITTED and audit_log("catalog.demand.submitted")
    assert staff.notifications.filter(url=item.get_absolute_url()).exists()
    assert list(gap_list(user=reviewer)) == [item]
    with pytest.raises(InvalidTransition):
        demand_item_submit(actor=other_staff, demand_id=item.pk)
    # the provider publishes a matching entry: the gap closes
    approved_entry(name="不动产登记簿信息", items=entry_items("不动产权证号"))
    assert list(gap_list(user=reviewer)) == []
    demand_item_close(actor=reviewer, demand_id=item.pk, note="已申请共享")
    item.refresh_from_db()
    assert item.state == DemandState.CLOSED and audit_log("catalog.demand.closed")


def test_demand_rules_and_scope(other_staff, staff, reviewer):
    with pytest.raises(PortalError) as exc:
        demand(other_staff, purpose="", provider=other_staff.department)
    assert {"purpose", "provider"} <= set(exc.value.errors)
    item = demand(other_staff)
    with pytest.raises(NotFound):
        demand_item_submit(actor=staff, demand_id=item.pk)
    with pytest.raises(NotFound):
        demand_item_delete(actor=reviewer, demand_id=item.pk)
    demand_item_submit(actor=other_staff, demand_id=item.pk)
    with pytest.raises(NotFound):  # neither its department nor addressed to it
        demand_item_close(actor=staff, demand_id=item.pk, note="x")
    with pytest.raises(PortalError):
        demand_item_close(actor=reviewer, demand_id=item.pk, note="")
    with pytest.raises(InvalidTransition):
        demand_item_delete(actor=other_staff, demand_id=item.pk)


def test_demand_pages(client, approved_entry, other_staff, reviewer, staff):
    source = approved_entry()
    sign_in(client, other_staff)
    response = client.post(
        reverse("catalog:demand-create"),
        {
            "needed_data": "营业执照",
            "item_names": "企业名称、统一社会信用代码",
            "purpose": "核验",
            "legal_basis": "职责",
            "provider": "",
        },
        follow=True,
    )
    page = response.content.decode()
    assert "已有可满足该需求的数据资源" in page and source.name in page and "申请共享" in page
    item = other_staff.department.catalog_demands.get()
    assert item.item_names == ["企业名称", "统一社会信用代码"]
    client.post(reverse("catalog:demand-transition", args=[item.pk, "submit"]))
    item.refresh_from_db()
    assert item.state == DemandState.SUBMITTED
    assert client.get(reverse("catalog:demand-detail", args=[item.pk])).status_code == 200
    sign_in(client, staff)  # not addressed to staff's department, not its own
    assert client.get(reverse("catalog:demand-detail", args=[item.pk])).status_code == 404
    sign_in(client, reviewer)
    assert client.get(reverse("catalog:demand-detail", args=[item.pk])).status_code == 200
    assert client.get(reverse("catalog:gap-list")).status_code == 200
