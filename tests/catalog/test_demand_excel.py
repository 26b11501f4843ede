"""Excel import/export of a department's demand list (R8.1) in the catalog template's style: template, import all or
nothing, every bad input reported on its cell (wrong headers, formulas, zip bombs…), round trip, pages, audit."""

import io
import zipfile

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from catalog.choices import DemandState
from catalog.excel import container
from catalog.excel.demands import DEMAND_SHEET, demand_columns, demand_template_file, import_demands
from catalog.excel.reading import formula_message
from catalog.models import DemandItem
from catalog.services.demands import demand_item_save, demand_item_submit
from portal.choices import AuditResult
from portal.errors import PermissionDenied
from tests.catalog.helpers import demand_line as line
from tests.catalog.helpers import demand_workbook as build
from tests.catalog.helpers import entry_items
from tests.catalog.helpers import formulas_in_demand_sheet as _formula
from tests.permissions import LOGIN, Row, check_matrix
from tests.support import HOSTILE_CELLS, assert_no_formula

pytestmark = pytest.mark.django_db

HEADERS = [c.header for c in demand_columns()]


def run_import(user, data, filename="需求清单.xlsx"):
    return import_demands(actor=user, department=user.department, data=data, filename=filename)


def has_error(result, row, column, text):
    return any(e.row == row and e.column == column and text in e.message for e in result.errors)


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


def sheet_rows(data: bytes):
    wb = load_workbook(io.BytesIO(data), read_only=True)
    try:
        return [list(r) for r in wb[DEMAND_SHEET].iter_rows(values_only=True)]
    finally:
        wb.close()


# ---------------------------------------------------------------- template


def test_template_layout_and_department_dropdown(dept, other_dept):
    wb = load_workbook(demand_template_file().file)
    assert wb.sheetnames == [DEMAND_SHEET, "说明"]
    assert [c.value for c in wb[DEMAND_SHEET][1]] == HEADERS
    [dv] = wb[DEMAND_SHEET].data_validations.dataValidation
    assert str(dv.sqref).startswith("F2:") and dv.formula1.startswith("'说明'!$B$")
    notes = [c.value for row in wb["说明"].iter_rows() for c in row if c.value]
    assert dept.name in notes and other_dept.name in notes
    assert any(n == "所需数据（必填）" for n in notes)


def test_blank_template_imports_nothing(staff):
    result = run_import(staff, demand_template_file().file.read())
    assert has_error(result, 2, "", "没有需求数据") and DemandItem.objects.count() == 0


# ---------------------------------------------------------------- import


def test_import_creates_draft_lines_matched_and_audited(approved_entry, other_staff, audit_log):
    source = approved_entry(name="户籍人口基本信息", items=entry_items("公民身份号码", "姓名"))
    rows = [
        line(所需数据="户籍人口信息", 所需信息项="公民身份号码，姓名", 提供部门=source.provider.name),
        line(所需数据="社会组织登记信息", 所需信息项=None, 提供部门=None),
    ]
    result = run_import(other_staff, build(rows))
    assert result.ok and (result.created, result.updated, result.unchanged) == (2, 0, 0)
    first, second = sorted(DemandItem.objects.filter(department=other_staff.department), key=lambda d: d.pk)
    assert first.state == DemandState.DRAFT and first.item_names == ["公民身份号码", "姓名"]
    assert first.provider == source.provider and list(first.matches.all()) == [source]
    assert second.provider is None and second.item_names == []
    assert len(audit_log("catalog.demand.created")) == 2
    [event] = audit_log("catalog.demand.imported")
    assert event.result == AuditResult.SUCCESS and event.data["created"] == 2


def test_provider_by_short_name(staff, other_dept):
    result = run_import(staff, build([line(提供部门=other_dept.short_name)]))
    assert result.ok and DemandItem.objects.get().provider == other_dept


def test_one_bad_row_imports_nothing(staff, audit_log):
    result = run_import(staff, build([line(), line(所需数据="另一项需求", 用途=None)]))
    assert has_error(result, 3, "D", "「用途」不能为空")
    assert DemandItem.objects.count() == 0 and audit_log("catalog.demand.created") == []
    [event] = audit_log("catalog.demand.imported")
    assert event.result == AuditResult.FAILURE and event.data["errors"] == 1


def _rename_header(ws):
    ws["D1"] = "使用目的"


def _drop_header(ws):
    ws["E1"] = None


