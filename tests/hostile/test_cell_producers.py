"""Every module of the project that writes a spreadsheet (csv.writer / csv.DictWriter, an openpyxl Workbook, COPY …
TO as CSV) writes its cells through portal.cells, so a new download (the audit export, say) cannot skip the
formula-injection rule. Each producer found here has its hostile-cell test (tests.support.HOSTILE_CELLS):

    catalog department list, master catalog, template  tests/catalog/test_export_cells.py
    responsibility list                                 tests/catalog/test_export_cells.py
    data export CSV / XLSX                              tests/sharing/export/test_export_cells.py
    bulk CSV made by COPY (byte for byte)               tests/sharing/export/test_csv_copy.py
    rejected-rows report of an ingest job (as read)     tests/aggregation/test_report_cells.py
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("portal", "catalog", "aggregation", "sharing", "security", "supervision")
_WRITES = re.compile(r"csv\.(?:Dict)?[wW]riter\(|\bWorkbook\(|COPY\b.*\bTO\s+STDOUT")
# Modules that write spreadsheets nobody downloads: the demo's sample input files (data the portal then reads).
NOT_DOWNLOADS = {"aggregation/demo.py"}


def producers() -> list[str]:
    found = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative or relative == "portal/cells.py" or relative in NOT_DOWNLOADS:
                continue
            if _WRITES.search(path.read_text(encoding="utf-8")):
                found.append(relative)
    return sorted(found)


def test_every_spreadsheet_producer_writes_through_portal_cells():
    found = producers()
    assert {"catalog/excel/writing.py", "catalog/excel/responsibility.py", "sharing/export/download.py",
            "sharing/export/csv_copy.py", "aggregation/selectors/ingest.py"} <= set(found), found
    bare = [p for p in found if not re.search(r"from portal\.cells import|from portal import cells",
                                              (ROOT / p).read_text(encoding="utf-8"))]
    assert not bare, f"write these modules' cells through portal.cells and add a HOSTILE_CELLS test: {bare}"
