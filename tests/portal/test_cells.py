"""portal.cells: the formula-injection rule of every CSV/XLSX download, on strings and on bytes."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from portal.cells import csv_bytes, csv_cell, is_formula_like, xlsx_row
from tests.support import HOSTILE_CELLS, assert_no_formula, xlsx_text

PLAIN = ["", "plain", "中文", "-5", "-0.25", "1975-06-03", "'quote", " =1", "a=b", "x-1"]


@pytest.mark.parametrize("value", HOSTILE_CELLS)
def test_formula_like_strings_gain_a_quote_in_csv(value):
    assert is_formula_like(value)
    assert csv_cell(value) == "'" + value
    assert csv_bytes(value.encode()) == ("'" + value).encode()


@pytest.mark.parametrize("value", [*PLAIN, "-５", "-٣", "-5\n", "-5.", "-1e5"])
def test_bytes_and_str_agree(value):
    assert csv_bytes(value.encode()) == csv_cell(value).encode()


@pytest.mark.parametrize("value", PLAIN)
def test_other_strings_are_left_alone(value):
    assert csv_cell(value) == value


def test_non_strings_are_their_text_and_unguarded():
    assert [csv_cell(v) for v in (None, -5, -1.5, Decimal("-2"), dt.date(2026, 1, 2))] == [
        "", "-5", "-1.5", "-2", "2026-01-02"]
    assert csv_cell("-") == "'-" and csv_cell("-1+1") == "'-1+1" and csv_cell("-5.") == "'-5."  # not a plain number


def test_xlsx_cells_are_text_without_a_visible_quote_and_numbers_stay_typed():
    book = Workbook(write_only=True)
    sheet = book.create_sheet("s")
    day = dt.date(2026, 1, 2)
    sheet.append(xlsx_row(sheet, [*HOSTILE_CELLS, -5, -1.5, day, "x\x01y"]))
    out = io.BytesIO()
    book.save(out)
    read = load_workbook(io.BytesIO(out.getvalue()))
    assert_no_formula(read)
    cells = next(read["s"].iter_rows())
    n = len(HOSTILE_CELLS)
    assert [c.value for c in cells[:n]] == [xlsx_text(v) for v in HOSTILE_CELLS]
    assert {c.data_type for c in cells[:n]} == {"s"}
    assert [c.value for c in cells[n:n + 2]] == [-5, -1.5] and {c.data_type for c in cells[n:n + 2]} == {"n"}
    assert cells[n + 2].is_date and cells[n + 2].value.date() == day
    assert cells[n + 3].value == "xy"  # characters XML cannot hold are dropped
