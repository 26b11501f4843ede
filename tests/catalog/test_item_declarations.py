"""Data items' declarations (R28.3) on filing: a blank one is proposed from the names, a given one kept, a
derivation from an item the entry does not have refused; the entry page shows them to reviewers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from catalog.services.entries import catalog_entry_save
from portal.errors import PortalError
from tests.catalog.helpers import entry_values

pytestmark = pytest.mark.django_db


def _item(name, data_type="C", key=False, **extra):
    return {"name": name, "data_type": data_type, "length": None, "is_subject_key": key, "is_base_item": False,
            "description": "", **extra}


def test_blank_declarations_are_proposed_and_given_ones_kept(staff, web_as):
    entry = catalog_entry_save(actor=staff, department=staff.department, values=entry_values(), items=[
        _item("公民身份号码", key=True), _item("出生日期", "D"), _item("性别", sensitivity="public"),
        _item("备注", sensitivity="personal", derived_from=""),
    ])
    got = {i.name: (i.sensitivity, i.derived_from) for i in entry.items.all()}
    assert got == {"公民身份号码": ("sensitive", ""), "出生日期": ("personal", "公民身份号码"),
                   "性别": ("public", ""), "备注": ("personal", "")}
    page = web_as(staff).get(reverse("catalog:entry-detail", args=[entry.pk]))
    assert page.status_code == 200 and "个人敏感信息" in page.content.decode()


def test_a_derivation_must_name_another_item(staff):
    with pytest.raises(PortalError) as exc:
        catalog_entry_save(actor=staff, department=staff.department, values=entry_values(), items=[
            _item("公民身份号码", key=True), _item("出生日期", "D", sensitivity="personal", derived_from="身份证"),
        ])
    assert "items.1.derived_from" in exc.value.errors


def test_the_api_takes_and_shows_declarations(staff, api_as):
    items = [_item("法定代表人证件号码", sensitivity="sensitive"), _item("法定代表人性别"),
             _item("企业名称", sensitivity="bogus")]
    body = {"classification": "303", "name": "企业登记信息", "summary": "登记", "format_class": "db",
            "format_type": "PostgreSQL", "share_type": "1", "exchange_methods": ["api"], "update_cycle": "daily",
            "items": items}
    client = api_as(staff)
    refused = client.post("/api/v1/catalog/entries/", body, format="json")
    assert refused.status_code == 400
    items[2]["sensitivity"] = ""
    response = client.post("/api/v1/catalog/entries/", body, format="json")
    assert response.status_code == 201, response.content
    shown = {i["name"]: (i["sensitivity"], i["derived_from"]) for i in response.json()["items"]}
    assert shown == {"法定代表人证件号码": ("sensitive", ""), "法定代表人性别": ("personal", "法定代表人证件号码"),
                     "企业名称": ("public", "")}
