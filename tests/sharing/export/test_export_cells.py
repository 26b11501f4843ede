"""Formula injection through the bulk download (portal.cells): a formula in every column of the CSV (COPY path)
and of the XLSX — item names in the header included — comes back as text: one `'` before it in the CSV, a text
cell without a visible quote in the XLSX."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from aggregation.models import Record
from aggregation.services import pools as agg
from catalog.choices import ShareType
from security import crypto
from tests.aggregation.builders import ids
from tests.sharing.helpers import PEOPLE, body_of, export_url, mirror_records
from tests.support import HOSTILE_CELLS, assert_no_formula, unquoted_csv_cell, xlsx_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def hostile(make_entry, dept, other_staff, make_grant):
    """hostile(value) -> an entry whose clear items (one named `value`) all hold `value` in two rows (the subject key
    aside: personal items are masked), granted to other_staff for download."""

    def _make(value):
        items = [PEOPLE[0], ("备注", "C", False, False), ("说明", "C", False, False), (value, "C", False, False)]
        entry = make_entry(provider=dept, items=items, share_type=ShareType.UNCONDITIONAL)
        dataset = agg.dataset_ensure(entry=entry)
        cipher = crypto.cipher()
        Record.objects.bulk_create([
            Record(dataset=dataset, key_hash=crypto.blind_index(key), key_enc=cipher.encrypt(key),
                   data={"公民身份号码": cipher.encrypt(key), **{name: value for name, *_ in items[1:]}},
                   row_hash=b"\0" * 32)
            for key in ids(2, start=90)])
        mirror_records(dataset.pk)
        make_grant(other_staff.department, entry, [name for name, *_ in items], methods=("download",))
        return entry, [name for name, *_ in items]

    return _make


@pytest.mark.parametrize("value", HOSTILE_CELLS)
def test_csv_download_quotes_every_formula(value, hostile, other_staff, api_as):
    entry, names = hostile(value)
    raw = body_of(api_as(other_staff).get(export_url(entry, "format=csv"), HTTP_X_PURPOSE="x")).decode()
    table = list(csv.reader(io.StringIO(raw.split("\r\n", 1)[1], newline="")))
    assert [unquoted_csv_cell(f) for f in table[0]] == [*names, "核校中"]
    assert len(table) == 3
    for row in table[1:]:
        assert [unquoted_csv_cell(f) for f in row[1:-1]] == [value] * (len(names) - 1)


@pytest.mark.parametrize("value", HOSTILE_CELLS)
def test_xlsx_download_types_every_formula_as_text(value, hostile, other_staff, api_as):
    entry, names = hostile(value)
    book = load_workbook(io.BytesIO(body_of(
        api_as(other_staff).get(export_url(entry, "format=xlsx"), HTTP_X_PURPOSE="x"))))
    assert_no_formula(book)
    rows = list(book["data"].iter_rows(values_only=True))
    text = xlsx_text(value)
    assert list(rows[0][:len(names)]) == [xlsx_text(n) for n in names] and len(rows) == 3
    for row in rows[1:]:
        assert list(row[1:len(names)]) == [text] * (len(names) - 1)
