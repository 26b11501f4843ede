"""Excel import/export of catalog lists (R8.1, R8.3): template, round trip, every bad input, permissions, audit."""

import io
import zipfile

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from catalog.choices import EntryState, ShareType
from catalog.excel import columns, container, exports, importing, reading
from catalog.models import CatalogEntry, DataItem
from catalog.services.entries import entry_snapshot
from portal.choices import AuditResult
from portal.models import AuditEvent
from tests.catalog.helpers import entry_items
from tests.factories import DepartmentFactory, Role, make_user

pytestmark = pytest.mark.django_db

ENTRY_HEADERS = [c.header for c in columns.entry_columns()]
ITEM_HEADERS = [c.header for c in columns.item_columns()]


# ---------------------------------------------------------------- building workbooks


def entry_row(dept, seq=1, **cells):
    """One「信息资源」row in the template's column order; `cells` by header, e.g. 共享类型="有条件共享"."""
    row = {
        "序号": seq, "信息资源代码": None, "信息资源名称": f"企业营业执照登记信息{seq}", "信息资源分类": "303",
        "提供方": dept.name, "提供方代码": dept.credit_code,
        "信息资源摘要": "市场主体登记注册的营业执照信息", "格式分类": "数据库", "格式类型": "PostgreSQL",
        "共享类型": "无条件共享", "共享条件": None, "不予共享依据": None, "共享方式": "数据接口、在线查询",
        "是否向社会开放": "不予开放", "开放条件": None, "更新周期": "每日", "发布日期": None, "关联资源代码": None,
        "涉密": "否",
    }
    unknown = set(cells) - set(row)
    assert not unknown, unknown
    row.update(cells)
    return [row[h] for h in ENTRY_HEADERS]


def item_row(seq, name, data_type="字符型C", length=100, key="否", base="否", description=None):
    return [seq, name, data_type, length, key, base, description]


def default_items(seq=1):
    return [
        item_row(seq, "统一社会信用代码", "C", 18, "是", "是", "主体标识"),
        item_row(seq, "企业名称", "字符型C", 200),
        item_row(seq, "成立日期", "日期型D", 8),
    ]


