"""Helpers of the catalog tests (plain functions, imported by name; the fixtures are in conftest.py): valid values and
data items of a catalog entry."""

from catalog.choices import ShareType
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