def _merge(ws):
    ws.merge_cells("D2:D3")


def _rename_sheet(ws):
    ws.title = "需求"


BAD_INPUTS = {
    "wrong header": (lambda d, o: build([line()], _rename_header), (1, "D", "无法识别的列标题「使用目的」")),
    "wrong header (missing)": (lambda d, o: build([line()], _rename_header), (1, "", "缺少列「用途」")),
    "header removed": (lambda d, o: build([line()], _drop_header), (1, "", "缺少列「依据」")),
    "formula": (lambda d, o: build([line(), line(所需数据="第二项")], _formula), (2, "D", "单元格含有公式")),
    "formula in the id column": (lambda d, o: build([line(), line(所需数据="第二项")], _formula), (3, "A", "公式")),
    "zip bomb": (
        lambda d, o: _zip({"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": bytes(40 * 1024 * 1024)}),
        (None, "", "压缩比异常"),
    ),
    "legacy .xls": (lambda d, o: container._OLE_MAGIC + bytes(4096), (None, "", "旧版 Excel 97-2003（.xls）")),
    "renamed .txt": (lambda d, o: "所需数据\t用途\n".encode(), (None, "", "不是 Excel 工作簿")),
    "missing sheet": (lambda d, o: build([line()], _rename_sheet), (None, "", "缺少工作表「需求清单」")),
    "merged cells": (lambda d, o: build([line(), line(所需数据="第二项")], _merge), (2, "D", "合并单元格")),
    "unknown provider": (
        lambda d, o: build([line(提供部门="焦作市不存在局")]),
        (2, "F", "提供部门「焦作市不存在局」不存在"),
    ),
    "own department as provider (service rule on its cell)": (
        lambda d, o: build([line(提供部门=d.name)]),
        (2, "F", "本部门的数据无需列入需求清单"),
    ),
    "too long": (lambda d, o: build([line(所需数据="数" * 201)]), (2, "B", "不能超过 200 个字")),
    "repeated line": (lambda d, o: build([line(提供部门=o.name), line(提供部门=o.name)]), (3, "B", "与第 2 行重复")),
    "id of no own line": (lambda d, o: build([line(编号=999999)]), (2, "A", "不是本部门需求清单中的需求")),
    "id not a number": (lambda d, o: build([line(编号="七")]), (2, "A", "正整数")),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_reported_by_cell_and_nothing_imported(case, staff, dept, other_dept, audit_log):
    make, (row, column, text) = BAD_INPUTS[case]
    result = run_import(staff, make(dept, other_dept))
    assert has_error(result, row, column, text), [e.as_dict() for e in result.errors]
    assert all(e.message and e.sheet for e in result.errors)
    assert DemandItem.objects.count() == 0 and audit_log("catalog.demand.created") == []
    [event] = audit_log("catalog.demand.imported")
    assert event.result == AuditResult.FAILURE


def test_a_formula_is_refused_by_the_catalog_import_s_rule(staff):
    result = run_import(staff, build([line(), line(所需数据="第二项")], _formula))
    assert {(e.row, e.column): e.message for e in result.errors} == {
        (2, "D"): formula_message(),
        (3, "A"): formula_message(),
    }


def test_a_wrong_header_reports_no_row_errors_under_it(staff):
    result = run_import(staff, build([line(用途=None)], _rename_header))
    assert {e.row for e in result.errors} == {1}


def test_too_large_file_refused_before_parsing(staff):
    result = run_import(staff, b"PK\x03\x04" + bytes(container.MAX_FILE_BYTES))
    assert has_error(result, None, "", "文件过大")


def test_only_the_departments_filers_may_import(reviewer, staff, other_dept):
    with pytest.raises(PermissionDenied):
        import_demands(actor=reviewer, department=staff.department, data=build([line()]))
    assert DemandItem.objects.count() == 0


# ---------------------------------------------------------------- export and round trip


@pytest.fixture
def filed(staff, other_dept):
    values = {"item_names": ["统一社会信用代码"], "purpose": "核验", "legal_basis": "职责", "provider": other_dept}
    draft = demand_item_save(actor=staff, department=staff.department, values=values | {"needed_data": "营业执照"})
    sent = demand_item_save(actor=staff, department=staff.department, values=values | {"needed_data": "社会组织"})
    demand_item_submit(actor=staff, demand_id=sent.pk)
    hostile = [
        demand_item_save(
            actor=staff,
            department=staff.department,
            values=values | {"needed_data": f"需求{i}", "purpose": cell, "legal_basis": cell},
        )
        for i, cell in enumerate(HOSTILE_CELLS)
    ]
    return draft, sent, hostile


def _export(client) -> bytes:
    response = client.get(reverse("catalog:demand-export"))
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def test_export_is_the_template_layout_formula_safe_and_audited(web_as, staff, filed, audit_log):
    data = _export(web_as(staff))
    rows = sheet_rows(data)
    assert rows[0] == HEADERS and len(rows) == 1 + 2 + len(HOSTILE_CELLS)
    assert {r[4] for r in rows[1:]} >= {d.legal_basis for d in filed[2]}  # the text as filed, typed as text
    assert_no_formula(load_workbook(io.BytesIO(data)))
    [event] = audit_log("catalog.demand.exported")
    assert event.actor == staff and event.data["lines"] == 2 + len(HOSTILE_CELLS)


def test_round_trip_reimport_changes_nothing(web_as, staff, filed, audit_log):
    result = run_import(staff, _export(web_as(staff)))
    assert result.ok and (result.created, result.updated, result.unchanged) == (0, 0, 2 + len(HOSTILE_CELLS))
    assert audit_log("catalog.demand.updated") == []


def test_round_trip_edits_a_draft_and_refuses_a_submitted_line(web_as, staff, filed, audit_log):
    draft, sent, _hostile = filed
    wb = load_workbook(io.BytesIO(_export(web_as(staff))))
    ws = wb[DEMAND_SHEET]
    for row in ws.iter_rows(min_row=2):
        if row[0].value == draft.pk:
            row[3].value = "改了用途"
    out = io.BytesIO()
    wb.save(out)
    result = run_import(staff, out.getvalue())
    assert result.ok and result.updated == 1
    draft.refresh_from_db()
    assert draft.purpose == "改了用途"
    for row in ws.iter_rows(min_row=2):
        if row[0].value == sent.pk:
            row[3].value = "改了已提交的"
            number = row[0].row
    out = io.BytesIO()
    wb.save(out)
    result = run_import(staff, out.getvalue())
    assert has_error(result, number, "A", "已提交的需求不能通过导入修改")
    sent.refresh_from_db()
    assert sent.purpose == "核验"


# ---------------------------------------------------------------- pages


def _upload(client, data, name="需求清单.xlsx"):
    upload = io.BytesIO(data)
    upload.name = name
    return client.post(reverse("catalog:demand-import"), {"file": upload})


def test_page_permissions(staff, head, other_staff, reviewer, county_bureau_user):
    people = {"anonymous": None, "staff": staff, "head": head, "reviewer": reviewer, "county": county_bureau_user}
    check_matrix(
        people,
        [
            Row(
                "get",
                reverse("catalog:demand-import"),
                {"anonymous": LOGIN, "staff": 200, "head": 200, "reviewer": 404, "county": 404},
            ),
            Row(
                "get",
                reverse("catalog:demand-export"),
                {"anonymous": LOGIN, "staff": 200, "head": 200, "reviewer": 404, "county": 404},
            ),
            Row("get", reverse("catalog:demand-template"), {"anonymous": LOGIN, "staff": 200, "reviewer": 200}),
        ],
    )


def test_list_page_offers_the_excel_buttons_to_filers(web_as, staff):
    page = web_as(staff).get(reverse("catalog:demand-list")).content.decode()
    for name in ("catalog:demand-import", "catalog:demand-export", "catalog:demand-template"):
        assert reverse(name) in page


def test_import_page_success_shows_the_lines(web_as, staff, other_dept):
    client = web_as(staff)
    response = _upload(client, build([line(提供部门=other_dept.name), line(所需数据="社会组织登记信息")]))
    assert response.status_code == 302 and response["Location"] == reverse("catalog:demand-list")
    page = client.get(response["Location"]).content.decode()
    assert "导入成功：新增 2 项" in page and "企业营业执照信息" in page and "社会组织登记信息" in page


def test_import_page_lists_errors(web_as, staff):
    response = _upload(web_as(staff), build([line()], _formula))
    page = response.content.decode()
    assert response.status_code == 200 and 'data-testid="error-table"' in page
    assert "单元格含有公式" in page and "文件未导入任何数据" in page
    assert DemandItem.objects.count() == 0
