"""Formula injection through the catalog downloads (portal.cells): a formula in every text column of the department
list, the master catalog, the template's classification table and the responsibility list comes back as text."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from catalog.excel import exports
from catalog.models import CatalogEntry, Classification, DataItem, ResponsibilityItem
from tests.support import HOSTILE_CELLS, assert_no_formula, sign_in, xlsx_text

pytestmark = pytest.mark.django_db


def _hostile_entry(approved_entry, staff, value):
    """An approved entry whose every free-text field, item, provider and classification name is `value` (written
    with the ORM, as whatever got stored)."""
    entry = approved_entry()
    staff.department.name = value
    staff.department.save(update_fields=["name"])
    CatalogEntry.objects.filter(pk=entry.pk).update(
        name=value, summary=value, format_type=value, share_condition=value, no_share_basis=value,
        open_condition=value, provider_code=value[:18], related_codes=[value])
    for item in DataItem.objects.filter(entry=entry):  # names are unique in an entry
        DataItem.objects.filter(pk=item.pk).update(name=f"{value}{item.position}", description=value)
    Classification.objects.filter(pk=entry.classification_id).update(name=value)
    for line in ResponsibilityItem.objects.filter(entry=entry):
        ResponsibilityItem.objects.filter(pk=line.pk).update(item_name=f"{value}{line.pk}")
    return entry


def _cells(data: bytes, sheet: str) -> list[list]:
    book = load_workbook(io.BytesIO(data))
    assert_no_formula(book)
    return [list(r) for r in book[sheet].iter_rows(min_row=2, values_only=True)]


@pytest.mark.parametrize("value", HOSTILE_CELLS)
def test_catalog_lists_write_formulas_as_text(value, approved_entry, staff, reviewer):
    entry = _hostile_entry(approved_entry, staff, value)
    text = xlsx_text(value)
    department = exports.export_department_list(actor=staff, department=staff.department).file.read()
    master = exports.export_master(actor=reviewer, filters={}).file.read()
    for data in (department, master):
        (row,) = _cells(data, "信息资源")
        # name, provider, provider code (18 characters at most), summary, format type, share condition,
        # no-share basis, open condition, related codes
        assert row.count(text) == 8 + (len(value) <= 18) and xlsx_text(value[:18]) in row and row[1] == entry.code
        items = _cells(data, "信息项")
        assert len(items) == entry.items.count()
        assert all(r[1] == f"{text}{n}" and r[6] == text for n, r in enumerate(items, start=1))
        assert any(text in r for r in _cells(data, "说明"))  # the classification table
    assert any(text in r for r in _cells(exports.template_file().file.read(), "说明"))


@pytest.mark.parametrize("value", HOSTILE_CELLS)
def test_responsibility_list_writes_formulas_as_text(value, client, approved_entry, staff):
    entry = _hostile_entry(approved_entry, staff, value)
    sign_in(client, staff)
    response = client.get(reverse("catalog:responsibility-export"))
    book = load_workbook(io.BytesIO(response.content))
    assert_no_formula(book)
    rows = list(book.active.iter_rows(min_row=2, values_only=True))
    text = xlsx_text(value)
    names = {f"{text}{pk}" for pk in ResponsibilityItem.objects.filter(entry=entry).values_list("pk", flat=True)}
    assert rows and all(r[0] == text and r[1] == entry.code and r[2] == text and r[3] in names for r in rows)
