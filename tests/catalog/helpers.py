"""Helpers of the catalog tests (plain functions, imported by name; the fixtures are in conftest.py): valid values and
data items of a catalog entry, demand-list workbooks."""

import io

from openpyxl import load_workbook

from catalog.choices import ShareType
from catalog.excel.demands import DEMAND_SHEET, demand_columns, demand_template_file
from catalog.models import Classification


def entry_values(**overrides):
    """Valid values for catalog_entry_save (a 政府-部门 resource, unconditional, database format)."""
    values = {
        "classification": Classification.objects.get(code="303"),
        "name": "企业营业执照登记信息",
        "summary": "市场主体登记注册的营业执照信息，包括名称、统一社会信用代码、法定代表人等",
        "format_class": "db",
        "format_type": "PostgreSQL",
        "share_type": ShareType.UNCONDITIONAL,
        "share_condition": "",
        "no_share_basis": "",
        "exchange_methods": ["api", "query"],
        "open_type": "closed",
        "open_condition": "",
        "update_cycle": "daily",
        "related_codes": [],
        "is_secret": False,
    }
    values.update(overrides)
    return values


def entry_items(*names, key="统一社会信用代码"):
    items = [
        {
            "name": key,
            "data_type": "C",
            "length": 18,
            "is_subject_key": True,
            "is_base_item": True,
            "description": "主体标识",
        }
    ]
    for name in names or ("企业名称", "法定代表人"):
        items.append(
            {
                "name": name,
                "data_type": "C",
                "length": 100,
                "is_subject_key": False,
                "is_base_item": False,
                "description": "",
            }
        )
    return items


def demand_line(**cells):
    """One「需求清单」row in the template's column order; `cells` by header, e.g. 提供部门="焦作市公安局(测试)"."""
    headers = [c.header for c in demand_columns()]
    row = dict.fromkeys(headers) | {
        "所需数据": "企业营业执照信息",
        "所需信息项": "统一社会信用代码、企业名称",
        "用途": "办理社会组织登记时核验",
        "依据": "《社会组织登记管理条例》",
    }
    unknown = set(cells) - set(row)
    assert not unknown, unknown
    row.update(cells)
    return [row[h] for h in headers]


def demand_workbook(rows, mutate=None) -> bytes:
    """A demand list made from the real blank template, with these rows; `mutate(ws)` may break its sheet."""
    wb = load_workbook(demand_template_file().file)
    for row in rows:
        wb[DEMAND_SHEET].append(row)
    if mutate:
        mutate(wb[DEMAND_SHEET])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def formulas_in_demand_sheet(ws):
    """A formula in the 编号 cell of row 3 and in the 用途 cell of row 2."""
    ws["A3"] = "=1+1"
    ws["D2"] = '=HYPERLINK("http://evil.example","点我")'