def build(entries, items, mutate=None) -> bytes:
    """A workbook made from the real blank template, with these rows; `mutate(wb)` may break it."""
    wb = load_workbook(exports.template_file().file)
    for row in entries:
        wb[columns.ENTRY_SHEET].append(row)
    for row in items:
        wb[columns.ITEM_SHEET].append(row)
    if mutate:
        mutate(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def run_import(user, data, filename="目录清单.xlsx"):
    return importing.import_catalog(actor=user, department=user.department, data=data, filename=filename)


def has_error(result, sheet, row, column, text):
    return any(
        e.sheet == sheet and e.row == row and e.column == column and text in e.message for e in result.errors
    )


def snapshot(department):
    """The department's entries as comparable documents (values + items), by name; codes and provider left out."""
    docs = {}
    for entry in CatalogEntry.objects.filter(provider=department).select_related("classification", "provider"):
        doc = entry_snapshot(entry)
        for key in ("code", "provider", "provider_code", "publish_date"):
            doc["values"].pop(key)
        docs[entry.name] = doc
    return docs


def sheet_values(data: bytes, sheet: str):
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        return [list(r) for r in wb[sheet].iter_rows(values_only=True)]
    finally:
        wb.close()


# ---------------------------------------------------------------- template


def test_template_layout_dropdowns_and_note_sheet(db):
    data = exports.template_file().file.read()
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["信息资源", "信息项", "说明"]
    assert [c.value for c in wb["信息资源"][1]] == ENTRY_HEADERS
    assert [c.value for c in wb["信息项"][1]] == ITEM_HEADERS
    assert ENTRY_HEADERS[:4] == ["序号", "信息资源代码", "信息资源名称", "信息资源分类"]
    lists = {str(dv.sqref).split(":")[0]: dv.formula1 for dv in wb["信息资源"].data_validations.dataValidation}
    assert "有条件共享" in lists["J2"]  # 共享类型
    assert "每季度" in lists["P2"]  # 更新周期
    assert lists["S2"] == '"是,否"'  # 涉密
    assert "说明" in lists["D2"]  # 分类代码 from the code table on the「说明」sheet
    item_lists = {str(dv.sqref).split(":")[0]: dv.formula1 for dv in wb["信息项"].data_validations.dataValidation}
    assert "字符型C" in item_lists["C2"]
    notes = [c for row in wb["说明"].iter_rows(values_only=True) for c in row if c]
    assert "分类代码表" in notes and "303 政府" in notes and "3 部门信息资源" not in notes


def test_blank_template_imports_nothing(staff):
    result = run_import(staff, exports.template_file().file.read())
    assert not result.ok
    assert has_error(result, "信息资源", 2, "", "没有信息资源数据")
    assert CatalogEntry.objects.count() == 0


# ---------------------------------------------------------------- import


def test_import_creates_entries_with_items_and_audits(staff, dept, audit_log):
    data = build(
        [
            entry_row(dept, 1),
            entry_row(dept, 2, 信息资源名称="企业年报信息", 共享类型="有条件共享", 共享条件="仅限市场监管业务",
                      共享方式="数据接口,批量下载", 更新周期="每年", 格式分类="电子表格", 格式类型="xlsx"),
        ],
        [*default_items(1), item_row(2, "统一社会信用代码", "C", 18, "是"), item_row(2, "年报年度", "N", 4)],
    )
    result = run_import(staff, data)
    assert result.ok, result.errors
    assert (result.created, result.updated, result.unchanged, result.items) == (2, 0, 0, 5)
    second = CatalogEntry.objects.get(name="企业年报信息")
    assert second.provider == dept and second.state == EntryState.DRAFT and second.code
    assert second.share_type == ShareType.CONDITIONAL and second.share_condition == "仅限市场监管业务"
    assert second.exchange_methods == ["api", "download"]
    assert (second.format_class, second.update_cycle) == ("sheet", "yearly")
    assert [(i.name, i.data_type, i.length, i.is_subject_key) for i in second.items.order_by("position")] == [
        ("统一社会信用代码", "C", 18, True), ("年报年度", "N", 4, False),
    ]
    [event] = audit_log("catalog.excel.imported")
    assert event.result == AuditResult.SUCCESS and event.actor == staff
    assert event.data["created"] == 2 and event.data["items"] == 5
    assert len(audit_log("catalog.entry.created")) == 2


def test_import_accepts_letters_flags_and_date_forms(staff, dept):
    data = build(
        [entry_row(dept, 1, 是否向社会开放="否", 发布日期="2024年3月1日", 共享方式="接口、文件",
                   信息资源分类="303 政府")],  # as picked from the drop-down
        [item_row(1, "统一社会信用代码", "c", "18", "Y", "1"), item_row(1, "注册资本", "货币型", 18.0, "否", "N")],
    )
    result = run_import(staff, data)
    assert result.ok, result.errors
    entry = CatalogEntry.objects.get()
    assert entry.open_type == "closed" and entry.exchange_methods == ["api", "download"]
    assert entry.classification.code == "303"
    assert [(i.data_type, i.length, i.is_base_item) for i in entry.items.order_by("position")] == [
        ("C", 18, True), ("Y", 18, False),
    ]


def test_one_bad_row_imports_nothing(staff, dept, audit_log):
    data = build(
        [entry_row(dept, 1), entry_row(dept, 2, 共享类型="有条件共享")],  # conditional without its condition
        [*default_items(1), *default_items(2)],
    )
    result = run_import(staff, data)
    assert has_error(result, "信息资源", 3, "K", "共享条件")
    assert CatalogEntry.objects.count() == 0 and DataItem.objects.count() == 0
    assert audit_log("catalog.entry.created") == []
    [event] = audit_log("catalog.excel.imported")
    assert event.result == AuditResult.FAILURE and event.data["errors"] == len(result.errors)


# ---------------------------------------------------------------- bad input: a clear list, nothing imported


def _merge(wb):
    wb["信息资源"].merge_cells("G2:G3")


def _drop_item_sheet(wb):
    del wb["信息项"]


def _extra_header(wb):
    wb["信息资源"].cell(row=1, column=len(ENTRY_HEADERS) + 1, value="备注信息")


def _rename_header(wb):
    wb["信息资源"]["J1"] = "共享类别"


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


BAD_INPUTS = {
    "merged cells": (
        lambda d: build([entry_row(d, 1), entry_row(d, 2)], [*default_items(1), *default_items(2)], _merge),
        ("信息资源", 2, "G", "合并单元格"),
    ),
    "missing sheet": (
        lambda d: build([entry_row(d, 1)], default_items(1), _drop_item_sheet),
        ("信息项", None, "", "缺少工作表「信息项」"),
    ),
    "unknown header": (
        lambda d: build([entry_row(d, 1)], default_items(1), _extra_header),
        ("信息资源", 1, "T", "无法识别的列标题「备注信息」"),
    ),
    "missing header": (
        lambda d: build([entry_row(d, 1)], default_items(1), _rename_header),
        ("信息资源", 1, "", "缺少列「共享类型」"),
    ),
    "wrong data-type label": (
        lambda d: build([entry_row(d, 1)], [*default_items(1), item_row(1, "备注", "文本型")]),
        ("信息项", 5, "C", "不是有效的数据类型"),
    ),
    "wrong sharing-type label": (
        lambda d: build([entry_row(d, 1, 共享类型="部分共享")], default_items(1)),
        ("信息资源", 2, "J", "不是有效的共享类型"),
    ),
    "bad date": (
        lambda d: build([entry_row(d, 1, 发布日期="2024-02-30")], default_items(1)),
        ("信息资源", 2, "Q", "不是有效的日期"),
    ),
    "bad length": (
        lambda d: build([entry_row(d, 1)], [*default_items(1), item_row(1, "备注", "C", "十八")]),
        ("信息项", 5, "D", "正整数"),
    ),
    "duplicate codes in the file": (
        lambda d: build(
            [entry_row(d, 1, 信息资源代码="303/X1"), entry_row(d, 2, 信息资源代码="303/X1")],
            [*default_items(1), *default_items(2)],
        ),
        ("信息资源", 3, "B", "在本文件中重复"),
    ),
    "duplicate sequence numbers": (
        lambda d: build([entry_row(d, 1), entry_row(d, 1, 信息资源名称="另一条")], default_items(1)),
        ("信息资源", 3, "A", "序号「1」重复"),
    ),
    "item of an unknown entry": (
        lambda d: build([entry_row(d, 1)], [*default_items(1), item_row(7, "企业名称")]),
        ("信息项", 5, "A", "资源序号「7」在「信息资源」工作表中不存在"),
    ),
    "duplicate item names": (
        lambda d: build([entry_row(d, 1)], [*default_items(1), item_row(1, "企业名称")]),
        ("信息项", 5, "B", "信息项名称「企业名称」重复"),
    ),
    "not shared without basis": (
        lambda d: build([entry_row(d, 1, 共享类型="不予共享", 共享方式=None)], default_items(1)),
        ("信息资源", 2, "L", "不予共享须提供法律、行政法规或党中央、国务院政策依据"),
    ),
    "two subject keys (core rule mapped to its cell)": (
        lambda d: build([entry_row(d, 1)], [*default_items(1), item_row(1, "法定代表人证件号码", key="是")]),
        ("信息项", 5, "E", "只能有一个主体标识"),
    ),
    "level-1 classification (core rule)": (
        lambda d: build([entry_row(d, 1, 信息资源分类="3")], default_items(1)),
        ("信息资源", 2, "D", "不能只选“类”"),
    ),
    "unknown classification": (
        lambda d: build([entry_row(d, 1, 信息资源分类="399")], default_items(1)),
        ("信息资源", 2, "D", "分类代码「399」不存在"),
    ),
    "secret entry": (
        lambda d: build([entry_row(d, 1, 涉密="是")], default_items(1)),
        ("信息资源", 2, "S", "涉密"),
    ),
    "another department as provider": (
        lambda d: build([entry_row(d, 1, 提供方="焦作市教育局")], default_items(1)),
        ("信息资源", 2, "E", "只能导入本部门"),
    ),
    "legacy .xls": (
        lambda d: container._OLE_MAGIC + bytes(4096),
        ("文件", None, "", "旧版 Excel 97-2003（.xls）"),
    ),
    "renamed .txt": (
        lambda d: "序号\t信息资源名称\n1\t户籍人口信息\n".encode(),
        ("文件", None, "", "不是 Excel 工作簿"),
    ),
    "zip that is not a workbook": (
        lambda d: _zip({"word/document.xml": b"<w:document/>", "[Content_Types].xml": b"<Types/>"}),
        ("文件", None, "", "缺少工作簿内容"),
    ),
    "corrupt zip": (
        lambda d: b"PK\x03\x04" + bytes(200),
        ("文件", None, "", "已损坏"),
    ),
    "zip bomb": (
        lambda d: _zip({"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": bytes(40 * 1024 * 1024)}),
        ("文件", None, "", "压缩比异常"),
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_reported_by_cell_and_nothing_imported(case, staff, dept, audit_log):
    make, (sheet, row, column, text) = BAD_INPUTS[case]
    result = run_import(staff, make(dept))
    assert has_error(result, sheet, row, column, text), [e.as_dict() for e in result.errors]
    assert all(e.message for e in result.errors)
    assert CatalogEntry.objects.count() == 0 and DataItem.objects.count() == 0
    assert audit_log("catalog.entry.created") == []
    [event] = audit_log("catalog.excel.imported")
    assert event.result == AuditResult.FAILURE


def _formulas(wb):
    """A formula in a required cell (摘要, G2), in an optional one (共享条件, K3: once read as its cached value, or as
    empty when the file has none) and in an item's length (D3)."""
    wb["信息资源"]["G2"] = '=HYPERLINK("http://evil.example","点我")'
    wb["信息资源"]["K3"] = '="仅向"&"税务部门共享"'
    wb["信息项"]["D3"] = "=6*3"


def test_a_formula_is_refused_on_its_cell_and_nothing_imported(staff, dept, audit_log):
    data = build([entry_row(dept, 1), entry_row(dept, 2)], [*default_items(1), *default_items(2)], _formulas)
    result = run_import(staff, data)
    located = {(e.sheet, e.row, e.column, e.header): e.message for e in result.errors}
    assert located == dict.fromkeys(
        [("信息资源", 2, "G", "信息资源摘要"), ("信息资源", 3, "K", "共享条件"), ("信息项", 3, "D", "数据长度")],
        reading.formula_message(),
    ), [e.as_dict() for e in result.errors]
    assert "选择性粘贴" in reading.formula_message()
    assert CatalogEntry.objects.count() == 0 and DataItem.objects.count() == 0
    [event] = audit_log("catalog.excel.imported")
    assert event.result == AuditResult.FAILURE


def test_too_large_file_refused_before_parsing(staff):
    result = run_import(staff, b"PK\x03\x04" + bytes(container.MAX_FILE_BYTES))
    assert has_error(result, "文件", None, "", "文件过大")


def test_every_cell_error_is_listed_not_only_the_first(staff, dept):
    data = build(
        [entry_row(dept, 1, 共享类型="部分共享", 更新周期="每天", 格式分类="表格")],
        [item_row(1, "统一社会信用代码", "文本", 18, "可能")],
    )
    result = run_import(staff, data)
    located = {(e.sheet, e.row, e.column) for e in result.errors}
    assert {("信息资源", 2, "J"), ("信息资源", 2, "P"), ("信息资源", 2, "H"), ("信息项", 2, "C"),
            ("信息项", 2, "E")} <= located
    error = next(e for e in result.errors if e.column == "P")
    assert (error.header, error.value) == ("更新周期", "每天") and "每季度" in error.message


def test_duplicate_code_of_another_department(staff, other_staff, dept, make_entry):
    theirs = make_entry(user=other_staff, name="婚姻登记信息")
    result = run_import(staff, build([entry_row(dept, 1, 信息资源代码=theirs.code)], default_items(1)))
    assert has_error(result, "信息资源", 2, "B", "已被")
    assert CatalogEntry.objects.count() == 1


def test_same_name_as_an_existing_entry_is_refused(staff, dept, make_entry):
    """Importing the same new rows twice would file every entry twice."""
    make_entry(name="企业营业执照登记信息1")
    result = run_import(staff, build([entry_row(dept, 1)], default_items(1)))
    assert has_error(result, "信息资源", 2, "C", "已有同名信息资源")
    assert CatalogEntry.objects.count() == 1


# ---------------------------------------------------------------- round trip


@pytest.fixture
def filed(staff, make_entry):
    """Three drafts covering the sharing types, open types, formats, lengths and related codes."""
    first = make_entry(name="企业营业执照登记信息")
    second = make_entry(
        name="企业年度报告信息", share_type=ShareType.CONDITIONAL, share_condition="仅向市场监管、税务部门共享",
        exchange_methods=["api", "push"], open_type="conditional", open_condition="仅开放公示字段",
        update_cycle="yearly", format_class="sheet", format_type="xlsx", related_codes=[first.code],
        items=[*entry_items("年报年度"), {"name": "从业人数", "data_type": "I", "length": None,
                                            "is_subject_key": False, "is_base_item": False,
                                            "description": "=SUM(A1:A9) 不是公式"}],
    )
    third = make_entry(
        name="涉案企业信息", share_type=ShareType.NONE, no_share_basis="《中华人民共和国刑事诉讼法》",
        exchange_methods=[], summary="=HYPERLINK(\"http://example.com\")看似公式的摘要", update_cycle="realtime",
    )
    return [first, second, third]


def _export(user):
    return exports.export_department_list(actor=user, department=user.department).file.read()


def test_round_trip_reimport_is_identical_and_changes_nothing(staff, dept, filed, audit_log):
    before = snapshot(dept)
    data = _export(staff)
    result = run_import(staff, data)
    assert result.ok, result.errors
    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    assert snapshot(dept) == before
    assert audit_log("catalog.entry.updated") == []
    assert sheet_values(_export(staff), "信息资源") == sheet_values(data, "信息资源")
    assert sheet_values(_export(staff), "信息项") == sheet_values(data, "信息项")


def test_round_trip_into_a_fresh_department_is_identical(staff, dept, filed):
    fresh = DepartmentFactory(name="焦作市测试新部门")
    fresh_staff = make_user(Role.DEPT_STAFF, department=fresh, username="fresh_staff")
    wb = load_workbook(io.BytesIO(_export(staff)))
    for row in wb["信息资源"].iter_rows(min_row=2):
        row[1].value, row[4].value, row[5].value = None, fresh.name, None  # code, provider, provider code
    out = io.BytesIO()
    wb.save(out)
    result = run_import(fresh_staff, out.getvalue())
    assert result.ok, result.errors
    assert (result.created, result.items) == (3, sum(e.items.count() for e in filed))
    assert snapshot(fresh) == snapshot(dept)


def test_round_trip_edited_draft_is_updated(staff, dept, filed, audit_log):
    wb = load_workbook(io.BytesIO(_export(staff)))
    ws = wb["信息资源"]
    row = next(r for r in ws.iter_rows(min_row=2) if r[2].value == "企业营业执照登记信息")
    row[6].value = "修改后的摘要"
    wb["信息项"].append([row[0].value, "注册地址", "字符型C", 200, "否", "否", None])
    out = io.BytesIO()
    wb.save(out)
    result = run_import(staff, out.getvalue())
    assert result.ok, result.errors
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    entry = CatalogEntry.objects.get(name="企业营业执照登记信息")
    assert entry.summary == "修改后的摘要" and entry.code == filed[0].code
    assert list(entry.items.order_by("position").values_list("name", flat=True))[-1] == "注册地址"
    assert len(audit_log("catalog.entry.updated")) == 1
    assert sheet_values(_export(staff), "信息资源") == sheet_values(out.getvalue(), "信息资源")


def test_exported_text_that_looks_like_a_formula_stays_text(staff, filed):
    wb = load_workbook(io.BytesIO(_export(staff)))
    cell = next(r[6] for r in wb["信息资源"].iter_rows(min_row=2) if r[2].value == "涉案企业信息")
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_published_entry_unchanged_is_skipped_changed_is_refused(staff, dept, approved_entry):
    entry = approved_entry()
    data = _export(staff)
    assert run_import(staff, data).unchanged == 1
    wb = load_workbook(io.BytesIO(data))
    wb["信息资源"]["G2"] = "改了摘要"
    out = io.BytesIO()
    wb.save(out)
    result = run_import(staff, out.getvalue())
    assert has_error(result, "信息资源", 2, "B", "目录更新申请")
    entry.refresh_from_db()
    assert entry.summary != "改了摘要" and entry.state == EntryState.APPROVED


# ---------------------------------------------------------------- web: permissions and audit


def _upload(client, data, name="目录清单.xlsx"):
    upload = io.BytesIO(data)
    upload.name = name
    return client.post(reverse("catalog:excel-import"), {"file": upload})


@pytest.mark.parametrize("name", ["catalog:excel-import", "catalog:excel-export", "catalog:excel-template",
                                  "catalog:master-export"])
def test_anonymous_is_sent_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_only_the_departments_filers_may_import(web_as, reviewer, county_bureau_user, head):
    assert web_as(reviewer).get(reverse("catalog:excel-import")).status_code == 404
    assert web_as(county_bureau_user).get(reverse("catalog:excel-import")).status_code == 404
    assert web_as(reviewer).get(reverse("catalog:excel-export")).status_code == 404
    assert web_as(head).get(reverse("catalog:excel-import")).status_code == 200  # heads file too (STAFF_ROLES)


def test_import_page_success(web_as, staff, dept):
    client = web_as(staff)
    assert client.get(reverse("catalog:excel-import")).status_code == 200
    response = _upload(client, build([entry_row(dept, 1)], default_items(1)))
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "导入成功：新增 1 条" in page
    assert CatalogEntry.objects.filter(provider=dept).count() == 1


def test_import_page_lists_errors(web_as, staff, dept):
    response = _upload(web_as(staff), build([entry_row(dept, 1, 共享类型="部分共享")], default_items(1)))
    page = response.content.decode()
    assert response.status_code == 200 and 'data-testid="error-table"' in page
    assert "部分共享" in page and "不是有效的共享类型" in page and "文件未导入任何数据" in page


def test_other_department_cannot_import_into_someone_elses_list(web_as, other_staff, dept, other_dept):
    response = _upload(web_as(other_staff), build([entry_row(dept, 1)], default_items(1)))
    assert "只能导入本部门" in response.content.decode()
    assert CatalogEntry.objects.count() == 0


def test_department_export_is_audited(web_as, staff, dept, filed, audit_log):
    response = web_as(staff).get(reverse("catalog:excel-export"))
    assert response.status_code == 200
    assert response["Content-Type"] == exports.XLSX_CONTENT_TYPE and "attachment" in response["Content-Disposition"]
    rows = sheet_values(b"".join(response.streaming_content), "信息资源")
    assert sorted(r[2] for r in rows[1:]) == sorted(e.name for e in filed)
    [event] = audit_log("catalog.excel.exported")
    assert event.actor == staff and event.data["scope"] == "department_list"
    assert (event.data["entries"], event.data["items"]) == (3, sum(e.items.count() for e in filed))


def test_master_export_filters_like_the_master_page_and_is_audited(web_as, other_staff, approved_entry, audit_log):
    approved_entry(name="企业营业执照登记信息")
    approved_entry(name="企业年报信息", share_type=ShareType.CONDITIONAL, share_condition="限市场监管业务")
    response = web_as(other_staff).get(reverse("catalog:master-export"), {"share_type": "2", "q": "年报"})
    assert response.status_code == 200
    rows = sheet_values(b"".join(response.streaming_content), "信息资源")
    assert [r[2] for r in rows[1:]] == ["企业年报信息"]
    [event] = audit_log("catalog.excel.exported")
    assert event.data["scope"] == "master" and event.data["entries"] == 1
    assert event.data["filters"] == {"share_type": "2", "q": "年报"}


def test_master_export_leaves_out_unpublished_entries(web_as, other_staff, make_entry):
    make_entry(name="草稿条目")
    rows = sheet_values(b"".join(web_as(other_staff).get(reverse("catalog:master-export")).streaming_content),
                        "信息资源")
    assert rows[1:] == [] or all(r[2] != "草稿条目" for r in rows[1:])


def test_template_download(web_as, other_staff):
    response = web_as(other_staff).get(reverse("catalog:excel-template"))
    assert response.status_code == 200
    assert load_workbook(io.BytesIO(b"".join(response.streaming_content))).sheetnames == ["信息资源", "信息项", "说明"]
    assert AuditEvent.objects.filter(action="catalog.excel.exported").count() == 0


def test_broken_sheet_xml_is_reported_not_a_server_error(staff, dept):
    data = build([entry_row(dept, 1)], default_items(1))
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = content[: len(content) // 2]  # truncated XML
            archive.writestr(info.filename, content)
    result = run_import(staff, out.getvalue())
    assert has_error(result, "文件", None, "", "已损坏")
    assert CatalogEntry.objects.count() == 0


def test_sheet_name_with_stray_spaces_is_accepted(staff, dept):
    def rename(wb):
        wb["信息资源"].title = "信息资源 "

    assert run_import(staff, build([entry_row(dept, 1)], default_items(1), rename)).created == 1
