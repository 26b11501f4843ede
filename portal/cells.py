"""The one cell writer of every spreadsheet the portal produces (CSV and XLSX): no formula injection.

Every download — the catalog template, a department's catalog list, the master catalog, the responsibility
list, the data export (CSV and XLSX) and the rejected-rows report of an ingest job — writes its cells through
this module; no other module decides whether a value is a formula.

The rule (OWASP "CSV injection"): a *string* is formula-like when it starts with `=`, `+`, `-`, `@`, TAB or CR —
`-1+1`, `-2+3+cmd|' /C calc'!A0`, `=HYPERLINK(…)`, `+1`, `@SUM(…)` all are. One exception: a string that is
exactly a plain ASCII negative number (`-5`, `-0.25`: `-` digits, optionally `.` digits, nothing else) is not —
a spreadsheet reads it as the number it is, never as a formula, and data exports keep negative amounts as they are.
Only strings are judged: a real number or date (int, float, Decimal, date, datetime) is written typed, and a
negative number typed as a number is not a formula.

- CSV has no cell types, so a formula-like string is written with a `'` before it (`csv_cell`): Excel and
  LibreOffice show the text, and nobody evaluates it. The `'` is part of the CSV field; a reader of the file
  that wants the original strips one leading `'` from a field whose next character is a formula head.
- XLSX has types, so a string cell is typed as text (`cell.data_type = "s"`, `xlsx_cell`): its value is the
  text unchanged (no visible `'`), and openpyxl writes it as a string even when it starts with `=`. Characters
  XML 1.0 cannot hold (C0 controls other than TAB, LF, CR) are dropped from XLSX strings (openpyxl refuses them);
  a CR reads back as LF (XML's line-end rule).
  No producer writes a formula (a link, too, is plain text).

The bulk data export's CSV comes from PostgreSQL COPY (sharing.export.csv_copy); it applies this same rule on
bytes (`is_formula_like_bytes`, the block scan there finds the few fields that need it) and is tested byte for
byte against `csv_cell` + `csv.writer`.
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_HEADS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_HEAD_BYTES = tuple(h.encode() for h in FORMULA_HEADS)
_PLAIN_NEGATIVE = re.compile(r"-[0-9]+(?:\.[0-9]+)?\Z", re.ASCII)
_PLAIN_NEGATIVE_BYTES = re.compile(rb"-[0-9]+(?:\.[0-9]+)?\Z")
_ILLEGAL_XML = re.compile(r"[\000-\010\013\014\016-\037]")


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet would read the string `text` as a formula (the module's rule)."""
    return text.startswith(FORMULA_HEADS) and not _PLAIN_NEGATIVE.match(text)


def is_formula_like_bytes(value: bytes) -> bool:
    """`is_formula_like` on UTF-8 bytes (the COPY path of the data export)."""
    return value.startswith(FORMULA_HEAD_BYTES) and not _PLAIN_NEGATIVE_BYTES.match(value)


def csv_cell(value: Any) -> str:
    """A CSV field's text: None is empty, a formula-like string gains a leading `'`, anything else is its str."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return str(value)
    return "'" + value if is_formula_like(value) else value


def csv_row(values) -> list[str]:
    """`csv_cell` of each value of a row, for `csv.writer.writerow`."""
    return [csv_cell(v) for v in values]


def csv_bytes(value: bytes) -> bytes:
    """`csv_cell` on a UTF-8 string's bytes (before CSV quoting)."""
    return b"'" + value if is_formula_like_bytes(value) else value


def xlsx_cell(ws, value: Any):
    """A (write-only) cell for `ws.append`: a string typed as text whatever it starts with (XML-illegal
    characters dropped); numbers, dates, booleans and None as openpyxl types them."""
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, str):
        value = _ILLEGAL_XML.sub("", value)
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def xlsx_row(ws, values) -> list:
    """`xlsx_cell` of each value of a row (a value that already is a cell is kept, with its style)."""
    from openpyxl.cell import Cell

    return [v if isinstance(v, Cell) else xlsx_cell(ws, v) for v in values]
